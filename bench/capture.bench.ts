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
import { closeSync, createReadStream, existsSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
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
  'Library = CaptureAnalyzer alone and with the Detector (all rules) in-process, one thread; CLI = `iec104 analyze FILE [options] > /dev/null` as a child process (detector on unless --no-monitor; every APDU line / object and alert written; `--threads auto` runs the detector on a second thread for files of 8 MB and more), wall time with the CPU time of the process in brackets. ' +
  'References, same file, same run: A = `tshark -r FILE -Y iec60870_104 > /dev/null` (the default one-line output, no protocol tree), B = `tshark -r FILE -Y iec60870_104 -T fields -e frame.number -e iec60870_asdu.typeid > /dev/null` (needs the tree).';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** CPU time (user + system, ms) of the finished children of this process, from /proc (Linux); undefined elsewhere. */
function childCpuMs(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields 16 and 17 of stat(5) (cutime, cstime), counted from field 3 at index 0
    return ((Number(f[13]) + Number(f[14])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

function timeChild(cmd: string, args: string[]): { ms: number; cpuMs: number | undefined; status: number | null; stderr: string } {
  const devnull = openSync('/dev/null', 'w');
  try {
    const c0 = childCpuMs();
    const t0 = performance.now();
    const r = spawnSync(cmd, args, { stdio: ['ignore', devnull, 'pipe'], encoding: 'utf8', maxBuffer: 64 << 20 });
    const ms = performance.now() - t0;
    const c1 = childCpuMs();
    return { ms, cpuMs: c0 === undefined || c1 === undefined ? undefined : c1 - c0, status: r.status, stderr: r.error ? String(r.error) : r.stderr };
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

    // tshark first: its rates are the references of the ratios below. `-Y iec60870_104` with the
    // default one-line output is the command of the issue (and the faster of the two: no protocol
    // tree); `-T fields` needs the tree and is about twice as slow.
    let tsMs: number | undefined;
    let tsFieldsMs: number | undefined;
    const probe = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
    if (probe.error || probe.status !== 0) {
      out.push({ name: 'tshark -Y iec60870_104', value: 0, unit: 'MB/s', note: 'skipped: tshark is not installed' });
    } else {
      const version = probe.stdout.split('\n')[0].replace(/\s*\(.*$/, '');
      const ts = timeChild('tshark', ['-r', path, '-Y', 'iec60870_104']);
      if (ts.status !== 0) throw new Error(`tshark failed (${ts.status}): ${ts.stderr.slice(0, 500)}`);
      tsMs = ts.ms;
      out.push({ name: 'tshark -Y iec60870_104 (reference A)', value: sizeMb / (ts.ms / 1000), unit: 'MB/s', note: `${(ts.ms / 1000).toFixed(1)} s, ${version}, one summary line per packet` });
      const tf = timeChild('tshark', ['-r', path, '-Y', 'iec60870_104', '-T', 'fields', '-e', 'frame.number', '-e', 'iec60870_asdu.typeid']);
      if (tf.status !== 0) throw new Error(`tshark failed (${tf.status}): ${tf.stderr.slice(0, 500)}`);
      tsFieldsMs = tf.ms;
      out.push({ name: 'tshark -Y iec60870_104 -T fields (reference B)', value: sizeMb / (tf.ms / 1000), unit: 'MB/s', note: `${(tf.ms / 1000).toFixed(1)} s, frame.number and typeid` });
    }
    const rows = (name: string, ms: number, apdus: number, note: string, cpuMs?: number): void => {
      out.push({ name, value: sizeMb / (ms / 1000), unit: 'MB/s', note: `${(ms / 1000).toFixed(2)} s${cpuMs !== undefined ? ` (CPU ${(cpuMs / 1000).toFixed(2)} s)` : ''}${note ? ', ' + note : ''}` });
      out.push({ name, value: apdus / (ms / 1000), unit: 'APDU/s' });
      if (tsMs !== undefined) out.push({ name, value: tsMs / ms, unit: 'x tshark A' });
      if (tsFieldsMs !== undefined) out.push({ name, value: tsFieldsMs / ms, unit: 'x tshark B' });
    };

    const dec = await library(path, size, true);
    rows('library: CaptureAnalyzer only', dec.ms, dec.apdus, '');
    const lib = await library(path, size);
    rows('library: CaptureAnalyzer + Detector', lib.ms, lib.apdus, `${lib.alerts} alerts`);
    const [q, h, f] = lib.rss.map((x) => x / 2 ** 20);
    out.push({ name: 'library: RSS at 1/4, 1/2, whole file', value: f, unit: 'MiB', note: `${q.toFixed(0)} / ${h.toFixed(0)} / ${f.toFixed(0)} MiB` });

    const cliRuns: Array<[string, string[]]> = [
      ['CLI: iec104 analyze FILE (default: lines + summary, monitor on, --threads auto = 2)', []],
      ['CLI: iec104 analyze FILE --threads 1', ['--threads', '1']],
      ['CLI: iec104 analyze FILE --no-monitor (lines + summary)', ['--no-monitor']],
      ['CLI: iec104 analyze FILE --alerts (alerts only, monitor on)', ['--alerts']],
      ['CLI: iec104 analyze FILE --json', ['--json']],
      ['CLI: iec104 analyze FILE --json --threads 1', ['--json', '--threads', '1']],
      ['CLI: iec104 analyze FILE --json --no-monitor', ['--json', '--no-monitor']],
    ];
    const launcher = existsSync(join(root, 'dist', 'cli', 'main.js')) ? 'dist' : 'tsx (no dist/: includes TypeScript loading)';
    for (const [name, args] of cliRuns) {
      const r = timeChild(process.execPath, [join(root, 'bin', 'iec104.js'), 'analyze', path, ...args]);
      if (r.status !== 0) throw new Error(`iec104 analyze failed (${r.status}): ${r.stderr.slice(0, 500)}`);
      rows(name, r.ms, lib.apdus, `incl. process start, ${launcher}`, r.cpuMs);
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
