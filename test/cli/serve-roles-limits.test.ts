/**
 * `iec104 serve --roles FILE` against hostile roles files (issue 11, item 6): the file gets the same
 * size / nesting / alias limits as the configuration, policy and scenario loaders, before any parser
 * runs, and a typed error that names the file and the limit (exit 2, no stack overflow, no minute of
 * alias resolution).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runServe } from '../../src/cli/serve.js';
import { DocumentLimitError } from '../../src/document-limits.js';
import { parseRolesConfig, ROLES_DOCUMENT_LIMITS, StationConfigError } from '../../src/station/config.js';

const dir = mkdtempSync(join(tmpdir(), 'iec104-roles-limits-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const CONFIG = join(dir, 'rtu.yaml');
writeFileSync(CONFIG, 'station: { endOfInitialization: none, cyclicPeriodMs: 0 }\npoints:\n  - { ca: 1, ioa: 1, type: M_SP_NA_1, value: true }\n');

/** 1,500 aliases of one role (the limit is 1,000). */
const ALIASES = ['defaultRole: monitor', 'anchor: &r { match: { address: [10.0.0.0/8] }, role: monitor }', 'roles:', ...Array.from({ length: 1500 }, () => '  - *r')].join('\n') + '\n';
/** JSON nested a million deep. */
const DEEP = '{"roles":' + '['.repeat(1_000_000) + ']'.repeat(1_000_000) + '}';
/** A valid roles list of 5 MiB (the limit is 4 MiB). */
const HUGE = 'roles:\n' + '  - { match: { address: [10.1.2.3/32] }, role: monitor, name: filler-role-entry }\n'.repeat(Math.ceil((5 * 1024 * 1024) / 80));
/** "Billion laughs": few aliases, each expanding the one before nine times. */
const LAUGHS = ['a: &a [x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array.from({ length: 9 }, () => '*' + String.fromCharCode(97 + i)).join(', ')}]`), 'roles: []'].join('\n') + '\n';

function refused(text: string, file: string): StationConfigError {
  let got: unknown;
  try {
    parseRolesConfig(text, file);
  } catch (e) {
    got = e;
  }
  assert.ok(got instanceof StationConfigError, `expected a StationConfigError, got ${String(got)}`);
  assert.ok(got.message.startsWith(file), `the message names the file: ${got.message}`);
  return got;
}

test('parseRolesConfig: aliases, nesting and size limits before parsing, typed errors naming the file, the limit and where', () => {
  const a = refused(ALIASES, 'aliases.yaml');
  assert.ok(a.cause instanceof DocumentLimitError);
  assert.equal(a.cause.code, 'E_DOC_ALIASES');
  assert.equal(a.cause.limit, ROLES_DOCUMENT_LIMITS.maxAliases);
  assert.equal(a.cause.line, 3 + 1001);
  assert.match(a.message, /^aliases\.yaml has more than 1000 YAML aliases \(\*name\) at line 1004, column 5 \(E_DOC_ALIASES\)$/);

  const d = refused(DEEP, 'deep.json');
  assert.ok(d.cause instanceof DocumentLimitError);
  assert.equal(d.cause.code, 'E_DOC_DEPTH');
  assert.match(d.message, /deep\.json nests collections deeper than the limit of 64 at line 1, column \d+ \(E_DOC_DEPTH\)/);

  const h = refused(HUGE, 'huge.yaml');
  assert.ok(h.cause instanceof DocumentLimitError);
  assert.equal(h.cause.code, 'E_DOC_SIZE');
  assert.equal(h.cause.found, Buffer.byteLength(HUGE));
  assert.match(h.message, /huge\.yaml is \d+ octets, more than the limit of 4194304 \(E_DOC_SIZE\)/);

  // few aliases that expand exponentially: the YAML parser's own expansion bound, named as a syntax error
  const l = refused(LAUGHS, 'laughs.yaml');
  assert.match(l.message, /^laughs\.yaml: not valid YAML\/JSON: .*alias/i);

  // an invalid value: the file, then the path
  const v = refused('roles:\n  - { match: { address: [300.1.1.1] }, role: control }\n', 'bad.yaml');
  assert.match(v.message, /^bad\.yaml: roles\[0\]\.match\.address: /);

  // within the limits nothing changes; the limits can be changed
  assert.equal(parseRolesConfig('roles:\n  - { match: { address: [10.0.0.0/8] }, role: control }\ndefaultRole: monitor\n', 'ok.yaml').roles?.length, 1);
  assert.throws(() => parseRolesConfig(ALIASES, 'aliases.yaml', { maxAliases: 100 }), (e: unknown) => e instanceof StationConfigError && e.cause instanceof DocumentLimitError && e.cause.limit === 100 && e.cause.line === 3 + 101);
  assert.deepEqual(parseRolesConfig('[{ "match": { "address": ["10.0.0.1"] }, "role": "monitor" }]', 'list.json').roles?.[0].match, { address: ['10.0.0.1'] });
});

test('serve --roles with hostile files: exit 2, the file and the limit on stderr (no stack trace, no crash)', async () => {
  const cases: [string, string, RegExp][] = [
    ['aliases.yaml', ALIASES, /E_DOC_ALIASES/],
    ['deep.json', DEEP, /E_DOC_DEPTH/],
    ['huge.yaml', HUGE, /E_DOC_SIZE/],
    ['laughs.yaml', LAUGHS, /not valid YAML\/JSON/],
  ];
  for (const [name, text, want] of cases) {
    const file = join(dir, name);
    writeFileSync(file, text);
    let err = '';
    let out = '';
    const code = await runServe([CONFIG, '--roles', file, '--check'], { stdout: { write: (s: string) => ((out += s), true) }, stderr: { write: (s: string) => ((err += s), true) } });
    assert.equal(code, 2, `${name}: ${err}`);
    assert.ok(err.startsWith(`iec104 serve: ${file} `) || err.startsWith(`iec104 serve: ${file}:`), `${name}: the error names the file: ${err}`);
    assert.match(err, want);
    assert.doesNotMatch(err, /\n\s+at /, 'no stack trace');
    assert.equal(out, '');
  }
  // a good roles file still passes --check
  const good = join(dir, 'good.yaml');
  writeFileSync(good, 'roles:\n  - { match: { address: [127.0.0.1] }, role: control }\n');
  let err = '';
  assert.equal(await runServe([CONFIG, '--roles', good, '--check'], { stdout: { write: () => true }, stderr: { write: (s: string) => ((err += s), true) } }), 0, err);
});
