#!/usr/bin/env node
// Launcher: runs the compiled CLI (dist/, built by `npm install` through the `prepare` script),
// or the TypeScript sources through tsx when working in a checkout without a build.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist', 'cli', 'main.js');
let mod;
if (existsSync(built)) {
  mod = await import(pathToFileURL(built).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  mod = await import(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href);
}
const code = await mod.main(process.argv.slice(2));
process.exitCode = code;
