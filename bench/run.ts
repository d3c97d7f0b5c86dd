/**
 * `npm run bench`: runs every bench/*.bench.ts (each exports `run(): Promise<BenchResult[]>`),
 * prints the figures and rewrites the generated part of BENCHMARKS.md with the machine and workload.
 * `npm run bench -- codec` runs only the files whose name contains "codec".
 */
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, totalmem, platform, release } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchResult } from './types.js';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${platform()} ${release()}, Node ${process.version}`;
console.log(`machine: ${machine}`);
const sections: string[] = [];
for (const f of files) {
  const mod = (await import(pathToFileURL(join(here, f)).href)) as { run: () => Promise<BenchResult[]>; description?: string };
  console.log(`\n## ${f}`);
  const results = await mod.run();
  const rows = results.map((r) => {
    const v = r.value >= 1000 ? Math.round(r.value).toLocaleString('en-US') : r.value.toFixed(r.value < 10 ? 2 : 1);
    console.log(`  ${r.name.padEnd(60)} ${v.padStart(14)} ${r.unit}${r.note ? `  (${r.note})` : ''}`);
    return `| ${r.name} | ${v} | ${r.unit} | ${r.note ?? ''} |`;
  });
  sections.push(`### ${f}\n\n${mod.description ? mod.description + '\n\n' : ''}| workload | value | unit | note |\n|---|---:|---|---|\n${rows.join('\n')}\n`);
}

const path = join(here, '..', 'BENCHMARKS.md');
const begin = '<!-- bench:begin -->';
const end = '<!-- bench:end -->';
const generated = `${begin}\nLast run: ${new Date().toISOString()} on ${machine}.\n\n${sections.join('\n')}${end}`;
let doc = existsSync(path) ? readFileSync(path, 'utf8') : `# Benchmarks\n\n${begin}\n${end}\n`;
if (filters.length > 0) {
  console.log('\n(filtered run: BENCHMARKS.md not rewritten)');
} else {
  if (!doc.includes(begin)) doc += `\n${begin}\n${end}\n`;
  doc = doc.slice(0, doc.indexOf(begin)) + generated + doc.slice(doc.indexOf(end) + end.length);
  writeFileSync(path, doc);
  console.log(`\nwrote ${path}`);
}
