/**
 * Capture analysis speed: a generated capture of many IEC 104 flows (default ~200 MB, set
 * `IEC104_BENCH_CAPTURE_MB`), analysed (a) in-process with `CaptureAnalyzer` alone and with the
 * `Detector`, and (b) by `iec104 analyze FILE` (default text output, `--json`, `--json --no-monitor`)
 * `> /dev/null` as child processes, each with MB/s, APDU/s and the ratio to
 * `tshark -r FILE -Y iec60870_104 -T fields -e frame.number -e iec60870_asdu.typeid` in the same
 * run (skipped when tshark is not installed). Memory: RSS at 1/4, 1/2 and the whole file.
 *
 * Run alone: `node --import tsx bench/capture.bench.ts`.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, createReadStream, existsSync, openSync, rmSync, statSync } from 'node:fs';
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
  'Library = CaptureAnalyzer alone and with the Detector (all rules) in-process; CLI = `iec104 analyze FILE [--json] > /dev/null` (detector on unless --no-monitor, every APDU line / object and alert written); tshark = `tshark -r FILE -Y iec60870_104 -T fields -e frame.number -e iec60870_asdu.typeid > /dev/null`, same file, same run.';

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

    // tshark first: its rate is the reference of every ratio below
    let tsMs: number | undefined;
    const probe = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
    if (probe.error || probe.status !== 0) {
      out.push({ name: 'tshark -Y iec60870_104 -T fields', value: 0, unit: 'MB/s', note: 'skipped: tshark is not installed' });
    } else {
      const ts = timeChild('tshark', ['-r', path, '-Y', 'iec60870_104', '-T', 'fields', '-e', 'frame.number', '-e', 'iec60870_asdu.typeid']);
      if (ts.status !== 0) throw new Error(`tshark failed (${ts.status}): ${ts.stderr.slice(0, 500)}`);
      tsMs = ts.ms;
      out.push({ name: 'tshark -Y iec60870_104 -T fields', value: sizeMb / (ts.ms / 1000), unit: 'MB/s', note: `${(ts.ms / 1000).toFixed(1)} s, ${probe.stdout.split('\n')[0].replace(/\s*\(.*$/, '')}` });
    }
    const rows = (name: string, ms: number, apdus: number, note: string): void => {
      out.push({ name, value: sizeMb / (ms / 1000), unit: 'MB/s', note: `${(ms / 1000).toFixed(2)} s${note ? ', ' + note : ''}` });
      out.push({ name, value: apdus / (ms / 1000), unit: 'APDU/s' });
      if (tsMs !== undefined) out.push({ name, value: tsMs / ms, unit: 'x tshark' });
    };

    const dec = await library(path, size, true);
    rows('library: CaptureAnalyzer only', dec.ms, dec.apdus, '');
    const lib = await library(path, size);
    rows('library: CaptureAnalyzer + Detector', lib.ms, lib.apdus, `${lib.alerts} alerts`);
    const [q, h, f] = lib.rss.map((x) => x / 2 ** 20);
    out.push({ name: 'library: RSS at 1/4, 1/2, whole file', value: f, unit: 'MiB', note: `${q.toFixed(0)} / ${h.toFixed(0)} / ${f.toFixed(0)} MiB` });

    const cliRuns: Array<[string, string[]]> = [
      ['CLI: iec104 analyze FILE > /dev/null (default: lines + summary, monitor on)', []],
      ['CLI: iec104 analyze FILE --json > /dev/null', ['--json']],
      ['CLI: iec104 analyze FILE --json --no-monitor > /dev/null', ['--json', '--no-monitor']],
    ];
    const launcher = existsSync(join(root, 'dist', 'src', 'cli', 'main.js')) ? 'dist' : 'tsx (no dist/: includes TypeScript loading)';
    for (const [name, args] of cliRuns) {
      const r = timeChild(process.execPath, [join(root, 'bin', 'iec104.js'), 'analyze', path, ...args]);
      if (r.status !== 0) throw new Error(`iec104 analyze failed (${r.status}): ${r.stderr.slice(0, 500)}`);
      rows(name, r.ms, lib.apdus, `incl. process start, ${launcher}`);
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
