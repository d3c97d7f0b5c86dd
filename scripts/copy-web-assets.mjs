// Build step: the workbench page (src/web/public: HTML, CSS, plain JS) goes beside the compiled
// server (dist/web/public), so the published package serves it with no source tree.
import { cpSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const root = fileURLToPath(new URL('..', import.meta.url));
cpSync(`${root}src/web/public`, `${root}dist/web/public`, { recursive: true });
