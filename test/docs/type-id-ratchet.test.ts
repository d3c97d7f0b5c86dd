/**
 * Protocol facts belong to the codec's type table (issue 12): outside src/codec/ nobody compares
 * or computes type identifications as numbers (`typeId >= 45`, `typeId - 13`); callers ask the
 * table (`isProcessCommand`, `timedVariantOf`, `familyOf`, ...). The comparisons that predate the
 * table's predicates are listed below with their count per file: the count may only go down (lower
 * it here when you remove some); a file not listed may have none. The goal is an empty list.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Remaining numeric type-ID comparisons per file (to be replaced by the type table's predicates). */
const REMAINING: Record<string, number> = {
  'src/cli/analyze.ts': 1,
  'src/cli/command-send.ts': 1,
  'src/cli/connect.ts': 2,
  'src/monitor/baseline.ts': 5,
  'src/monitor/commands.ts': 6,
  'src/monitor/file-transfers.ts': 4,
  'src/monitor/inventory.ts': 2,
  'src/monitor/proxy.ts': 1,
  'src/monitor/roles.ts': 1,
  'src/monitor/rules.ts': 10,
  'src/monitor/validity.ts': 16,
  'src/validate/asdu-tools.ts': 4,
  'src/validate/probe.ts': 2,
  'src/validate/suites.ts': 2,
  'src/web/server.ts': 2,
};

/** Files whose `type` is not an IEC 104 type identification (pcap link types, TLS record types). */
const OTHER_TYPES = new Set(['src/capture/reader.ts', 'src/capture/tls.ts']);

const PATTERNS = [
  /\b(?:typeId|type|tid)\s*(?:===|!==|==|!=|>=|<=|>|<)\s*\d+/,
  /\b\d+\s*(?:===|!==|>=|<=|>|<)\s*(?:[\w.]+\.)?(?:typeId|type)\b/,
  /\b(?:typeId|type)\s*[-+]\s*13\b/,
];

function files(dir: string, out: string[] = []): string[] {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) files(p, out);
    else if (n.endsWith('.ts')) out.push(p);
  }
  return out;
}

test('numeric type-ID comparisons outside the codec only go down', () => {
  const over: string[] = [];
  for (const f of files(join(root, 'src'))) {
    const rel = relative(root, f);
    if (rel.startsWith('src/codec/') || OTHER_TYPES.has(rel)) continue;
    const lines = readFileSync(f, 'utf8').split('\n').filter((l) => !/^\s*(\*|\/\/)/.test(l) && PATTERNS.some((r) => r.test(l)));
    const allowed = REMAINING[rel] ?? 0;
    if (lines.length > allowed) over.push(`${rel}: ${lines.length} > ${allowed}\n    ${lines.map((l) => l.trim()).join('\n    ')}`);
  }
  assert.deepEqual(over, [], 'ask the type table (src/codec/type-table.ts) instead of comparing type identifications');
});

test('the scanner sees a numeric comparison and the table predicates do not count', () => {
  assert.ok(PATTERNS.some((r) => r.test('if (asdu.typeId >= 45 && asdu.typeId <= 64) {')));
  assert.ok(PATTERNS.some((r) => r.test('const t = a.typeId + 13;')));
  assert.ok(!PATTERNS.some((r) => r.test('if (isProcessCommand(asdu.typeId)) {')));
});
