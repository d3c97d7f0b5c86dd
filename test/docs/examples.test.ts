/**
 * Runs every TSDoc `@example` block of src/ as a module: `from 'iec104'` is pointed at src/index.ts.
 * Examples check themselves with node:assert, so a wrong example fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const srcIndex = join(root, 'src', 'index.ts');

function walk(dir: string, out: string[] = []): string[] {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (n.endsWith('.ts')) out.push(p);
  }
  return out;
}

interface Example {
  file: string;
  line: number;
  code: string;
}

function extract(file: string): Example[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*\*\s*@example/.test(lines[i])) continue;
    let j = i + 1;
    while (j < lines.length && !/^\s*\*\s*```ts/.test(lines[j])) j++;
    const start = j + 1;
    let k = start;
    while (k < lines.length && !/^\s*\*\s*```\s*$/.test(lines[k])) k++;
    const body = lines.slice(start, k).map((l) => l.replace(/^\s*\*\s?/, ''));
    out.push({ file, line: start + 1, code: body.join('\n') });
    i = k;
  }
  return out;
}

/** ```ts blocks of README.md that import from 'iec104' (the library examples). */
function readmeExamples(): Example[] {
  const file = join(root, 'README.md');
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== '```ts') continue;
    let k = i + 1;
    while (k < lines.length && lines[k].trim() !== '```') k++;
    const code = lines.slice(i + 1, k).join('\n');
    if (code.includes("from 'iec104'")) out.push({ file, line: i + 2, code });
    i = k;
  }
  return out;
}

const examples = [...walk(join(root, 'src')).flatMap(extract), ...readmeExamples()];
const dir = mkdtempSync(join(tmpdir(), 'iec104-examples-'));

test('the source has TSDoc examples', () => {
  assert.ok(examples.length >= 5, `found ${examples.length} examples`);
});

for (const [n, ex] of examples.entries()) {
  test(`example ${relative(root, ex.file)}:${ex.line}`, async () => {
    // 'iec104' is the package's front door; an example in a module the front door does not export
    // (internal modules: test PKI, test-only misbehaviour) also sees its own module's names
    let target = pathToFileURL(srcIndex).href;
    if (ex.file.startsWith(join(root, 'src'))) {
      const shim = join(dir, `shim${n}.mts`);
      writeFileSync(shim, `export * from ${JSON.stringify(target)};\nexport * from ${JSON.stringify(pathToFileURL(ex.file).href)};\n`);
      target = pathToFileURL(shim).href;
    }
    const code = ex.code.replace(/from 'iec104'/g, `from ${JSON.stringify(target)}`);
    assert.match(code, /assert/, 'an example must check its result with assert');
    const f = join(dir, `ex${n}.mts`);
    writeFileSync(f, code);
    await import(pathToFileURL(f).href);
  });
}
