/**
 * Command path benchmarks: how long a C_SC_NA_1 (direct execute, ACT → ACT_CON) takes through our
 * controlled station.
 *
 * - always: our master → our station (`createStation`, in this process) over 127.0.0.1, sequential
 *   commands resolved at ACT_CON, p50/p99;
 * - opt-in, when `IEC104_LIB60870_PROBES` names the folder of the lib60870 probes and the process
 *   may create network namespaces (root, `ip`): the reference C stack's client probe `rtt_client`
 *   against our station (`iec104 serve`, a child process) and against lib60870's own station
 *   (`tp_server`, answering C_SC_NA_1 at CA 1 IOA 5000 at once), each station in a network
 *   namespace of its own (both bind 2404), the probe run in the station's namespace. The runs
 *   alternate (ours, C, C, ours, ...) for several repetitions so that both see the same machine
 *   load; the figure is the ratio of the medians of the per-run p50 (and p99).
 *
 * Run alone: `node --import tsx bench/command.bench.ts`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ControllingStation } from '../src/master/master.js';
import { tcpConnector } from '../src/master/tcp.js';
import { createStation } from '../src/station/station.js';
import type { BenchResult } from './types.js';

/** Shown by bench/run.ts above the table. */
export const description =
  'C_SC_NA_1 round trips (ACT → ACT_CON, one at a time) through our station: from our master in the same process, and (opt-in, IEC104_LIB60870_PROBES set, root) from the ' +
  "reference C stack's client probe rtt_client against `iec104 serve` and against lib60870's own station (tp_server), each in its own network namespace, runs interleaved; " +
  'the ratio is median(our p50) / median(C p50) over the runs.';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** `n` sequential single commands from our master to our station (direct execute, ACT_CON): round trips in µs. */
export async function masterToStation(n: number): Promise<number[]> {
  const station = createStation({ commands: [{ ca: 1, ioa: 5000, type: 45, mode: 'direct' }], endOfInitialization: 'none', cyclicPeriodMs: 0 });
  const { port } = await station.listen({ host: '127.0.0.1', port: 0 });
  const master = new ControllingStation({ connector: tcpConnector('127.0.0.1', port), reconnect: false });
  await master.connect();
  const rtts: number[] = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await master.single(1, 5000, (i & 1) === 0);
    rtts[i] = (performance.now() - t0) * 1000;
  }
  await master.close();
  await station.close();
  return rtts;
}

// ------------------------------------------------------------------------------------------------
// the reference C stack's probe (opt-in)

/** One `rtt_client` run's figures in µs. */
export interface ProbeRun {
  p50: number;
  p90: number;
  p99: number;
  mean: number;
}

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { stdio: 'pipe' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.toString().trim() || `exit ${r.status}`}`);
}

function makeNetns(name: string): void {
  spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  sh('ip', ['netns', 'add', name]);
  sh('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
}

/** Start `cmd` in namespace `ns`, its output to `log` (a pipe nobody reads would stall it once full). */
function startIn(ns: string, cmd: string, args: string[], log: string): ChildProcess {
  const fd = openSync(log, 'w');
  const p = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  return p;
}

async function waitListening(ns: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = spawnSync('ip', ['netns', 'exec', ns, 'bash', '-c', 'exec 3<>/dev/tcp/127.0.0.1/2404'], { stdio: 'ignore' });
    if (r.status === 0) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:2404 in ${ns}`);
    await new Promise((r2) => setTimeout(r2, 200));
  }
}

function probe(rttClient: string, ns: string, count: number): ProbeRun {
  const r = spawnSync('ip', ['netns', 'exec', ns, rttClient, '127.0.0.1', '2404', String(count)], { encoding: 'utf8', timeout: 120_000 });
  const m = /p50 ([\d.]+) us\s+p90 ([\d.]+) us\s+p99 ([\d.]+) us.*mean ([\d.]+) us/.exec(r.stdout);
  if (r.status !== 0 || !m) throw new Error(`rtt_client in ${ns}: exit ${r.status}: ${r.stderr}${r.stdout}`);
  return { p50: Number(m[1]), p90: Number(m[2]), p99: Number(m[3]), mean: Number(m[4]) };
}

/** Options of {@link probeComparison}. */
export interface ProbeComparisonOptions {
  /** Folder of `rtt_client` and `tp_server`. */
  probes: string;
  /** Runs of each (alternating). Default 6. */
  repetitions?: number;
  /** Commands per run (after the probe's 200 warm-ups). Default 5 000. */
  count?: number;
  /** Extra `iec104 serve` arguments (e.g. `--log-level warn`). */
  serveArgs?: string[];
  /** Node flags for our station (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  /** Checkout whose `src/cli/main.ts` runs our station (default: this one; another for A/B runs). */
  root?: string;
}

/** rtt_client against our station and against tp_server, interleaved: the runs of each. */
export async function probeComparison(o: ProbeComparisonOptions): Promise<{ ours: ProbeRun[]; c: ProbeRun[] }> {
  const rttClient = join(o.probes, 'rtt_client');
  const tpServer = join(o.probes, 'tp_server');
  const reps = o.repetitions ?? 6;
  const count = o.count ?? 5_000;
  const tag = `i104b${process.pid}`;
  const nsOurs = `${tag}o`;
  const nsC = `${tag}c`;
  const dir = mkdtempSync(join(tmpdir(), 'iec104-cmd-bench-'));
  const config = join(dir, 'station.yaml');
  writeFileSync(config, [
    'station: { endOfInitialization: none, cyclicPeriodMs: 0, backgroundPeriodMs: 0 }',
    'listen: { host: 127.0.0.1, port: 2404 }',
    'commands:',
    '  - { ca: 1, ioa: 5000, type: C_SC_NA_1, mode: direct, behaviour: { result: accept } }',
    '',
  ].join('\n'));
  const procs: ChildProcess[] = [];
  try {
    makeNetns(nsOurs);
    makeNetns(nsC);
    procs.push(startIn(nsOurs, process.execPath, [...(o.nodeArgs ?? []), '--import', 'tsx', join(o.root ?? root, 'src', 'cli', 'main.ts'), 'serve', config, '--log-format', 'json', ...(o.serveArgs ?? [])], join(dir, 'ours.log')));
    await waitListening(nsOurs);
    probe(rttClient, nsOurs, count); // warm-up of our station (JIT), not counted
    // tp_server is one-shot (it exits when the connection that started data transfer closes)
    const cRun = async (): Promise<ProbeRun> => {
      const tp = startIn(nsC, tpServer, ['2404', '12', '8', '13', '0'], join(dir, 'c.log'));
      procs.push(tp);
      await waitListening(nsC);
      const r = probe(rttClient, nsC, count);
      if (tp.exitCode === null) await new Promise((res) => tp.once('exit', res));
      return r;
    };
    const ours: ProbeRun[] = [];
    const c: ProbeRun[] = [];
    for (let i = 0; i < reps; i++) {
      // ABBA order: neither side always runs first
      if (i % 2 === 0) {
        ours.push(probe(rttClient, nsOurs, count));
        c.push(await cRun());
      } else {
        c.push(await cRun());
        ours.push(probe(rttClient, nsOurs, count));
      }
    }
    return { ours, c };
  } finally {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 1500));
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    spawnSync('ip', ['netns', 'del', nsOurs], { stdio: 'ignore' });
    spawnSync('ip', ['netns', 'del', nsC], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  }
}

function probeAvailable(): string | undefined {
  const probes = process.env.IEC104_LIB60870_PROBES;
  if (!probes || !existsSync(join(probes, 'rtt_client')) || !existsSync(join(probes, 'tp_server'))) return undefined;
  if (process.getuid?.() !== 0) return undefined;
  return probes;
}

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  await masterToStation(2_000);
  const all: number[] = [];
  for (let b = 0; b < 5; b++) all.push(...(await masterToStation(2_000)));
  all.sort((a, b) => a - b);
  for (const p of [50, 99]) results.push({ name: `our master -> our station C_SC_NA_1 p${p}`, value: percentile(all, p), unit: 'µs', note: `${all.length} sequential, resolved at ACT_CON, one process` });

  const probes = probeAvailable();
  if (probes === undefined) {
    results.push({ name: 'rtt_client (lib60870) -> our station / -> lib60870 station', value: 0, unit: '-', note: 'skipped: set IEC104_LIB60870_PROBES (and run as root for network namespaces)' });
    return results;
  }
  const reps = 6;
  const { ours, c } = await probeComparison({ probes, repetitions: reps });
  for (const k of ['p50', 'p99'] as const) {
    const mo = median(ours.map((r) => r[k]));
    const mc = median(c.map((r) => r[k]));
    results.push({ name: `rtt_client -> iec104 serve C_SC_NA_1 ${k}`, value: mo, unit: 'µs', note: `median of ${reps} runs of 5,000; runs: ${ours.map((r) => r[k].toFixed(0)).join(' ')}` });
    results.push({ name: `rtt_client -> lib60870 tp_server C_SC_NA_1 ${k}`, value: mc, unit: 'µs', note: `median of ${reps} runs of 5,000; runs: ${c.map((r) => r[k].toFixed(0)).join(' ')}` });
    results.push({ name: `ratio ours / lib60870 ${k}`, value: mo / mc, unit: 'x', note: `per-run ratios: ${ours.map((r, i) => (r[k] / c[i][k]).toFixed(2)).join(' ')}; target <= 1.0 (p50)` });
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await run()) console.log(`${r.name.padEnd(56)} ${String(Math.round(r.value * 100) / 100).padStart(10)} ${r.unit}${r.note ? `  (${r.note})` : ''}`);
}
