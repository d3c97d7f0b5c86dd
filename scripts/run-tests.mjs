#!/usr/bin/env node
// Finds every *.test.ts under test/ and runs them with Node's built-in test runner
// (TypeScript loaded through tsx). Extra arguments are passed to `node --test`,
// e.g. `node scripts/run-tests.mjs --test-name-pattern=apci` or a path filter `-- test/codec`.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const sep = args.indexOf('--');
const nodeArgs = sep >= 0 ? args.slice(0, sep) : args;
const filters = sep >= 0 ? args.slice(sep + 1) : [];

function walk(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

let files = walk(join(root, 'test'), []);
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('run-tests: no test files matched');
  process.exit(1);
}
const res = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...nodeArgs, ...files],
  { cwd: root, stdio: 'inherit' },
);
process.exit(res.status ?? 1);
