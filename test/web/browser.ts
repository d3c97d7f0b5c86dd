/**
 * Test helper: a headless Debian chromium (found on the PATH, never downloaded) driven by
 * playwright-core, with a fresh user-data dir, and the folder for screenshots (test-artifacts/,
 * git-ignored).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Where screenshots go (git-ignored). */
export const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

/** The chromium executable on the PATH (`chromium`, else `chromium-browser`). Throws a clear message when missing. */
export function chromiumPath(): string {
  for (const name of ['chromium', 'chromium-browser']) {
    for (const dir of (process.env.PATH ?? '').split(delimiter)) {
      const p = join(dir, name);
      if (dir && existsSync(p)) return p;
    }
  }
  throw new Error('chromium is not on the PATH: install it with apt-get install -y chromium (.ci/run does)');
}

/** Launch headless chromium with a fresh profile; `close()` removes the profile. */
export async function launchBrowser(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), 'iec104-web-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath(),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-quic', '--disable-sync'],
    viewport: { width: 1400, height: 900 },
    timeout: 30000,
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** The little of the DOM the predicates below need (the tests compile without the DOM library). */
interface Doc {
  querySelector(s: string): { textContent: string | null } | null;
  querySelectorAll(s: string): { length: number };
}

/** Wait until the element `selector` shows exactly `text`. */
export function waitText(page: Page, selector: string, text: string, timeout = 20000): Promise<unknown> {
  return page.waitForFunction(([s, t]) => (globalThis as unknown as { document: Doc }).document.querySelector(s)?.textContent === t, [selector, text] as const, { timeout });
}

/** Wait until the text of `selector` matches `pattern` (source of a RegExp). */
export function waitMatch(page: Page, selector: string, pattern: string, timeout = 20000): Promise<unknown> {
  return page.waitForFunction(([s, p]) => new RegExp(p).test((globalThis as unknown as { document: Doc }).document.querySelector(s)?.textContent ?? ''), [selector, pattern] as const, { timeout });
}

/** Wait until `selector` matches exactly `n` elements (or at least `n` with `atLeast`). */
export function waitCount(page: Page, selector: string, n: number, atLeast = false, timeout = 20000): Promise<unknown> {
  return page.waitForFunction(([s, k, a]) => {
    const c = (globalThis as unknown as { document: Doc }).document.querySelectorAll(s).length;
    return a ? c >= k : c === k;
  }, [selector, n, atLeast] as const, { timeout });
}
