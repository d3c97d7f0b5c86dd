/**
 * `iec104 serve --files DIR` + `iec104 files` in-process over loopback: list, get, put
 * (byte-identical), JSON records, exit codes, TLS with the shared flags, YAML `files:` mapping,
 * and one real process for `--help`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runServe } from '../../src/cli/serve.js';
import { FILES_EXIT, parseFilesArgs, runFiles } from '../../src/cli/files.js';
import { UsageError } from '../../src/cli/args.js';
import type { StationListener } from '../../src/station/station.js';
import { makePki, waitFor } from '../transport/helpers.js';

const root = mkdtempSync(join(tmpdir(), 'iec104-files-cli-'));
const pub = join(root, 'pub');
mkdirSync(pub);
const big = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 31 + 7) & 0xff);
writeFileSync(join(pub, 'a-small.txt'), 'hello file transfer\n');
writeFileSync(join(pub, 'b-big.bin'), big);
const CONFIG = join(root, 'rtu.yaml');
writeFileSync(CONFIG, 'station: { endOfInitialization: none, cyclicPeriodMs: 0 }\npoints:\n  - { ca: 1, ioa: 1001, type: M_SP_NA_1, value: true }\n');

const sink = (): { write(s: string): boolean; text: () => string } => {
  let t = '';
  return { write: (s: string) => ((t += s), true), text: () => t };
};

async function serve(args: string[], config = CONFIG): Promise<{ port: number; stop(): Promise<number>; stderr: ReturnType<typeof sink> }> {
  const ac = new AbortController();
  const stderr = sink();
  let listeners: StationListener[] = [];
  const exit = runServe([config, '--host', '127.0.0.1', '--port', '0', '--no-simulate', '--log-level', 'warn', '--log-format', 'json', ...args], {
    stdout: sink(), stderr, signal: ac.signal, onListening: (l) => (listeners = l),
  });
  await Promise.race([waitFor(() => listeners.length > 0), exit.then((c) => assert.fail(`serve exited ${c}: ${stderr.text()}`))]);
  return { port: listeners[0].port, stderr, stop: () => (ac.abort(), exit) };
}

async function files(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = sink();
  const err = sink();
  const code = await runFiles(args, { stdout: out, stderr: err, signal: new AbortController().signal });
  return { code, out: out.text(), err: err.text() };
}

test('serve --files DIR --files-upload: list, get (byte-identical), put (written into DIR), JSON records', async () => {
  const s = await serve(['--files', pub, '--files-upload']);
  const host = ['127.0.0.1', '--port', String(s.port), '--ca', '1'];
  try {
    const l = await files(host);
    assert.equal(l.code, 0, l.err);
    assert.match(l.out, /^IOA\s+NOF\s+LENGTH/);
    assert.match(l.out, /\n1\s+1\s+20\s/);
    assert.match(l.out, /\n2\s+1\s+70000\s/);
    const lj = await files([...host, '--json']);
    const listed = JSON.parse(lj.out) as { files: Array<{ ioa: number; length: number }> };
    assert.deepEqual(listed.files.map((f) => [f.ioa, f.length]), [[1, 20], [2, 70000]]);

    const got = join(root, 'got.bin');
    const g = await files([...host, '--get', '2', '-o', got, '--json']);
    assert.equal(g.code, 0, g.err);
    assert.deepEqual(new Uint8Array(readFileSync(got)), big);
    const recs = g.out.trim().split('\n').map((x) => JSON.parse(x) as Record<string, unknown>);
    assert.ok(recs.filter((r) => r.kind === 'progress').length >= 2, 'progress records');
    assert.deepEqual({ ...recs[recs.length - 1], path: undefined, durationMs: undefined }, { kind: 'result', mode: 'get', outcome: 'downloaded', ca: 1, ioa: 2, nof: 1, length: 70000, sections: 2, checksum: big.reduce((a, b) => (a + b) & 0xff, 0), durationMs: undefined, path: undefined });

    const src = join(root, 'up.bin');
    const up = Uint8Array.from({ length: 5000 }, (_, i) => (i * 3) & 0xff);
    writeFileSync(src, up);
    const p = await files([...host, '--put', src, '--ioa', '77', '--section-size', '1000']);
    assert.equal(p.code, 0, p.err);
    assert.match(p.out, /uploaded CA 1 IOA 77: 5000 octets in 5 section\(s\)/);
    assert.deepEqual(new Uint8Array(readFileSync(join(pub, 'ioa-77.bin'))), up);

    // a terminal gets a progress bar on stderr
    const bar = { t: '', isTTY: true, columns: 80, write(x: string) { this.t += x; return true; } };
    const code = await runFiles([...host, '--get', '2', '-o', join(root, 'tty.bin')], { stdout: sink(), stderr: bar, signal: new AbortController().signal });
    assert.equal(code, 0, bar.t);
    assert.match(bar.t, /\rget \[#+\] 100% 70000\/70000 section 2\n$/);

    // exit codes
    const missing = await files([...host, '--get', '99', '-o', join(root, 'x.bin')]);
    assert.equal(missing.code, FILES_EXIT.REFUSED, missing.err);
    assert.match(missing.err, /E_FILE_REFUSED/);
    assert.ok(!existsSync(join(root, 'x.bin')));
    const noSrc = await files([...host, '--put', join(root, 'nope'), '--ioa', '5']);
    assert.equal(noSrc.code, FILES_EXIT.LOCAL);
    const unwritable = await files([...host, '--get', '1', '-o', join(root, 'no-dir', 'x')]);
    assert.equal(unwritable.code, FILES_EXIT.LOCAL, unwritable.err);
  } finally {
    assert.equal(await s.stop(), 0);
  }
  const refused = await files(['127.0.0.1', '--port', '1', '--ca', '1', '--t0', '2000']);
  assert.equal(refused.code, FILES_EXIT.CONNECTION);
});

test('without --files-upload an upload is refused (exit 3); YAML files.map fixes IOAs and names', async () => {
  const cfg = join(root, 'mapped.yaml');
  writeFileSync(cfg, `station: { endOfInitialization: none }\nfiles:\n  dir: pub\n  ca: 7\n  map:\n    - { ioa: 30000, name: b-big.bin }\n`);
  const s = await serve([], cfg);
  const host = ['127.0.0.1', '--port', String(s.port), '--ca', '7'];
  try {
    const l = await files([...host, '--json']);
    assert.deepEqual((JSON.parse(l.out) as { files: Array<{ ioa: number }> }).files.map((f) => f.ioa), [30000]);
    const got = join(root, 'mapped.bin');
    assert.equal((await files([...host, '--get', '30000', '-o', got])).code, 0);
    assert.deepEqual(new Uint8Array(readFileSync(got)), big);
    writeFileSync(join(root, 'small'), 'x');
    const p = await files([...host, '--put', join(root, 'small'), '--ioa', '30000']);
    assert.equal(p.code, FILES_EXIT.REFUSED, p.err);
    assert.deepEqual(new Uint8Array(readFileSync(join(pub, 'b-big.bin'))), big, 'untouched');
  } finally {
    await s.stop();
  }
  const bad = join(root, 'bad.yaml');
  writeFileSync(bad, `files:\n  dir: pub\n  map:\n    - { ioa: 1, name: ../secret }\n`);
  const err = sink();
  assert.equal(await runServe([bad, '--check'], { stdout: sink(), stderr: err }), 2);
  assert.match(err.text(), /files\.map\[0\]\.name: expected a plain file name/);
});

test('files over mutual TLS with the shared TLS flags', async () => {
  const pki = await makePki();
  const s = await serve(['--files', pub, '--tls', '--cert', pki.leaves.server.cert, '--key', pki.leaves.server.key, '--ca', pki.ca.cert]);
  try {
    const got = join(root, 'tls.bin');
    const r = await files(['127.0.0.1', '--port', String(s.port), '--ca', '1', '--get', '2', '-o', got, '--tls', '--cert', pki.leaves.client.cert, '--key', pki.leaves.client.key, '--tls-ca', pki.ca.cert]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(new Uint8Array(readFileSync(got)), big);
    const noCert = await files(['127.0.0.1', '--port', String(s.port), '--ca', '1', '--t0', '3000']);
    assert.equal(noCert.code, FILES_EXIT.CONNECTION);
  } finally {
    await s.stop();
  }
});

test('usage errors name the problem', () => {
  const bad = (args: string[], re: RegExp): void => assert.throws(() => parseFilesArgs(args), (e: unknown) => e instanceof UsageError && re.test(e.message));
  bad([], /HOST/);
  bad(['h'], /--ca is required/);
  bad(['h', '--ca', '1', '--get', '5'], /-o PATH/);
  bad(['h', '--ca', '1', '--put', 'x'], /--ioa/);
  bad(['h', '--ca', '1', '--get', '5', '-o', 'x', '--put', 'y'], /exclude/);
  bad(['h', '--ca', '1', '--cert', 'c'], /--tls/);
  bad(['h', '--ca', '1', '--get', '1', '-o', 'x', '--from', 'nonsense', '--to', '2026-01-01'], /ISO time/);
});

test('iec104 files --help (real process) lists the modes and the exit codes', { timeout: 90_000 }, () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'files', '--help'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /--get IOA/);
  assert.match(r.stdout, /exit codes:[\s\S]*6 {2}integrity failure/);
});
