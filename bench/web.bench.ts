/**
 * Web workbench rendering: 10,000 points, 1,000 updates per second, in Debian's headless chromium
 * (playwright-core). The server batches changes every 250 ms onto server-sent events; the page
 * keeps a map and redraws at most every 200 ms, only the rows in view. Measured in the page: the
 * gaps between animation frames (smoothness), the time from a change at the station to its value
 * on screen, and the JS heap before and after (memory flat).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { createStation } from '../src/station/station.js';
import { startWorkbench } from '../src/web/server.js';
import { chromiumPath, waitText } from '../test/web/browser.js';
import type { BenchResult } from './types.js';

export const description =
  'A station with 10,000 M_ME_NC_1 points (CA 1, IOA 1..10000), 10 random points updated every 10 ms (1,000 updates/s) for 10 s; ' +
  'the workbench page open in headless chromium (1400×900). Frame gaps are requestAnimationFrame intervals during the run.';

const N = 10000;
const SECONDS = 10;

export async function run(): Promise<BenchResult[]> {
  const station = createStation({ points: Array.from({ length: N }, (_, i) => ({ ca: 1, ioa: i + 1, type: 13, name: `point ${i + 1}`, spontaneous: false })), endOfInitialization: 'none' });
  const wb = await startWorkbench({ port: 0, station });
  const profile = mkdtempSync(join(tmpdir(), 'iec104-web-bench-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath(), headless: true, viewport: { width: 1400, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-quic', '--disable-sync', '--enable-precise-memory-info'],
  });
  try {
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    await page.goto(wb.url);
    await page.waitForSelector('body[data-ready=true]');
    await waitText(page, '#points-count', `${N} of ${N}`, 60000);
    const heapBefore = (await page.evaluate('performance.memory.usedJSHeapSize')) as number;
    await page.evaluate(`(() => {
      window.__gaps = []; let last = performance.now();
      const f = (t) => { window.__gaps.push(t - last); last = t; if (!window.__stop) requestAnimationFrame(f); };
      requestAnimationFrame(f);
    })()`);
    let v = 0;
    const timer = setInterval(() => {
      for (let i = 0; i < 10; i++) station.update(1, 2 + Math.floor(Math.random() * (N - 1)), (v = (v + 0.5) % 1000)); // IOA 1 carries the marker
    }, 10);
    // update-to-screen latency: the first row in view gets a marker value, timed until the page shows it
    const latencies: number[] = [];
    const t0 = Date.now();
    while (Date.now() - t0 < SECONDS * 1000) {
      const marker = 5000 + latencies.length + 0.25;
      const start = performance.now();
      station.update(1, 1, marker);
      await waitText(page, '#points .vrow[data-key="1:1"] div:nth-child(5)', String(marker));
      latencies.push(performance.now() - start);
    }
    clearInterval(timer);
    const gaps = (await page.evaluate('window.__stop = true, window.__gaps')) as number[];
    await page.evaluate('new Promise((r) => setTimeout(r, 500))');
    const heapAfter = (await page.evaluate('performance.memory.usedJSHeapSize')) as number;
    gaps.sort((a, b) => a - b);
    latencies.sort((a, b) => a - b);
    const q = (xs: number[], p: number): number => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))];
    const long = gaps.filter((g) => g > 50).length;
    return [
      { name: 'frame gap p50, 10,000 points at 1,000 updates/s', value: q(gaps, 0.5), unit: 'ms', note: `${gaps.length} frames` },
      { name: 'frame gap p99', value: q(gaps, 0.99), unit: 'ms' },
      { name: 'frames longer than 50 ms', value: long, unit: 'frames', note: `of ${gaps.length}, max ${Math.round(gaps[gaps.length - 1])} ms` },
      { name: 'change at the station → value on screen, p50', value: q(latencies, 0.5), unit: 'ms', note: `${latencies.length} samples; server flush 250 ms + page throttle 200 ms` },
      { name: 'change at the station → value on screen, p95', value: q(latencies, 0.95), unit: 'ms' },
      { name: 'page JS heap before / after the run', value: heapAfter / 2 ** 20, unit: 'MiB after', note: `${(heapBefore / 2 ** 20).toFixed(1)} MiB before` },
    ];
  } finally {
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
    await wb.close();
    await station.close();
  }
}
