import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { startFakeStation } from './fake-station.js';
import { checkXml } from './xml-check.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Run the CLI in a child process (the test runner reports through this process's stdout). */
function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...argv], { cwd: root, timeout: 30_000 }, (error, out, err) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, out, err });
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'iec104-validate-cli-'));

test('cli: probe, test and measure are registered with help texts listing exit codes', async () => {
  const list = await cli(['--help']);
  for (const c of ['probe', 'test', 'measure']) assert.match(list.out, new RegExp(`\\n  ${c} `));
  const help = await cli(['probe', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /exit codes:[\s\S]* 8 {2}connection closed by the station right after accept/);
});

test('cli: probe exit codes and JSON', async () => {
  const st = await startFakeStation();
  try {
    const ok = await cli(['probe', `127.0.0.1:${st.port}`, '--ca', '1', '--json', '--t1', '1000']);
    assert.equal(ok.code, 0, ok.out + ok.err);
    const j = JSON.parse(ok.out) as { outcome: string; interrogation: { objects: number } };
    assert.equal(j.outcome, 'ok');
    assert.equal(j.interrogation.objects, 30);
  } finally {
    await st.close();
  }
  const refused = await cli(['probe', `127.0.0.1:${st.port}`, '--t0', '1000']);
  assert.equal(refused.code, 3);
  assert.match(refused.out, /diagnosis: connection refused/);
  const usage = await cli(['probe']);
  assert.equal(usage.code, 2);
  // a TCP server that is not IEC 104 (an SSH banner)
  const ssh = net.createServer((s) => {
    s.on('error', () => {});
    s.write('SSH-2.0-OpenSSH_9.2\r\n');
  });
  await new Promise<void>((r) => ssh.listen(0, '127.0.0.1', () => r()));
  try {
    const r = await cli(['probe', `127.0.0.1:${(ssh.address() as net.AddressInfo).port}`, '--t1', '10000']);
    assert.equal(r.code, 12, r.out + r.err);
    assert.match(r.out, /diagnosis: this is not IEC 104: .*SSH server/);
  } finally {
    ssh.close();
    ssh.unref();
  }
});

test('cli: test reports a malformed scenario with file:line:column (exit 2)', async () => {
  const f = join(dir, 'bad.yaml');
  writeFileSync(f, 'name: bad\nsteps:\n  - connect\n  - expect: { type: M_NOPE }\n');
  const r = await cli(['test', f, '--target', '127.0.0.1:1']);
  assert.equal(r.code, 2);
  assert.match(r.err, new RegExp(`${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4:21: unknown type identification "M_NOPE"`));
});

test('cli: test runs a scenario and a suite, writes JUnit, exits 1 on a failure', async () => {
  const st = await startFakeStation({ misbehave: { acceptUnknownIoa: true } });
  try {
    const f = join(dir, 'ok.yaml');
    writeFileSync(f, 'name: ok\nsteps:\n  - connect\n  - startdt\n  - interrogation: ${ca}\n  - expect: { type: C_IC_NA_1, cot: actterm }\n  - disconnect\n');
    const junit = join(dir, 'report.xml');
    const r = await cli(['test', f, '--target', `127.0.0.1:${st.port}`, '--var', 'ca=1', '--junit', junit]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /5 passed, 0 failed/);
    assert.equal(checkXml(readFileSync(junit, 'utf8')).filter((n) => n === 'testcase').length, 5);

    const suite = await cli(['test', '--suite', 'conformance', '--target', `127.0.0.1:${st.port}`, '--check', 'C10', '--t1', '300', '--t2', '100', '--timeout', '300', '--json']);
    assert.equal(suite.code, 1);
    const res = JSON.parse(suite.out) as Array<{ cases: Array<{ id: string; status: string }> }>;
    assert.deepEqual(res[0].cases.map((c) => [c.id, c.status]), [['C01', 'pass'], ['C10', 'fail']]);
  } finally {
    await st.close();
  }
});

test('cli: measure prints statistics and writes the SVG plot', async () => {
  const st = await startFakeStation();
  try {
    const svg = join(dir, 'plot.svg');
    const r = await cli(['measure', `127.0.0.1:${st.port}`, '--ca', '1', '--ioa', '5000', '--single', 'toggle', '--count', '10', '--feedback-ioa', '100', '--plot', svg]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /10 positive, 0 negative, 0 timeout/);
    assert.match(r.out, /feedback\s+10\s/);
    assert.equal(checkXml(readFileSync(svg, 'utf8'))[0], 'svg');
    const bad = await cli(['measure', `127.0.0.1:${st.port}`, '--ca', '1', '--ioa', '5000', '--single', 'maybe']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /on, off or toggle/);
  } finally {
    await st.close();
  }
});
