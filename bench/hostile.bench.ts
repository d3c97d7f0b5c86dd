/**
 * Hostile-input workloads (issue 11): the analyser's memory for a million TCP flows, and loading a
 * station configuration with a million points. Each workload runs in a child process of its own so
 * that its peak RSS (`maxRSS`) is its own.
 *
 * `node --import tsx bench/hostile.bench.ts flows [N] [maxFlows]` or `... points [N]` runs one directly.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './types.js';

export const description =
  'A million one-segment TCP flows (each a different client port, one STARTDT act to port 2404, as a port scan or a flood of half-open sessions looks) streamed into `CaptureAnalyzer` as pcap bytes generated on the fly; peak RSS of the process. A million points in one common address, as JSON text, through `parseStationConfig` and `createStation`. Each in its own child process.';

interface Out {
  ms: number;
  maxRssMb: number;
  extra: Record<string, number>;
}

/** Run a workload in a child with a V8 heap limit of `heapMb` (the live set must fit; RSS is measured). */
function child(args: string[], heapMb: number): Out {
  const r = spawnSync(process.execPath, ['--import', 'tsx', `--max-old-space-size=${heapMb}`, fileURLToPath(import.meta.url), ...args], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`bench child ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Out;
}

export async function run(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  // the default table (20,000 flows) in a 192 MB V8 heap: the live set stays flat, garbage is collected
  const f = child(['flows', '1000000', '20000'], 192);
  out.push({ name: 'analyser: 1,000,000 one-segment flows, default table (20,000), heap limit 192 MB', value: f.maxRssMb, unit: 'MB peak RSS', note: `${(f.ms / 1000).toFixed(1)} s, ${Math.round(f.extra.flowsPerSec).toLocaleString('en-US')} flows/s, ${f.extra.evicted.toLocaleString('en-US')} evicted, ${f.extra.apdus.toLocaleString('en-US')} APDUs, ${(f.extra.cpuMs / 1000).toFixed(1)} s CPU` });
  const p = child(['points', '1000000'], 4096);
  out.push({ name: 'config: 1,000,000 points in one CA (JSON), parse + validate', value: p.extra.parseMs / 1000, unit: 's', note: `${p.extra.textMb.toFixed(0)} MB of text` });
  out.push({ name: 'config: 1,000,000 points, createStation', value: p.extra.stationMs / 1000, unit: 's', note: `GI snapshot of the CA: ${(p.extra.pointsMs / 1000).toFixed(2)} s` });
  out.push({ name: 'config: 1,000,000 points, peak RSS', value: p.maxRssMb, unit: 'MB', note: 'text, parsed document, validated config and point database' });
  return out;
}

/** A million one-segment flows, generated and analysed in chunks (no capture held in memory). */
async function flows(n: number, maxFlows: number): Promise<Out> {
  const { CaptureAnalyzer } = await import('../src/capture/analyze.js');
  let apdus = 0;
  const an = new CaptureAnalyzer({ record: () => void apdus++ }, { maxFlows, maxListedFlows: 1000 });
  // pcap header, then per flow: Ethernet / IPv4 / TCP (PSH|ACK) + STARTDT act
  const head = new Uint8Array(24);
  const hv = new DataView(head.buffer);
  hv.setUint32(0, 0xa1b2c3d4, true);
  hv.setUint16(4, 2, true);
  hv.setUint16(6, 4, true);
  hv.setUint32(16, 262144, true);
  hv.setUint32(20, 1, true);
  an.push(head);
  const frameLen = 14 + 20 + 20 + 6;
  const recLen = 16 + frameLen;
  const batch = 4096;
  const buf = new Uint8Array(recLen * batch);
  const v = new DataView(buf.buffer);
  const t0 = performance.now();
  for (let base = 0; base < n; base += batch) {
    const m = Math.min(batch, n - base);
    for (let k = 0; k < m; k++) {
      const i = base + k;
      const o = k * recLen;
      v.setUint32(o, 1700000000 + Math.floor(i / 10000), true);
      v.setUint32(o + 4, (i % 10000) * 100, true);
      v.setUint32(o + 8, frameLen, true);
      v.setUint32(o + 12, frameLen, true);
      const e = o + 16;
      buf.fill(0, e, e + frameLen);
      buf[e + 12] = 0x08; // IPv4
      const ip = e + 14;
      buf[ip] = 0x45;
      v.setUint16(ip + 2, 20 + 20 + 6);
      buf[ip + 8] = 64;
      buf[ip + 9] = 6;
      // source 10.x.y.z from the flow number, destination 10.0.0.2
      v.setUint32(ip + 12, (10 << 24) | ((i >>> 10) & 0xffff) << 8 | 1);
      v.setUint32(ip + 16, (10 << 24) | 2);
      const tcp = ip + 20;
      v.setUint16(tcp, 1024 + (i & 1023));
      v.setUint16(tcp + 2, 2404);
      v.setUint32(tcp + 4, 1000 + i);
      v.setUint32(tcp + 8, 5000);
      buf[tcp + 12] = 5 << 4;
      buf[tcp + 13] = 0x18;
      v.setUint16(tcp + 14, 65535);
      buf.set([0x68, 0x04, 0x07, 0x00, 0x00, 0x00], tcp + 20);
    }
    an.push(buf.subarray(0, m * recLen));
  }
  an.end();
  const ms = performance.now() - t0;
  const s = an.summary();
  const ru = process.resourceUsage();
  return { ms, maxRssMb: ru.maxRSS / 1024, extra: { flowsPerSec: (n / ms) * 1000, evicted: s.flowTable.evicted, apdus, peak: s.flowTable.peak, cpuMs: (ru.userCPUTime + ru.systemCPUTime) / 1000 } };
}

async function points(n: number): Promise<Out> {
  const { parseStationConfig } = await import('../src/station/config.js');
  const { createStation } = await import('../src/station/station.js');
  const parts: string[] = new Array<string>(n);
  for (let i = 0; i < n; i++) parts[i] = `{"ca":1,"ioa":${i + 1},"type":13,"value":${i % 1000}}`;
  const text = `{"points":[${parts.join(',')}]}`;
  parts.length = 0;
  const t0 = performance.now();
  const cfg = parseStationConfig(text);
  const t1 = performance.now();
  const st = createStation(cfg.station);
  const t2 = performance.now();
  const db = (st as unknown as { db?: { points(ca?: number): unknown[] } }).db;
  const count = db?.points(1).length ?? -1;
  const t3 = performance.now();
  if (count !== -1 && count !== n) throw new Error(`expected ${n} points, found ${count}`);
  const ru = process.resourceUsage();
  return { ms: t3 - t0, maxRssMb: ru.maxRSS / 1024, extra: { cpuMs: (ru.userCPUTime + ru.systemCPUTime) / 1000, parseMs: t1 - t0, stationMs: t2 - t1, pointsMs: t3 - t2, textMb: text.length / 1e6 } };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [what, a, b] = process.argv.slice(2);
  const r = what === 'flows' ? await flows(Number(a ?? 1e6), Number(b ?? 100000)) : await points(Number(a ?? 1e6));
  console.log(JSON.stringify(r));
}
