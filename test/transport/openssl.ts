/**
 * `openssl s_server` / `openssl s_client` as stand-ins for other IEC 62351-3 stacks (Debian's
 * openssl; .ci/run installs it). Each process is bounded: killed when the test ends or after 20 s.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import net from 'node:net';

/** Whether an `openssl` binary is on PATH (the tests need it; CI installs it). */
export function hasOpenssl(): boolean {
  return spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;
}

/** A running openssl process: its output so far and helpers to wait for text in it. */
export interface OpensslProcess {
  proc: ChildProcessWithoutNullStreams;
  /** stdout bytes so far (the peer's application data, with s_client/s_server chatter). */
  out(): Buffer;
  /** stdout + stderr text so far. */
  text(): string;
  exited: Promise<number | null>;
  /** Resolve when `re` matches the output (stdout + stderr), reject after `ms`. */
  waitFor(re: RegExp | ((text: string, out: Buffer) => boolean), ms?: number): Promise<void>;
  write(data: string | Uint8Array): void;
  kill(): void;
}

export function runOpenssl(args: string[], cwd?: string): OpensslProcess {
  const proc = spawn('openssl', args, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  let err = '';
  const waiters = new Set<() => void>();
  const poke = (): void => {
    for (const w of [...waiters]) w();
  };
  proc.stdout.on('data', (c: Buffer) => {
    chunks.push(c);
    poke();
  });
  proc.stderr.on('data', (c: Buffer) => {
    err += c.toString('latin1');
    poke();
  });
  proc.stdin.on('error', () => {});
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => {
    res(code);
    poke();
  }));
  const killer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
  killer.unref();
  proc.once('exit', () => clearTimeout(killer));
  const out = (): Buffer => Buffer.concat(chunks);
  const text = (): string => out().toString('latin1') + err;
  return {
    proc,
    out,
    text,
    exited,
    write: (d) => proc.stdin.write(d),
    kill: () => proc.kill('SIGKILL'),
    waitFor(re, ms = 10_000) {
      const ok = (): boolean => (typeof re === 'function' ? re(text(), out()) : re.test(text()));
      return new Promise((resolve, reject) => {
        if (ok()) return resolve();
        const t = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${String(re)} in openssl ${args.join(' ')} output:\n${text()}`));
        }, ms);
        const check = (): void => {
          if (!ok()) return;
          clearTimeout(t);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
      });
    },
  };
}

/** A free TCP port on 127.0.0.1 (for openssl s_server, which cannot report the port it bound). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address() as net.AddressInfo;
      s.close(() => resolve(a.port));
    });
  });
}

/** `openssl s_server` on a free port, ready when it prints ACCEPT. */
export async function sServer(args: string[], cwd?: string): Promise<OpensslProcess & { port: number }> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const p = runOpenssl(['s_server', '-accept', `127.0.0.1:${port}`, ...args], cwd);
    try {
      await p.waitFor(/ACCEPT/, 10_000);
      return { ...p, port };
    } catch (e) {
      p.kill();
      if (attempt >= 2) throw e;
    }
  }
}
