/**
 * Protocol facts belong to the codec's type table (issue 12): outside src/codec/ nobody compares,
 * lists or computes type identifications as numbers (`typeId >= 45`, `typeId - 13`, `case 100:`,
 * `new Set([45, 46, 47])`); callers ask the table (`isProcessCommand`, `timedVariantOf`,
 * `familyOf`, `isAnsweredByActTerm`, ...) or name one type (`TypeId.C_SC_NA_1`).
 *
 * What counts (in code outside src/codec/; comments and quoted strings are ignored). A "type name"
 * is an identifier `typeId`, `type`, `tid`, `t`, or one ending in `Type`/`TypeId` or holding `TYPE`:
 * 1. a type name compared with a number literal, on either side (`t >= 58`, `100 === a.typeId`);
 * 2. arithmetic of a type name with a number (`typeId - 13`), and `± 13` on a line naming a type
 *    identification (`BASE[kind] + (timed ? 13 : 0)`);
 * 3. `case N:` in a `switch` over a type name;
 * 4. a list of numbers bound to a type name (`QU_TYPES = new Set([45, …])`, `for (const t of [45, …])`);
 * 5. a type name given a number as a property, default or parameter type (`typeId: 70`,
 *    `typeId: 110 | 111 | 112`), or assigned one (`typeId = 104`);
 * 6. a number-to-number map (`{ 45: 58, 46: 59 }`), the shape of a hand-written variant table;
 * 7. whatever its name, a list starting with two numbers of the command, system, parameter or file
 *    ranges (`TIMED_COMMANDS = new Set([58, 59, …])`), and a command call given a number
 *    (`this.command(45, ca, ioa, …)`).
 * Allowed: `TypeId.X` (`tid === TypeId.C_SC_NA_1`), `TYPE_ID_NOT_USED`, the table's predicates,
 * and bounds of packed keys written as field sizes (`fits(typeId, 0x100)`).
 *
 * The comparisons that predate the table's predicates are listed below with their count per file:
 * the count may only go down (lower it here when you remove some); a file not listed may have none.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Remaining numeric type-ID comparisons per file (to be replaced by the type table's predicates). */
const REMAINING: Record<string, number> = {
};

/** Files whose `type` is not an IEC 104 type identification (pcap link types, TLS record types). */
const OTHER_TYPES = new Set(['src/capture/reader.ts', 'src/capture/tls.ts']);

const NUM = String.raw`(?:0x[0-9a-fA-F]+|\d+)\b`;
const NAME = String.raw`(?:typeId|type|tid|t|\w+TypeId|\w+Type|\w*TYPE\w*)`;
const CMP = String.raw`(?:===|!==|==|!=|>=|<=|>|<)`;
/** A number in the command, system, parameter or file ranges (45–64, 100–129). */
const CMD_ID = String.raw`(?:4[5-9]|5\d|6[0-4]|1[0-2]\d)\b`;
const PATTERNS: readonly RegExp[] = [
  new RegExp(String.raw`\b${NAME}\s*${CMP}\s*${NUM}`),
  new RegExp(String.raw`\b${NUM}\s*${CMP}\s*(?:[\w.?]+\.)?${NAME}\b`),
  new RegExp(String.raw`\b${NAME}\s*[-+]\s*${NUM}`),
  new RegExp(String.raw`\b(?:typeId|tid|\w+TypeId|\w*TYPE\w*|BASE)\b.*[-+]\s*\(?[^;]*\b13\b`),
  new RegExp(String.raw`\b\w*(?:[tT]ype|TYPE|tid)\w*\s*[:=]\s*(?:new Set(?:<\w+>)?\(\s*)?\[\s*\d+\s*,`),
  new RegExp(String.raw`for\s*\(\s*const\s+(?:\w*(?:[tT]ype|tid)\w*|t)\s+of\s+\[\s*\d+`),
  new RegExp(String.raw`\b(?:typeId|type|tid|\w+TypeId)\s*\??:\s*${NUM}`),
  new RegExp(String.raw`\b(?:typeId|tid|\w+TypeId)\s*=\s*${NUM}`),
  new RegExp(String.raw`\{\s*\d{2,3}\s*:\s*\d{2,3}\s*,`),
  new RegExp(String.raw`\[\s*${CMD_ID}\s*,\s*${CMD_ID}\s*[,\]]`),
  new RegExp(String.raw`\.\w*[cC]ommand\(\s*${NUM}\s*,`),
];
const SWITCH = new RegExp(String.raw`\bswitch\s*\(\s*(?:[\w.?]+\.)?${NAME}\s*\)`);
const CASE = /\bcase\s+\d+\s*:/;

/** Code of a line without quoted strings and line comments, or '' for a comment line. */
function code(line: string): string {
  if (/^\s*(\*|\/\/|\/\*)/.test(line)) return '';
  return line.replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/g, "''").replace(/\/\/.*$/, '');
}

/** The lines of `text` that compare, list or compute type identifications as numbers. */
export function numericTypeIdLines(text: string): string[] {
  const out: string[] = [];
  let inTypeSwitch = false;
  for (const raw of text.split('\n')) {
    const l = code(raw);
    if (/\bswitch\s*\(/.test(l)) inTypeSwitch = SWITCH.test(l);
    if (PATTERNS.some((r) => r.test(l)) || (inTypeSwitch && CASE.test(l))) out.push(raw.trim());
  }
  return out;
}

function files(dir: string, out: string[] = []): string[] {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) files(p, out);
    else if (n.endsWith('.ts')) out.push(p);
  }
  return out;
}

test('numeric type-ID comparisons outside the codec only go down (and only src/master/ has any left)', () => {
  const over: string[] = [];
  for (const f of files(join(root, 'src'))) {
    const rel = relative(root, f);
    if (rel.startsWith('src/codec/') || OTHER_TYPES.has(rel)) continue;
    const lines = numericTypeIdLines(readFileSync(f, 'utf8'));
    const allowed = REMAINING[rel] ?? 0;
    if (lines.length > allowed) over.push(`${rel}: ${lines.length} > ${allowed}\n    ${lines.join('\n    ')}`);
  }
  assert.deepEqual(over, [], 'ask the type table (src/codec/type-table.ts) instead of comparing type identifications');
  for (const f of Object.keys(REMAINING)) assert.ok(f.startsWith('src/master/'), `${f}: only the master's entries are left to remove`);
});

test('the scanner sees every form of a numeric type identification', () => {
  const seen = [
    'if (asdu.typeId >= 45 && asdu.typeId <= 64) {',
    'if (100 === a.typeId) return;',
    'const t = a.typeId + 13;',
    'const base = t >= 58 && t <= 64 ? t - 13 : t;',
    'const typeId = BASE[o.kind] + (o.timeTag ? 13 : 0);',
    'const QU_TYPES = new Set([45, 46, 47, 58, 59, 60]);',
    'const COMMAND_TYPES = new Set<number>([45, 46]);',
    'for (const t of [45, 46, 47]) INCOMING[t] = [6, 8];',
    'this.raise({ ca, typeId: 70, cot: 4 });',
    'parameter(typeId: 110 | 111 | 112, ca: number) {',
    'if (!sys.timeTag) typeId = 104;',
    'const CONTROL_BASE_TO_TIMED: Record<number, number> = { 45: 58, 46: 59 };',
    'if (cmdType === 0x2d) {',
    'const TIMED_COMMANDS = new Set([58, 59, 60]);',
    'return this.command(45, ca, ioa, { value }, opts);',
  ];
  for (const l of seen) assert.equal(numericTypeIdLines(l).length, 1, l);
  assert.equal(numericTypeIdLines('switch (req.typeId) {\n  case 100: return a();\n  case 101: return b();\n}').length, 2, 'cases of a switch over a type');
  assert.equal(numericTypeIdLines('switch (t) {\n  case 100: return a();\n}').length, 1);
});

test('the scanner leaves named types, predicates, comments, strings and other numbers alone', () => {
  const clean = [
    'if (isProcessCommand(asdu.typeId)) {',
    'if (a.typeId === TypeId.C_RD_NA_1 && a.cot === 5) return;',
    'case TypeId.F_FR_NA_1:',
    '// the old code said typeId >= 45',
    ' * `typeId - 13` was the timed variant',
    "  $ iec104 analyze capture.pcap --filter 'iec60870_104.type == 0'",
    'while (etype === 0x8100) o += 4;',
    'p.flags = d[o + 13];',
    'if (a.cot === 6 || a.cot === 8) n++;',
    'const causes = [6, 7, 8, 9, 10];',
    'const MIRROR = [44, 45, 46, 47];',
    'return this.command(cmd, ca, ioa, opts);',
  ];
  for (const l of clean) assert.deepEqual(numericTypeIdLines(l), [], l);
  assert.deepEqual(numericTypeIdLines('switch (a.cot) {\n  case 6: return x();\n}'), [], 'cases of a switch over something else');
});
