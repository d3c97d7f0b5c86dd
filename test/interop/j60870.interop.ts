/**
 * Against OpenMUC j60870 1.7.2 (Java), which mirrors every ASDU it does not accept with COT 44.
 * CONFORMANCE A01: neither of our stations answers an answer, so the traffic of a 5 s session
 * stays bounded (before A01, J60870Client and our `serve` exchanged about 40 000 frames in 5 s).
 *
 * The frames are counted by a relay between the two processes (test/helpers/counting-relay.ts),
 * which also starts the ping-pong the way it starts in the field: it turns one ASDU into a type
 * j60870 reserves (41), which j60870 mirrors with COT 44 and P/N=1. Measured before A01 (our
 * `serve` of that time, same relay, busy 2-core machine): 4 589 frames client→station and 4 635
 * station→client, almost all `44 neg`, and J60870Client's STOPDT never got through; after: 7 and 42.
 *
 * Needs IEC104_J60870_JAR (see test/interop/README.md) and a JDK on PATH.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import { countingRelay, type CountingRelay } from '../helpers/counting-relay.js';
import { j60870Jar, skipUnless } from './peers.js';

const root = new URL('../..', import.meta.url).pathname;
const jar = j60870Jar();
const cli = join(root, 'bin', 'iec104.js');
/** Generous: a 5 s session of GI, commands and a few spontaneous values is a few hundred frames. */
const BOUND = 2000;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Resolve with the first match of `re` in the process's stdout or stderr. */
function waitFor(p: ChildProcess, re: RegExp, ms: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}; output so far:\n${text}`)), ms);
    const on = (d: Buffer): void => {
      text += d.toString();
      const m = re.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    p.stdout?.on('data', on);
    p.stderr?.on('data', on);
  });
}

function exited(p: ChildProcess): Promise<number | null> {
  return new Promise((r) => (p.exitCode !== null ? r(p.exitCode) : p.once('exit', (c) => r(c))));
}

function total(r: CountingRelay): number {
  return r.up.I + r.up.S + r.up.U + r.down.I + r.down.S + r.down.U;
}

test('A01 J60870Client against our serve: traffic stays bounded for 5 s, no answer to a mirror', skipUnless(jar), async (t) => {
  const jarPath = (jar as { path: string }).path;
  const serve = spawn(process.execPath, [cli, 'serve', '--host', '127.0.0.1', '--port', '0', '--log-format', 'json'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let relay: CountingRelay | undefined;
  try {
    const m = await waitFor(serve, /listening on 127\.0\.0\.1:(\d+)/, 20_000);
    // the client's test command (C_TS_TA_1, type 107) becomes reserved type 41: our station refuses
    // it (44, P/N=1), j60870 mirrors that refusal (44, P/N=1), and our station must stop there
    let rewritten = false;
    relay = await countingRelay('127.0.0.1', Number(m[1]), (f, dir) => {
      if (dir === 'up' && !rewritten && f.length > 8 && (f[2] & 1) === 0 && f[6] === 107) {
        f[6] = 41;
        rewritten = true;
      }
    });
    const client = spawn('java', ['-Duser.timezone=UTC', '-cp', jarPath, 'J60870Client', '127.0.0.1', String(relay.port), '5'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    client.stdout.on('data', (d: Buffer) => (out += d.toString()));
    client.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await Promise.race([exited(client), new Promise<null>((r) => setTimeout(() => r(null), 30_000))]);
    if (client.exitCode === null) client.kill();
    t.diagnostic(`J60870Client exit ${code}; frames station→client ${JSON.stringify(relay.down)}, client→station ${JSON.stringify(relay.up)}`);
    t.diagnostic(out.split('\n').filter((l) => /SUMMARY/.test(l)).join('\n'));
    assert.ok(rewritten, 'the client sent its test command');
    assert.ok(relay.down.I > 0, 'the client interrogated the station');
    assert.ok(total(relay) < BOUND, `${total(relay)} frames in 5 s (bound ${BOUND})`);
    // the client mirrored the station's refusal once; the station did not answer the mirror
    assert.equal(relay.up.byCause['44 neg'], 1);
    assert.equal(relay.down.byCause['44 neg'], 1);
    assert.match(out, /stopdt=1/, 'the client could still stop data transfer');
  } finally {
    await relay?.close();
    serve.kill('SIGTERM');
    await exited(serve);
  }
});

test('A01 our master (connect) against J60870Server: traffic stays bounded for 5 s', skipUnless(jar), async (t) => {
  const jarPath = (jar as { path: string }).path;
  const port = await freePort();
  const server = spawn('java', ['-Duser.timezone=UTC', '-cp', jarPath, 'J60870Server', '-p', String(port), '-a', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let relay: CountingRelay | undefined;
  try {
    // wait until the JVM listens
    const end = Date.now() + 20_000;
    for (;;) {
      if (await canConnect(port)) break;
      if (Date.now() > end) throw new Error('J60870Server did not start listening');
      await new Promise((r) => setTimeout(r, 200));
    }
    // the station's first spontaneous ASDU reaches the master as a mirror (COT 44, P/N=1)
    let rewritten = false;
    relay = await countingRelay('127.0.0.1', port, (f, dir) => {
      if (dir === 'down' && !rewritten && f.length > 8 && (f[2] & 1) === 0 && (f[8] & 0x3f) === 3) {
        f[8] = (f[8] & 0x80) | 0x40 | 44;
        rewritten = true;
      }
    });
    const master = spawn(process.execPath, [cli, 'connect', `127.0.0.1:${relay.port}`, '--ca', '1', '--json', '--duration', '5000'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    master.stdout.on('data', (d: Buffer) => (out += d.toString()));
    master.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await Promise.race([exited(master), new Promise<null>((r) => setTimeout(() => r(null), 30_000))]);
    if (master.exitCode === null) master.kill();
    t.diagnostic(`connect exit ${code}; frames station→master ${JSON.stringify(relay.down)}, master→station ${JSON.stringify(relay.up)}`);
    assert.equal(code, 0, out.slice(-2000));
    assert.ok(relay.down.I > 0, 'the station answered the interrogation');
    assert.ok(rewritten, 'a mirror reached the master');
    assert.ok(total(relay) < BOUND, `${total(relay)} frames in 5 s (bound ${BOUND})`);
    // the master sends requests only: its GI (COT 6), never a confirmation, termination or mirror
    assert.deepEqual(Object.keys(relay.up.byCause).filter((k) => k !== '6'), [], `master sent ${JSON.stringify(relay.up.byCause)}`);
  } finally {
    await relay?.close();
    server.kill();
    await exited(server);
  }
});
