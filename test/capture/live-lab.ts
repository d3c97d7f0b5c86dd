/**
 * A network made by the test for live-capture tests: a veth pair, one end in the root namespace
 * (where the sensor captures), the other in a new network namespace (where the station runs), on
 * a random 10.x.y.0/24. Needs root (CAP_NET_ADMIN) and tcpdump; `makeLab` returns the reason
 * when the kernel or the machine refuses, so the test can say why it did not run.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Repository root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

let counter = 0;

/** The lab network. */
export interface Lab {
  ns: string;
  hostIf: string;
  nsIf: string;
  hostIp: string;
  nsIp: string;
  destroy(): void;
}

function run(cmd: string, args: string[]): string | undefined {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) return `${cmd}: ${r.error.message}`;
  return r.status === 0 ? undefined : `${cmd} ${args.join(' ')}: ${(r.stderr || r.stdout).trim()}`;
}

/** Create the lab, or return why it cannot be made. */
export function makeLab(): Lab | string {
  if (spawnSync('tcpdump', ['--version']).error) return 'tcpdump is not installed (apt-get install tcpdump)';
  if (spawnSync('ip', ['-V']).error) return 'ip (iproute2) is not installed (apt-get install iproute2)';
  const id = `${process.pid % 100000}${String.fromCharCode(97 + (counter++ % 26))}`;
  const ns = `i4lab${id}`;
  const hostIf = `i4h${id}`;
  const nsIf = `i4n${id}`;
  const net = `10.${100 + Math.floor(Math.random() * 150)}.${Math.floor(Math.random() * 250)}`;
  const hostIp = `${net}.1`;
  const nsIp = `${net}.2`;
  const destroy = (): void => {
    spawnSync('ip', ['link', 'del', hostIf]);
    spawnSync('ip', ['netns', 'del', ns]);
  };
  const steps: Array<[string, string[]]> = [
    ['ip', ['netns', 'add', ns]],
    ['ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]],
    ['ip', ['link', 'set', nsIf, 'netns', ns]],
    ['ip', ['addr', 'add', `${hostIp}/24`, 'dev', hostIf]],
    ['ip', ['link', 'set', hostIf, 'up']],
    ['ip', ['netns', 'exec', ns, 'ip', 'addr', 'add', `${nsIp}/24`, 'dev', nsIf]],
    ['ip', ['netns', 'exec', ns, 'ip', 'link', 'set', nsIf, 'up']],
    ['ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']],
  ];
  for (const [c, a] of steps) {
    const e = run(c, a);
    if (e) {
      destroy();
      return `the kernel refused to make the test network (${e})`;
    }
  }
  return { ns, hostIf, nsIf, hostIp, nsIp, destroy };
}

/** A child process with its output collected. */
export interface Proc {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  /** Resolves when `re` appears on stdout or stderr (rejects after `ms`). */
  waitFor(re: RegExp, ms?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Start a process and collect its output. */
export function start(cmd: string, args: string[]): Proc {
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: Array<() => void> = [];
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of waiters) w();
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    for (const w of waiters) w();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('close', (code, signal) => r({ code, signal })));
  return {
    child,
    out: () => out,
    err: () => err,
    exited,
    waitFor: (re, ms = 20000) =>
      new Promise((resolve, reject) => {
        let done = false;
        const check = (): void => {
          if (done) return;
          const m = re.exec(out) ?? re.exec(err);
          if (m) {
            done = true;
            clearTimeout(t);
            resolve(m);
          }
        };
        const t = setTimeout(() => {
          done = true;
          reject(new Error(`timed out waiting for ${re} from ${cmd} ${args.join(' ')}\nstdout: ${out.slice(-2000)}\nstderr: ${err.slice(-2000)}`));
        }, ms);
        waiters.push(check);
        void exited.then(() => setTimeout(check, 0));
        check();
      }),
  };
}

/** `iec104 ...` from the sources (no build needed). */
export function cli(args: string[], ns?: string): Proc {
  const node = [process.execPath, '--import', 'tsx', `${ROOT}src/cli/main.ts`, ...args];
  return ns ? start('ip', ['netns', 'exec', ns, ...node]) : start(node[0], node.slice(1));
}

/** GET a URL's body. */
export async function httpGet(url: string): Promise<{ status: number; type: string | null; body: string }> {
  const r = await fetch(url);
  return { status: r.status, type: r.headers.get('content-type'), body: await r.text() };
}
