#!/usr/bin/env node
// Opt-in interoperability runs against other IEC 104 stacks built locally (never in CI, which
// cannot fetch them). Runs every test/interop/*.interop.ts with Node's test runner. The peers'
// locations come from the environment (see test/interop/README.md); a peer that is not
// configured makes its tests report "skipped: <variable> not set".
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const dir = join(root, 'test', 'interop');
const filters = process.argv.slice(2);
let files = readdirSync(dir).filter((n) => n.endsWith('.interop.ts')).map((n) => join('test', 'interop', n));
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('run-interop: no interop test files matched');
  process.exit(1);
}
const res = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', ...files],
  { cwd: root, stdio: 'inherit' },
);
process.exit(res.status ?? 1);
