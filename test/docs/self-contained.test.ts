/**
 * The repository is self-contained: no source, test, script or benchmark reads a path outside it
 * (a fresh clone on a user's machine has only the repository).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const FOLDERS = ['src', 'test', 'scripts', 'bench', 'bin', 'examples'];
// absolute paths of build machines, or relative paths that climb out of the repository
const OUTSIDE = [/['"`]\/work\//, /['"`]\/home\//, /['"`]\/root\//, /\.\.\/shared\//, /\.\.\/\.\.\/\.\.\/[a-z]/];

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, out);
    else if (/\.(ts|mjs|js|yaml|yml|json)$/.test(name)) out.push(p);
  }
  return out;
}

test('no file of the repository reads a path outside it', () => {
  const offenders: string[] = [];
  for (const folder of FOLDERS) {
    for (const f of files(join(root, folder))) {
      if (f.endsWith('self-contained.test.ts')) continue;
      const text = readFileSync(f, 'utf8');
      text.split('\n').forEach((line, i) => {
        if (OUTSIDE.some((re) => re.test(line))) offenders.push(`${relative(root, f)}:${i + 1}: ${line.trim()}`);
      });
    }
  }
  assert.deepEqual(offenders, [], `paths outside the repository:\n${offenders.join('\n')}`);
});

test('the public captures the tests use are in the repository, with their sources', () => {
  const dir = join(root, 'test', 'fixtures', 'captures');
  const readme = readFileSync(join(dir, 'README.md'), 'utf8');
  const caps = readdirSync(dir).filter((n) => /\.pcap(ng)?$/.test(n));
  assert.ok(caps.length >= 4);
  for (const c of caps) assert.match(readme, new RegExp(c.replace('.', '\\.')), `${c} has no source line in the README`);
});
