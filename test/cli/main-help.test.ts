/** `iec104 --help` lists the exit codes of every command (the README says so). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { exitCodesOf } from '../../src/cli/main.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('exitCodesOf reads the exit codes section of a help text, joining continuation lines', () => {
  const help = 'usage: x\n\nexit codes:\n  0  fine\n  2  usage error, or a long\n     explanation\n  3  refused\n\nmore text';
  assert.deepEqual(exitCodesOf(help), [['0', 'fine'], ['2', 'usage error, or a long explanation'], ['3', 'refused']]);
  assert.deepEqual(exitCodesOf('no section'), []);
});

test('iec104 --help lists every command with its exit codes', async () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', '--help'], { cwd: root, encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  const at = r.stdout.indexOf('exit codes');
  assert.ok(at > 0, 'an exit codes section');
  const section = r.stdout.slice(at);
  for (const name of ['connect', 'command', 'serve', 'decode']) {
    const mod = (await import(`../../src/cli/${name === 'command' ? 'command-send' : name}.js`)) as { command: { help: string } };
    const codes = exitCodesOf(mod.command.help);
    assert.ok(codes.length >= 2, name);
    const block = section.slice(section.indexOf(`  ${name} `));
    for (const [code, text] of codes) assert.ok(block.includes(`${code}  ${text}`), `${name}: ${code} ${text}`);
  }
  assert.match(section, /connect +0 {2}stopped/);
  assert.match(section, /\n +3 {2}the interrogation was refused/);
});
