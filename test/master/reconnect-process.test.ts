/**
 * `iec104 connect --reconnect` as real processes (issue 10, item 2): the station process is killed
 * and restarted on the same port, the master process survives the back-off (its timers are unref'd:
 * before the fix Node exited during the first back-off), reconnects and completes a second
 * interrogation; and a master started with no station up keeps trying until one comes.
 * Back-off kept short with --reconnect-min/--reconnect-max; every wait is bounded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
/** Generous bound per step: a busy 2-core CI machine needs seconds just to start tsx (and ~40 s under a load of 20). */
const STEP = 90_000;

interface Proc {
  child: ChildProcess;
  out: string;
  err: string;
  exit: Promise<number | null>;
  /** Resolve when `re` matches the stream at least `count` times in total. */
  waitFor(stream: 'out' | 'err', re: RegExp, count?: number): Promise<void>;
}

function cli(args: string[]): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const waiters = new Set<() => void>();
  const p: Proc = {
    child, out: '', err: '',
    exit: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
    waitFor(stream, re, count = 1) {
      const g = new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g');
      return new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if ((p[stream].match(g) ?? []).length >= count) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timeout waiting for ${re} x${count} on ${stream} of ${args.join(' ')}\nstdout:\n${p.out}\nstderr:\n${p.err}`));
        }, STEP);
        waiters.add(check);
        check();
        void p.exit.then((code) => {
          if (!waiters.has(check)) return;
          check();
          if (!waiters.has(check)) return;
          waiters.delete(check);
          clearTimeout(timer);
          reject(new Error(`${args[0]} exited (code ${code}) before ${re} x${count} appeared on ${stream}\nstdout:\n${p.out}\nstderr:\n${p.err}`));
        });
      });
    },
  };
  child.stdout!.on('data', (d: Buffer) => {
    p.out += d.toString();
    for (const w of [...waiters]) w();
  });
  child.stderr!.on('data', (d: Buffer) => {
    p.err += d.toString();
    for (const w of [...waiters]) w();
  });
  return p;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const station = (port: number): Proc => cli(['serve', '--host', '127.0.0.1', '--port', String(port), '--no-simulate', '--log-format', 'json']);
const master = (port: number): Proc => cli(['connect', `127.0.0.1:${port}`, '--ca', '1', '--json', '--reconnect', '--reconnect-min', '150', '--reconnect-max', '300', '--t0', '5000']);
const TERMINATED = /"kind":"interrogation","ca":1,"qoi":20,"outcome":"terminated","objects":[1-9]/;

function stop(p: Proc | undefined, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (p && p.child.exitCode === null && p.child.signalCode === null) p.child.kill(signal);
}

test('M55 connect --reconnect: station killed and restarted on the same port; the master process stays up, reconnects and completes a second interrogation', async () => {
  const port = await freePort();
  let st: Proc | undefined = station(port);
  let st2: Proc | undefined;
  const m = master(port);
  try {
    await st.waitFor('err', /station\.listening/);
    await m.waitFor('out', TERMINATED);
    stop(st);
    await st.exit;
    st = undefined;
    await m.waitFor('err', /disconnected/);
    // two failed attempts after the loss: the process outlived at least two back-off delays
    await m.waitFor('err', /reconnecting in \d+ ms \(attempt 2\)/);
    assert.equal(m.child.exitCode, null, 'the master process is still running during the back-off');
    st2 = station(port);
    await st2.waitFor('err', /station\.listening/);
    await m.waitFor('out', TERMINATED, 2);
    assert.equal(m.child.exitCode, null);
    m.child.kill('SIGINT');
    assert.equal(await m.exit, 0, 'Ctrl-C ends the session with exit 0');
    const confirmations = m.out.split('\n').filter((l) => l.includes('"kind":"confirmation"') && l.includes('"C_IC_NA_1"'));
    assert.equal(confirmations.length, 2, 'one GI per connection');
  } finally {
    stop(m);
    stop(st);
    stop(st2);
  }
});

test('M55 connect --reconnect with no station up at start keeps trying, then connects and interrogates', async () => {
  const port = await freePort();
  const m = master(port);
  let st: Proc | undefined;
  try {
    await m.waitFor('err', /reconnecting in \d+ ms \(attempt 3\)/);
    assert.equal(m.child.exitCode, null, 'alive after three back-off delays');
    st = station(port);
    await m.waitFor('out', TERMINATED);
    m.child.kill('SIGINT');
    assert.equal(await m.exit, 0);
  } finally {
    stop(m);
    stop(st);
  }
});

test('M52 library pattern of docs/master.md (reconnect + await connect() + for await asdus()) keeps the process alive until a station comes', async () => {
  const port = await freePort();
  const script = `
    import { ControllingStation, tcpConnector } from './src/index.ts';
    const master = new ControllingStation({ connector: tcpConnector('127.0.0.1', ${port}), reconnect: { min: 150, max: 300, factor: 2, jitter: 0.1 } });
    master.on('reconnecting', (i) => console.error('reconnecting attempt ' + i.attempt));
    await master.connect();
    console.log('started');
    const gi = master.interrogation(1);
    for await (const asdu of master.asdus()) {
      console.log('asdu ' + asdu.typeId + ' cot ' + asdu.cot);
      if (asdu.typeId === 100 && asdu.cot === 10) break;
    }
    console.log('objects ' + (await gi).objects.length);
    await master.close();
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const until = async (pred: () => boolean, what: string): Promise<void> => {
    const end = Date.now() + STEP;
    while (!pred()) {
      if (child.exitCode !== null) throw new Error(`the library script exited (code ${child.exitCode}) before ${what}\nstdout:\n${out}\nstderr:\n${err}`);
      if (Date.now() > end) throw new Error(`timeout waiting for ${what}\nstdout:\n${out}\nstderr:\n${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  let st: Proc | undefined;
  try {
    await until(() => /reconnecting attempt 3/.test(err), 'three reconnect attempts');
    st = station(port);
    await until(() => /objects [1-9]/.test(out), 'the interrogation result');
    assert.match(out, /started\n/);
    assert.equal(await exit, 0, 'the script ends by itself after close()');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    stop(st);
  }
});
