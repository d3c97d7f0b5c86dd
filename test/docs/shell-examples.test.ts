/**
 * Shell examples in the documentation and in the CLI `--help` texts keep their line
 * continuations: a line ending in a backslash is followed by an indented continuation line, no
 * backslash is followed by trailing blanks, and no help text shows a continuation that the
 * template literal swallowed (a `\` before a newline in a JS template string joins the lines).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CliCommand } from '../../src/cli/command.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

interface Block {
  where: string;
  line: number;
  lines: string[];
}

/** Code blocks of a Markdown file: fenced (any language but ts/js/yaml/json) and 4-space indented. */
export function markdownShellBlocks(text: string, where: string): Block[] {
  const lines = text.split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^\s*```\s*([A-Za-z]*)/.exec(lines[i]);
    if (fence) {
      const lang = fence[1].toLowerCase();
      let j = i + 1;
      while (j < lines.length && !/^\s*```/.test(lines[j])) j++;
      if (!['ts', 'typescript', 'js', 'javascript', 'yaml', 'yml', 'json', 'xml', 'c', 'java'].includes(lang)) out.push({ where, line: i + 2, lines: lines.slice(i + 1, j) });
      i = j;
      continue;
    }
    if (/^ {4}\S/.test(lines[i]) && (i === 0 || lines[i - 1].trim() === '')) {
      let j = i;
      while (j < lines.length && (/^ {4}/.test(lines[j]) || (lines[j].trim() === '' && j + 1 < lines.length && /^ {4}/.test(lines[j + 1])))) j++;
      out.push({ where, line: i + 1, lines: lines.slice(i, j) });
      i = j - 1;
    }
  }
  return out;
}

/** Continuation problems of one block, as `where:line: what`. */
export function continuationProblems(b: Block): string[] {
  const bad: string[] = [];
  const indent = (s: string): number => /^\s*/.exec(s.replace(/^(\s*)\$ /, '$1'))![0].length;
  /** Indentation of the first line of the command being continued (undefined: not in one). */
  let commandIndent: number | undefined;
  b.lines.forEach((l, i) => {
    const at = `${b.where}:${b.line + i}`;
    if (/\\[ \t]+$/.test(l)) bad.push(`${at}: blanks after the line-continuation backslash`);
    if (/\\$/.test(l)) {
      commandIndent ??= indent(l);
      const next = b.lines[i + 1];
      if (next === undefined || next.trim() === '') bad.push(`${at}: a line continuation with no line after it`);
      else if (indent(next) <= commandIndent) bad.push(`${at}: the continuation line is not indented under the command`);
    } else commandIndent = undefined;
    // a `\` + newline swallowed by a template literal leaves the next line's indentation inside the command
    if (/(^|\s)(\$ )?iec104 \S.*\S {4,}--\S/.test(l)) bad.push(`${at}: command joined with its continuation line (a lost backslash)`);
  });
  return bad;
}

function markdownFiles(): string[] {
  const out = [join(root, 'README.md')];
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith('.md')) out.push(p);
    }
  };
  walk(join(root, 'docs'));
  return out;
}

test('the checker finds the faults it is for', () => {
  const joined = continuationProblems({ where: 'x', line: 1, lines: ['  $ iec104 proxy --listen 1 --enforce       --listen-tls --listen-cert a'] });
  assert.equal(joined.length, 1);
  assert.match(joined[0], /lost backslash/);
  assert.match(continuationProblems({ where: 'x', line: 1, lines: ['iec104 serve \\ ', '  --port 1'] })[0], /blanks after/);
  assert.match(continuationProblems({ where: 'x', line: 1, lines: ['iec104 serve \\', ''] })[0], /no line after/);
  assert.match(continuationProblems({ where: 'x', line: 1, lines: ['    iec104 serve \\', '    --port 1'] })[0], /not indented/);
  assert.deepEqual(continuationProblems({ where: 'x', line: 1, lines: ['  $ iec104 serve \\', '      --port 1'] }), []);
  const blocks = markdownShellBlocks('text\n\n    iec104 a \\\n      --b\n\n```sh\niec104 c\n```\n```ts\nconst x = 1 \\\n```\n', 'm');
  assert.deepEqual(blocks.map((b) => b.lines.length), [2, 1]);
});

test('shell examples in README.md and docs/ keep their line continuations', () => {
  const bad = markdownFiles().flatMap((f) => markdownShellBlocks(readFileSync(f, 'utf8'), relative(root, f)).flatMap(continuationProblems));
  assert.deepEqual(bad, []);
});

test('examples in every CLI --help text keep their line continuations', async () => {
  const dir = join(root, 'src', 'cli');
  const bad: string[] = [];
  let helps = 0;
  for (const n of readdirSync(dir).filter((x) => x.endsWith('.ts')).sort()) {
    const mod = (await import(pathToFileURL(join(dir, n)).href)) as { command?: CliCommand };
    if (!mod.command?.help) continue;
    helps++;
    bad.push(...continuationProblems({ where: `iec104 ${n.replace(/\.ts$/, '')} --help`, line: 1, lines: mod.command.help.split('\n') }));
  }
  assert.ok(helps >= 10, `${helps} help texts found`);
  assert.deepEqual(bad, []);
});
