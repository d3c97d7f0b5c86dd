/**
 * The link parameters have one definition (issue 12): `DEFAULT_LINK_PARAMETERS` in
 * src/link/types.ts. Outside src/link/, code that defaults k, w, t0, t1, t2 or t3 takes the value
 * from there; writing the standard's default again as a number (`opts.t1 ?? 15_000`,
 * `k: 12`, `t3Ms: 20000`) is refused. A different value chosen on purpose (a tool's shorter t0)
 * is not a copy of the default and is allowed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_LINK_PARAMETERS } from '../../src/link/types.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** `name ?? value`, `name: value` or `name = value` with the link's default of `name`, in code. */
function copiedDefaults(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (/^\s*(\*|\/\/|\/\*)/.test(line)) continue;
    const code = line.replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`[^`]*`/g, "''").replace(/\/\/.*$/, '');
    for (const m of code.matchAll(/\b(k|w|t[0-3])(?:Ms)?\s*(?:\?\?|:|=)\s*([\d_]+)\b/g)) {
      const name = m[1] as keyof typeof DEFAULT_LINK_PARAMETERS;
      if (Number(m[2].replace(/_/g, '')) === DEFAULT_LINK_PARAMETERS[name]) out.push(line.trim());
    }
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

test('no copy of a link default outside src/link/', () => {
  const found: string[] = [];
  for (const f of files(join(root, 'src'))) {
    const rel = relative(root, f);
    if (rel.startsWith('src/link/')) continue;
    for (const l of copiedDefaults(readFileSync(f, 'utf8'))) found.push(`${rel}: ${l}`);
  }
  assert.deepEqual(found, [], 'take the default from DEFAULT_LINK_PARAMETERS (src/link/types.ts)');
});

test('the scanner sees copies of the defaults and leaves other values alone', () => {
  assert.equal(copiedDefaults('  const t1 = opts.t1 ?? 15_000;').length, 1);
  assert.equal(copiedDefaults('  k: 12,').length, 1);
  assert.equal(copiedDefaults('  t3Ms: 20000,').length, 1);
  assert.equal(copiedDefaults('    this.w = opts.w ?? 8;').length, 1);
  assert.deepEqual(copiedDefaults('  const t0 = opts.t0 ?? 10_000; // a tool\'s shorter connect time-out'), []);
  assert.deepEqual(copiedDefaults('  const t1 = opts.t1 ?? DEFAULT_LINK_PARAMETERS.t1;'), []);
  assert.deepEqual(copiedDefaults(' * default k = 12'), []);
});
