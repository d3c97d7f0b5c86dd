/**
 * Where the public IEC 104 captures used by the tests live: inside the repository, in
 * test/fixtures/captures/ (sources and licences in that folder's README.md).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** Absolute path of test/fixtures/captures/. */
export const CAPTURES_DIR = fileURLToPath(new URL('../fixtures/captures/', import.meta.url));

/** The bytes of one capture in test/fixtures/captures/. */
export function readCapture(name: string): Buffer {
  return readFileSync(join(CAPTURES_DIR, name));
}
