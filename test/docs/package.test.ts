/**
 * The npm package ships the library (compiled from src/ alone), its types, the CLI launcher and the
 * examples: no tests, benchmarks, scripts or source maps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('npm pack ships dist/, bin/, examples/ and the README only', () => {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const files = (JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0].files.map((f) => f.path);
  const unexpected = files.filter((f) => !/^(dist\/|bin\/iec104\.js$|examples\/|README\.md$|package\.json$|LICENSE)/.test(f));
  assert.deepEqual(unexpected, [], 'files outside the published set');
  assert.ok(!files.some((f) => f.endsWith('.map')), 'no source maps');
  assert.ok(!files.some((f) => /^dist\/(test|bench|scripts)\//.test(f)), 'nothing compiled from test/, bench/ or scripts/');
  for (const must of ['bin/iec104.js', 'examples/substation.yaml', 'README.md']) assert.ok(files.includes(must), `${must} is shipped`);
  // dist/ exists after `npm ci` (the prepare script builds it); when it does, its entry points are shipped
  if (files.some((f) => f.startsWith('dist/'))) {
    for (const must of ['dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js']) assert.ok(files.includes(must), `${must} is shipped`);
  }
});

test('package.json points its entry points at the build of src/', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as Record<string, unknown>;
  assert.equal(pkg.main, './dist/index.js');
  assert.equal(pkg.types, './dist/index.d.ts');
  const build = JSON.parse(readFileSync(new URL('../../tsconfig.build.json', import.meta.url), 'utf8')) as { compilerOptions: Record<string, unknown>; include: string[] };
  assert.deepEqual(build.include, ['src/**/*.ts']);
  assert.equal(build.compilerOptions.stripInternal, true, '@internal stays out of the published types');
});
