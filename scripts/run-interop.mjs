#!/usr/bin/env node
// Opt-in interoperability runs against other IEC 104 stacks built locally (never in CI, which
// cannot fetch them). Runs every test/interop/*.interop.ts with Node's test runner, each file in
// a network namespace of its own when run as root with iproute2 (the peers' example stations bind
// fixed ports, so concurrent runs would otherwise collide); elsewhere on the host's loopback.
// The peers' locations come from the environment (see test/interop/README.md); a peer that is
// not configured makes its tests report "skipped: <variable> not set".
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
const canNetns = process.getuid?.() === 0 && spawnSync('ip', ['netns', 'list']).status === 0;
let failed = 0;
for (const [i, file] of files.entries()) {
  const node = [process.execPath, '--import', 'tsx', '--test', '--test-reporter=spec', file];
  let res;
  if (canNetns) {
    const ns = `iec104-interop-${process.pid}-${i}`;
    spawnSync('ip', ['netns', 'add', ns]);
    try {
      spawnSync('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
      res = spawnSync('ip', ['netns', 'exec', ns, ...node], { cwd: root, stdio: 'inherit' });
    } finally {
      spawnSync('ip', ['netns', 'del', ns]);
    }
  } else {
    res = spawnSync(node[0], node.slice(1), { cwd: root, stdio: 'inherit' });
  }
  if (res.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
