/**
 * Every error class the package exports carries a stable `code` (E_…) that programs can test
 * instead of matching message text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as api from '../../src/index.js';

test('every exported Error subclass has a stable E_ code', () => {
  const classes = Object.entries(api).filter(([, v]) => typeof v === 'function' && v.prototype instanceof Error) as Array<[string, new (...a: never[]) => Error]>;
  assert.ok(classes.length >= 15, `found ${classes.length} error classes`);
  const missing: string[] = [];
  for (const [name, C] of classes) {
    // construct with harmless arguments: constructors take text, numbers or a list of issues first
    let code: unknown;
    for (const args of [['E_TEST', 'x', 'y', 'z', 'w'], [[]]]) {
      try {
        code = new (C as unknown as new (...a: unknown[]) => Error & { code?: unknown })(...args).code;
        break;
      } catch {
        continue;
      }
    }
    if (typeof code !== 'string' || !/^E_[A-Z0-9_]+$/.test(code)) missing.push(`${name}: ${String(code)}`);
  }
  assert.deepEqual(missing, []);
});
