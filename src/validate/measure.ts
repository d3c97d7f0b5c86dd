/**
 * `iec104 measure`: send a series of process commands and measure the station's answers: the
 * latency of ACT_CON and ACT_TERM, outcomes and timeouts, and (with a feedback point) the time
 * until the point's spontaneous report shows the commanded state.
 */
import type tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Asdu } from '../codec/asdu.js';
import { COT, cotShortName } from '../codec/cause.js';
import { typeName } from '../codec/type-table.js';
import { DEFAULT_LINK_PARAMETERS } from '../link/types.js';
import { type CommandKind, commandTypeFor } from '../codec/command.js';
import type { Clock } from '../clock.js';
import { buildAsdu, isMirrorOf, matchValue } from './asdu-tools.js';
import { delay, formatTarget, refClock, type Target, TestConnection } from './connection.js';

/** Command families `measure` can send. */
export type MeasureKind = Extract<CommandKind, 'single' | 'double' | 'setpoint-normalized' | 'setpoint-scaled' | 'setpoint-float'>;


/** Options of {@link measure}. */
export interface MeasureOptions {
  target: Target;
  ca: number;
  ioa: number;
  kind: MeasureKind;
  /**
   * `toggle` alternates ON/OFF (single, double) or `toggleValues` (set-points); otherwise the
   * value of every command (boolean for single, 'on'/'off' for double, a number for set-points).
   */
  value: 'toggle' | boolean | number | 'on' | 'off';
  /** Set-point values alternated by `toggle` (default [0, 1]). */
  toggleValues?: [number, number];
  /** Number of commands. */
  count: number;
  /** At most this many commands per second (default: the next one as soon as the previous ended). */
  rate?: number;
  /** Select before each execute. */
  select?: boolean;
  /** Send the time-tagged variant (58..63) with the current time. */
  timeTag?: boolean;
  /** Time allowed for ACT_CON (ms, default 5000). */
  timeout?: number;
  /** Wait for ACT_TERM after a positive ACT_CON (default true). */
  waitTerm?: boolean;
  /** Time allowed for ACT_TERM after ACT_CON (ms, default `timeout`). */
  termTimeout?: number;
  /** Watch this IOA for the commanded state (spontaneous, retrem or retloc report). */
  feedbackIoa?: number;
  /** Time allowed for the feedback after sending (ms, default `timeout`). */
  feedbackTimeout?: number;
  t0?: number;
  tls?: tls.ConnectionOptions;
  clock?: Clock;
  connect?: (host: string, port: number) => Duplex;
  now?: () => Date;
  /** Progress after each command. */
  onSample?: (s: MeasureSample) => void;
}

/** One command's measurements (times in ms from sending the execute). */
export interface MeasureSample {
  index: number;
  /** Sending time (ms from the start of the run). */
  at: number;
  value: boolean | number;
  outcome: 'positive' | 'negative' | 'timeout' | 'closed';
  /** Cause of a negative answer. */
  cause?: number;
  /** ACT_CON of the select, when selecting. */
  selectCon?: number;
  actCon?: number;
  actTerm?: number;
  /** ACT_TERM did not come in time after a positive ACT_CON. */
  actTermTimeout?: boolean;
  feedback?: number;
  feedbackTimeout?: boolean;
}

/** Summary of a latency series (ms). */
export interface LatencyStats {
  count: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** What {@link measure} found. */
export interface MeasureResult {
  target: string;
  ca: number;
  ioa: number;
  typeId: number;
  typeName: string;
  startedAt: string;
  durationMs: number;
  /** Commands attempted (one sample each; with `select`, a select and, when confirmed, an execute). */
  attempted: number;
  /** Executes sent. */
  sent: number;
  /** Selects sent (0 without `select`). */
  selects: number;
  /** Whether ACT_TERM was awaited after a positive ACT_CON (false with `waitTerm: false`). */
  waitTerm: boolean;
  /** Positive ACT_CONs whose ACT_TERM was awaited (the base of `actTermTimeouts`). */
  actTermAwaited: number;
  outcomes: { positive: number; negative: number; timeout: number; closed: number };
  actTermTimeouts: number;
  feedbackTimeouts: number;
  stats: { selectCon?: LatencyStats; actCon?: LatencyStats; actTerm?: LatencyStats; feedback?: LatencyStats };
  samples: MeasureSample[];
  /** Why the run stopped early (connection failure or loss). */
  error?: string;
}

/** Nearest-rank percentile of sorted values. */
function pct(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

const r2 = (x: number): number => Math.round(x * 100) / 100;

/** Statistics of a series, or undefined when empty. */
export function latencyStats(values: number[]): LatencyStats | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  return { count: s.length, min: r2(s[0]), p50: r2(pct(s, 50)), p90: r2(pct(s, 90)), p99: r2(pct(s, 99)), max: r2(s[s.length - 1]), mean: r2(s.reduce((a, b) => a + b, 0) / s.length) };
}

function commandValue(o: MeasureOptions, i: number): boolean | number {
  const even = i % 2 === 0;
  if (o.value === 'toggle') {
    if (o.kind === 'single') return even;
    if (o.kind === 'double') return even ? 2 : 1;
    const [a, b] = o.toggleValues ?? [0, 1];
    return even ? a : b;
  }
  if (o.kind === 'single') return o.value === true || o.value === 'on' || o.value === 1;
  if (o.kind === 'double') return o.value === true || o.value === 'on' || o.value === 2 ? 2 : 1;
  return Number(o.value);
}

/** Run the measurement. Connection problems end the run early (`error`); they do not throw. */
export async function measure(o: MeasureOptions): Promise<MeasureResult> {
  const clock = o.clock ?? refClock;
  const now = o.now ?? (() => new Date());
  const timeout = o.timeout ?? 5000;
  const termTimeout = o.termTimeout ?? timeout;
  const fbTimeout = o.feedbackTimeout ?? timeout;
  const typeId = commandTypeFor(o.kind, o.timeTag === true);
  const res: MeasureResult = {
    target: formatTarget(o.target), ca: o.ca, ioa: o.ioa, typeId, typeName: typeName(typeId), startedAt: now().toISOString(), durationMs: 0,
    attempted: 0, sent: 0, selects: 0, waitTerm: o.waitTerm ?? true, actTermAwaited: 0,
    outcomes: { positive: 0, negative: 0, timeout: 0, closed: 0 }, actTermTimeouts: 0, feedbackTimeouts: 0, stats: {}, samples: [],
  };
  const start = clock.now();
  let conn: TestConnection;
  try {
    conn = await TestConnection.connect(o.target, { clock, t0: o.t0 ?? 10_000, tls: o.tls, connect: o.connect, w: DEFAULT_LINK_PARAMETERS.w, t2: 500 });
  } catch (e) {
    res.error = `cannot connect: ${e instanceof Error ? e.message : String(e)}`;
    return res;
  }
  try {
    if (!(await conn.startdt(timeout))) {
      res.error = conn.closed ? 'the station closed the connection instead of confirming STARTDT' : `no STARTDT con within ${timeout} ms`;
      return res;
    }
    const runStart = clock.now();
    const mk = (value: boolean | number, select: boolean): Asdu => {
      const v = o.kind === 'double' ? (value === 2 ? 'on' : 'off') : value;
      return buildAsdu({ type: typeId, ca: o.ca, ioa: o.ioa, value: v, select, ...(o.timeTag ? { time: now() } : {}) }, now);
    };
    const answer = (sent: Asdu, ms: number) => conn.takeAsdu((a) => isMirrorOf(a, sent) && (a.cot === COT.ACTIVATION_CON || a.negative || a.cot >= 44), ms);
    for (let i = 0; i < o.count; i++) {
      if (o.rate && o.rate > 0) {
        const due = runStart + (i * 1000) / o.rate;
        if (due > clock.now()) await delay(clock, due - clock.now());
      }
      if (conn.closed) break;
      conn.inbox.length = 0;
      const value = commandValue(o, i);
      const sample: MeasureSample = { index: i, at: r2(clock.now() - runStart), value, outcome: 'timeout' };
      res.samples.push(sample);
      if (o.select) {
        const sel = mk(value, true);
        const ts = clock.now();
        conn.sendAsdu(sel);
        res.selects++;
        const c = await answer(sel, timeout);
        if (!c) {
          sample.outcome = conn.closed ? 'closed' : 'timeout';
          continue;
        }
        sample.selectCon = r2(c.at - ts);
        if (c.asdu.negative || c.asdu.cot !== COT.ACTIVATION_CON) {
          sample.outcome = 'negative';
          sample.cause = c.asdu.cot;
          continue;
        }
      }
      const cmd = mk(value, false);
      const t = clock.now();
      sample.at = r2(t - runStart);
      const expect = o.kind === 'single' ? value === true : o.kind === 'double' ? (value === 2 ? 'on' : 'off') : undefined;
      const stopFb = new AbortController();
      const fb = o.feedbackIoa === undefined
        ? undefined
        : conn.takeAsdu((a) => (a.cot === COT.SPONTANEOUS || a.cot === COT.RETURN_REMOTE || a.cot === COT.RETURN_LOCAL) && a.objects.some((x) => x.ioa === o.feedbackIoa && (expect === undefined || matchValue(x.value, expect))), fbTimeout, stopFb.signal);
      conn.sendAsdu(cmd);
      res.sent++;
      const c = await answer(cmd, timeout);
      if (!c) sample.outcome = conn.closed ? 'closed' : 'timeout';
      else {
        sample.actCon = r2(c.at - t);
        if (c.asdu.negative || c.asdu.cot !== COT.ACTIVATION_CON) {
          sample.outcome = 'negative';
          sample.cause = c.asdu.cot;
        } else {
          sample.outcome = 'positive';
          if (o.waitTerm ?? true) {
            res.actTermAwaited++;
            const term = await conn.takeAsdu((a) => isMirrorOf(a, cmd) && a.cot === COT.ACTIVATION_TERMINATION, termTimeout);
            if (term) sample.actTerm = r2(term.at - t);
            else sample.actTermTimeout = true;
          }
        }
      }
      if (fb) {
        if (sample.outcome !== 'positive') stopFb.abort();
        const f = await fb;
        if (f) sample.feedback = r2(f.at - t);
        else if (sample.outcome === 'positive') sample.feedbackTimeout = true;
      }
      o.onSample?.(sample);
    }
    if (!conn.closed) await conn.stopdt(Math.min(timeout, 2000));
  } finally {
    conn.close(200);
    res.attempted = res.samples.length;
    for (const s of res.samples) {
      res.outcomes[s.outcome]++;
      if (s.actTermTimeout) res.actTermTimeouts++;
      if (s.feedbackTimeout) res.feedbackTimeouts++;
    }
    const series = (k: 'selectCon' | 'actCon' | 'actTerm' | 'feedback'): number[] => res.samples.flatMap((s) => (s[k] === undefined ? [] : [s[k] as number]));
    for (const k of ['selectCon', 'actCon', 'actTerm', 'feedback'] as const) {
      const st = latencyStats(series(k));
      if (st) res.stats[k] = st;
    }
    if (conn.closed?.by === 'peer' && res.samples.length < o.count) res.error = `the station closed the connection after ${res.samples.length} command(s)`;
    res.durationMs = r2(clock.now() - start);
  }
  return res;
}

/** `N command(s)` with, when selecting, how many selects and executes left. */
export function commandCount(r: MeasureResult): string {
  const n = `${r.attempted} command(s)`;
  return r.selects > 0 ? `${n} (${r.selects} select(s), ${r.sent} execute(s))` : n;
}

/** The ACT_TERM part of the outcome line: missing of awaited, or why none was awaited ('' when nothing to say). */
export function actTermSummary(r: MeasureResult): string {
  if (!r.waitTerm) return 'ACT_TERM not awaited';
  if (r.actTermAwaited === 0) return '';
  return `ACT_TERM missing ${r.actTermTimeouts} of ${r.actTermAwaited}`;
}

/** The measurement as text. */
export function formatMeasure(r: MeasureResult): string {
  const lines = [`measure ${r.target}: ${r.typeName} CA ${r.ca} IOA ${r.ioa}, ${commandCount(r)} in ${(r.durationMs / 1000).toFixed(1)} s`];
  const o = r.outcomes;
  const term = actTermSummary(r);
  lines.push(`outcomes: ${o.positive} positive, ${o.negative} negative, ${o.timeout} timeout${o.closed ? `, ${o.closed} connection lost` : ''}${term ? `; ${term}` : ''}${r.stats.feedback || r.feedbackTimeouts ? `; feedback missing ${r.feedbackTimeouts}` : ''}`);
  const neg = r.samples.filter((s) => s.outcome === 'negative' && s.cause !== undefined);
  if (neg.length) {
    const by = new Map<number, number>();
    for (const s of neg) by.set(s.cause!, (by.get(s.cause!) ?? 0) + 1);
    lines.push(`negative causes: ${[...by].map(([c, n]) => `${n}x ${cotShortName(c)} (${c})`).join(', ')}`);
  }
  const f = (n: number): string => n.toFixed(2).padStart(9);
  lines.push(`latency (ms)       count       min       p50       p90       p99       max      mean`);
  const names: Array<[keyof MeasureResult['stats'], string]> = [['selectCon', 'select ACT_CON'], ['actCon', 'ACT_CON'], ['actTerm', 'ACT_TERM'], ['feedback', 'feedback']];
  for (const [k, label] of names) {
    const s = r.stats[k];
    if (s) lines.push(`${label.padEnd(16)} ${String(s.count).padStart(7)} ${f(s.min)} ${f(s.p50)} ${f(s.p90)} ${f(s.p99)} ${f(s.max)} ${f(s.mean)}`);
  }
  if (r.error) lines.push(`stopped: ${r.error}`);
  return lines.join('\n');
}
