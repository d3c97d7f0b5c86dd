/**
 * Config and scenario loaders against hostile files (issue 11, item 6): no spread or recursion that
 * overflows, limits on size, nesting depth, YAML aliases and repeat counts, each a typed error that
 * names the limit and where. A million points load. (Load time and memory: bench/, BENCHMARKS.md.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkDocument, DEFAULT_DOCUMENT_LIMITS, DocumentLimitError } from '../../src/document-limits.js';
import { parseStationConfig, StationConfigError, validateStationConfig } from '../../src/station/config.js';
import { PointDatabase } from '../../src/station/point-database.js';
import { createStation } from '../../src/station/station.js';
import { parsePolicy, PolicyError } from '../../src/monitor/policy.js';
import { MAX_REPEAT, parseScenario, ScenarioError } from '../../src/validate/scenario.js';

function limitError(f: () => unknown, code: string): DocumentLimitError {
  let got: unknown;
  try {
    f();
  } catch (e) {
    got = e;
  }
  assert.ok(got instanceof DocumentLimitError, `expected a DocumentLimitError ${code}, got ${String(got)}`);
  assert.equal(got.code, code);
  return got;
}

test('150000 points in one common address load into the point database (no spread of the point list; a million: bench/ loader row)', () => {
  const n = 150_000;
  const db = new PointDatabase(0);
  for (let i = 0; i < n; i++) db.add({ ca: 1, ioa: i + 1, type: 13, value: i });
  const all = db.points(1);
  assert.equal(all.length, n);
  assert.equal(all[n - 1].ioa, n);
  assert.equal(db.points().length, n);
  // the configuration validator takes large point lists too
  const points = Array.from({ length: 150_000 }, (_, i) => ({ ca: 1, ioa: i + 1, type: 13, value: i }));
  assert.equal(validateStationConfig({ points }).station.points?.length, 150_000);
});

test('a station with 200000 points in one common address starts (more than a call takes as arguments)', () => {
  const points = Array.from({ length: 200_000 }, (_, i) => ({ ca: 1, ioa: i + 1, type: 1, value: i % 2 === 0 }));
  const st = createStation({ points });
  assert.ok(st);
});

test('JSON nested a million deep: E_DOC_DEPTH naming the line and column, no stack overflow', () => {
  const deep = '{"points":' + '['.repeat(1_000_000) + ']'.repeat(1_000_000) + '}';
  const e = limitError(() => checkDocument(deep, 'c.json'), 'E_DOC_DEPTH');
  assert.equal(e.limit, DEFAULT_DOCUMENT_LIMITS.maxDepth);
  assert.equal(e.line, 1);
  assert.equal(e.column, 11 + 62); // the document's top level is one level, '{' a second
  assert.throws(() => parseStationConfig(deep), (x: unknown) => x instanceof StationConfigError && /nests collections deeper than the limit of 64 at line 1, column 73 \(E_DOC_DEPTH\)/.test(x.message));
  // block nesting in YAML counts too (the yaml package runs out of memory on 2000 levels)
  const block = Array.from({ length: 2000 }, (_, i) => ' '.repeat(i) + '- ').join('\n') + 'x\n';
  assert.equal(limitError(() => checkDocument(block, 'c.yaml'), 'E_DOC_DEPTH').line, 65);
  const compact = 'points:\n  ' + '- '.repeat(500) + 'x\n';
  limitError(() => checkDocument(compact, 'c.yaml'), 'E_DOC_DEPTH');
});

test('YAML with 60000 aliases: E_DOC_ALIASES at once, not a minute of parsing', () => {
  const lines = ['anchors:', '  a: &a { type: 13 }', 'list:'];
  for (let i = 0; i < 60_000; i++) lines.push('  - *a');
  const text = lines.join('\n');
  const e = limitError(() => checkDocument(text, 'c.yaml'), 'E_DOC_ALIASES');
  assert.equal(e.line, 3 + 10_001);
  assert.throws(() => parseStationConfig(text), (x: unknown) => x instanceof StationConfigError && /more than 10000 YAML aliases/.test(x.message));
});

test('size limits: a policy over 4 MiB and a config over the configured limit are refused before parsing', () => {
  const big = 'version: 1\nmasters:\n' + '  - addresses: [10.0.0.1]\n'.repeat(200_000);
  assert.throws(() => parsePolicy(big), (x: unknown) => x instanceof PolicyError && x.issues[0].path === '(document)' && /more than the limit of 4194304 \(E_DOC_SIZE\)/.test(x.message));
  assert.throws(() => parseStationConfig('{"points":[]}', 'json', { maxBytes: 8 }), (x: unknown) => x instanceof StationConfigError && /13 octets, more than the limit of 8/.test(x.message));
  // within the limits nothing changes
  assert.equal(parsePolicy('version: 1\nmasters:\n  - addresses: [10.0.0.1]\n').masters.length, 1);
});

test('legal YAML that looks odd is not refused: quotes, comments, block scalars, flow maps', () => {
  const text = [
    'station: { commonAddress: 1 }   # a comment with [[[[ brackets',
    "name: 'it''s [fine' ",
    'note: "a \\" [ quote"',
    'text: |',
    '          deeply indented text',
    '                    more',
    '    - not a sequence',
    'plain: a *b c',
    'points:',
    '  - { ca: 1, ioa: 1, type: 13 }',
    '  - ca: 1',
    '    ioa: 2',
    '    type: 13',
  ].join('\n');
  assert.doesNotThrow(() => checkDocument(text, 'ok.yaml'));
});

test('scenario: repeat count above MAX_REPEAT and deep nesting are ScenarioErrors with line and column', () => {
  const e = (() => {
    try {
      parseScenario(`name: x\nsteps:\n  - repeat: 1000000000\n    steps:\n      - testfr\n`, 's.yaml');
    } catch (x) {
      return x;
    }
  })();
  assert.ok(e instanceof ScenarioError, String(e));
  assert.equal(e.line, 3);
  assert.match(e.message, new RegExp(`repeat count 1000000000 is above the limit of ${MAX_REPEAT}`));
  const deep = 'name: x\nsteps: ' + '['.repeat(100_000) + ']'.repeat(100_000) + '\n';
  assert.throws(() => parseScenario(deep, 'd.yaml'), (x: unknown) => x instanceof ScenarioError && x.line === 2 && /E_DOC_DEPTH/.test(x.message));
});
