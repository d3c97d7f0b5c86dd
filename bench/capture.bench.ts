/**
 * Capture analysis speed: a generated capture of many IEC 104 flows (default ~200 MB, set
 * `IEC104_BENCH_CAPTURE_MB`), analysed (a) in-process with `CaptureAnalyzer` + `Detector` and
 * (b) by `iec104 analyze FILE --json > /dev/null` as a child process, side by side with
 * `tshark -r FILE -Y iec60870_104 -T fields -e frame.number -e iec60870_asdu.typeid` in the same
 * run (skipped when tshark is not installed). Memory: RSS at 1/4, 1/2 and the whole file.
 *
 * Run alone: `node --import tsx bench/capture.bench.ts`.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, createReadStream, openSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CaptureAnalyzer } from '../src/capture/analyze.js';
import { Detector } from '../src/monitor/detector.js';
import { observedFromRecord } from '../src/monitor/from-capture.js';
import { generateCapture } from './capture-gen.js';
import type { BenchResult } from './types.js';

/** One line for BENCHMARKS.md. */
export const description =
  'Generated pcap (200 flows, master/station traffic of the engine: GI with SQ and non-SQ data, time-tagged spontaneous events several per segment, SBO commands with ACT_CON/ACT_TERM, set-points, clock sync, S-frames, TESTFR). ' +
  'Library = CaptureAnalyzer + Detector (all rules) in-process; CLI = `iec104 analyze FILE --json > /dev/null` (detector on, every APDU and alert serialised); tshark = `tshark -r FILE -Y iec60870_104 -T fields -e frame.number -e iec60870_asdu.typeid > /dev/null`, same file, same run.';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function timeChild(cmd: string, args: string[]): { ms: number; status: number | null; stderr: string } {
  const devnull = openSync('/dev/null', 'w');
  try {
    const t0 = performance.now();
    const r = spawnSync(cmd, args, { stdio: ['ignore', devnull, 'pipe'], encoding: 'utf8', maxBuffer: 64 << 20 });
    return { ms: performance.now() - t0, status: r.status, stderr: r.error ? String(r.error) : r.stderr };
  } finally {
    closeSync(devnull);
  }
}

/** In-process analysis (with the detector unless `decodeOnly`); RSS sampled at 1/4, 1/2 and the end. */
async function library(path: string, size: number, decodeOnly = false): Promise<{ ms: number; apdus: number; alerts: number; rss: number[] }> {
  const det = new Detector();
  let alerts = 0;
  const an = new CaptureAnalyzer(
    decodeOnly
      ? { record: () => {} }
      : {
          record: (r, octets) => {
            alerts += det.observe(observedFromRecord(r, octets)).length;
            det.takeCommands();
          },
          flowEnd: (f) => det.closeFlow(String(f.index)),
        },
  );
  const marks = [size / 4, size / 2];
  const rss: number[] = [];
  let read = 0;
  const t0 = performance.now();
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    an.push(chunk as Buffer);
    read += (chunk as Buffer).length;
    while (marks.length && read >= marks[0]) {
      marks.shift();
      rss.push(process.memoryUsage().rss);
    }
  }
  an.end();
  if (!decodeOnly) alerts += det.finish().length;
  const ms = performance.now() - t0;
  rss.push(process.memoryUsage().rss);
  return { ms, apdus: an.summary().apdus.total, alerts, rss };
}

/** Run the benchmark. */
export async function run(): Promise<BenchResult[]> {
  const mb = Number(process.env.IEC104_BENCH_CAPTURE_MB ?? 200);
  const path = join(tmpdir(), `iec104-capture-bench-${process.pid}.pcap`);
  const out: BenchResult[] = [];
  try {
    const g0 = performance.now();
    const gen = generateCapture(path, mb * 1e6);
    const size = statSync(path).size;
    const sizeMb = size / 1e6;
    out.push({ name: 'capture generated', value: sizeMb, unit: 'MB', note: `${gen.packets.toLocaleString('en-US')} packets, ${gen.apdus.toLocaleString('en-US')} APDUs, ${gen.flows} flows, ${((performance.now() - g0) / 1000).toFixed(1)} s` });

    const lib = await library(path, size);
    out.push({ name: 'library: CaptureAnalyzer + Detector', value: sizeMb / (lib.ms / 1000), unit: 'MB/s', note: `${(lib.ms / 1000).toFixed(1)} s, ${lib.alerts} alerts` });
    out.push({ name: 'library: CaptureAnalyzer + Detector', value: lib.apdus / (lib.ms / 1000), unit: 'APDU/s' });
    const [q, h, f] = lib.rss.map((x) => x / 2 ** 20);
    out.push({ name: 'library: RSS at 1/4, 1/2, whole file', value: f, unit: 'MiB', note: `${q.toFixed(0)} / ${h.toFixed(0)} / ${f.toFixed(0)} MiB` });

    const dec = await library(path, size, true);
    out.push({ name: 'library: CaptureAnalyzer only (decode, no monitor)', value: sizeMb / (dec.ms / 1000), unit: 'MB/s', note: `${(dec.ms / 1000).toFixed(1)} s` });
    const cliDec = timeChild(process.execPath, [join(root, 'bin', 'iec104.js'), 'analyze', path, '--json', '--no-monitor']);
    if (cliDec.status !== 0) throw new Error(`iec104 analyze failed (${cliDec.status}): ${cliDec.stderr.slice(0, 500)}`);
    out.push({ name: 'CLI: analyze FILE --json --no-monitor > /dev/null', value: sizeMb / (cliDec.ms / 1000), unit: 'MB/s', note: `${(cliDec.ms / 1000).toFixed(1)} s` });

    const cli = timeChild(process.execPath, [join(root, 'bin', 'iec104.js'), 'analyze', path, '--json']);
    if (cli.status !== 0) throw new Error(`iec104 analyze failed (${cli.status}): ${cli.stderr.slice(0, 500)}`);
    out.push({ name: 'CLI: iec104 analyze FILE --json > /dev/null', value: sizeMb / (cli.ms / 1000), unit: 'MB/s', note: `${(cli.ms / 1000).toFixed(1)} s incl. process start` });
    out.push({ name: 'CLI: iec104 analyze FILE --json > /dev/null', value: lib.apdus / (cli.ms / 1000), unit: 'APDU/s' });

    const probe = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
    if (probe.error || probe.status !== 0) {
      out.push({ name: 'tshark', value: 0, unit: 'MB/s', note: 'skipped: tshark is not installed' });
    } else {
      const ts = timeChild('tshark', ['-r', path, '-Y', 'iec60870_104', '-T', 'fields', '-e', 'frame.number', '-e', 'iec60870_asdu.typeid']);
      if (ts.status !== 0) throw new Error(`tshark failed (${ts.status}): ${ts.stderr.slice(0, 500)}`);
      const tsRate = sizeMb / (ts.ms / 1000);
      out.push({ name: 'tshark -Y iec60870_104 -T fields', value: tsRate, unit: 'MB/s', note: `${(ts.ms / 1000).toFixed(1)} s, ${probe.stdout.split('\n')[0].replace(/\s*\(.*$/, '')}` });
      out.push({ name: 'speed-up vs tshark: library', value: ts.ms / lib.ms, unit: 'x' });
      out.push({ name: 'speed-up vs tshark: CLI --json', value: ts.ms / cli.ms, unit: 'x' });
      out.push({ name: 'speed-up vs tshark: library decode only', value: ts.ms / dec.ms, unit: 'x' });
      out.push({ name: 'speed-up vs tshark: CLI --json --no-monitor', value: ts.ms / cliDec.ms, unit: 'x' });
    }
  } finally {
    rmSync(path, { force: true });
  }
  return out;
}

const isEntry = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isEntry) {
  for (const r of await run()) console.log(`${r.name.padEnd(48)} ${r.value.toFixed(2).padStart(12)} ${r.unit}${r.note ? `  (${r.note})` : ''}`);
}
