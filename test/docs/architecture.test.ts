/**
 * The layers of shared/DESIGN.md, enforced: a module imports only from its own folder and from
 * layers below it. codec imports nothing of ours; link knows no sockets; master and station never
 * import each other; the CLI, the web UI and fleet only compose what is below.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const src = join(root, 'src');

/** Layer rank of each folder of src/ (top-level modules such as clock.ts and log.ts are rank 0). */
const RANK: Record<string, number> = {
  '': 0, codec: 0, link: 1, transport: 2, master: 3, station: 3, capture: 3, monitor: 4, validate: 4, outputs: 5,
  web: 6, fleet: 7, cli: 8,
};

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, out);
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

const layerOf = (file: string): string => {
  const rel = relative(src, file).split('/');
  return rel.length === 1 ? '' : rel[0];
};

test('imports never run upward through the layers, and same-rank layers do not import each other', () => {
  const problems: string[] = [];
  for (const f of files(src)) {
    if (relative(src, f) === 'index.ts') continue; // the front door re-exports every layer
    const from = layerOf(f);
    if (!(from in RANK)) {
      problems.push(`${relative(root, f)}: folder src/${from}/ has no layer in this test's table (add it where it belongs)`);
      continue;
    }
    const text = readFileSync(f, 'utf8');
    // static imports and re-exports (line starts, so TSDoc examples do not count) and dynamic import('…')
    for (const m of text.matchAll(/^(?:import|export|\})[^\n]*?from\s+'(\.{1,2}\/[^']+)'|\bimport\(\s*'(\.{1,2}\/[^']+)'/gm)) {
      const spec = m[1] ?? m[2];
      const target = resolve(dirname(f), spec);
      if (!target.startsWith(src)) continue;
      const to = layerOf(target);
      if (to === from) continue;
      if (!((RANK[to] ?? 99) < RANK[from])) problems.push(`${relative(root, f)} (${from || 'top'}) imports ${spec} (${to || 'top'})`);
    }
  }
  assert.deepEqual(problems, []);
});

test('the codec imports nothing of ours and the link nothing of sockets', () => {
  for (const f of files(join(src, 'codec'))) {
    for (const m of readFileSync(f, 'utf8').matchAll(/^(?:import|export|\})[^\n]*?from\s+'([^']+)'/gm)) {
      assert.ok(m[1].startsWith('./'), `${relative(root, f)} imports ${m[1]}`);
    }
  }
  for (const f of files(join(src, 'link'))) {
    assert.doesNotMatch(readFileSync(f, 'utf8'), /from\s+'node:(net|tls|dgram)'/, `${relative(root, f)} imports sockets`);
  }
});
