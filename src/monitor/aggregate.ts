/**
 * Alert aggregation: repeated alerts of one rule on one flow within a window become one record
 * with a count, first and last seen, and the first occurrence's evidence as the sample. An
 * analyst reads one line per finding instead of a thousand copies of it.
 */
import type { Alert, Severity } from './types.js';

/**
 * The record that closes a window in which an alert repeated: how many occurrences the window
 * held (the first was emitted as it was raised), when, and the first occurrence as the sample.
 */
export interface AlertAggregate {
  kind: 'alert-aggregate';
  rule: string;
  /** Highest severity among the occurrences. */
  severity: Severity;
  mitre?: string;
  /** Every technique of the first occurrence (`Alert.techniques`), when more than one. */
  techniques?: string[];
  /** The flow (`evidence.flow` of the alerts). */
  flow: string;
  src: string;
  dst: string;
  /** Occurrences in the window, the first included (≥ 2). */
  count: number;
  /** Capture time of the first and last occurrence, epoch ms. */
  firstSeen: number;
  lastSeen: number;
  firstFrame: number;
  lastFrame: number;
  /** The window, ms from the first occurrence. */
  windowMs: number;
  /** Message and evidence of the first occurrence (the sample). */
  message: string;
  evidence: Alert['evidence'];
}

/** What the aggregator emits: alerts as raised (first of their window) and window summaries. */
export type AlertRecord = Alert | AlertAggregate;

/** Options of {@link AlertAggregator}. */
export interface AggregateOptions {
  /** Window from the first occurrence, capture-time ms (default 60000). */
  windowMs?: number;
}

/** Default aggregation window (ms). */
export const DEFAULT_AGGREGATE_WINDOW_MS = 60000;

const RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2, critical: 3 };

interface Open {
  first: Alert;
  last: Alert;
  count: number;
  severity: Severity;
  end: number;
}

/**
 * Folds repeated alerts of one rule on one flow (the alert's `evidence.flow`) within a window.
 * The first occurrence is passed through at once (an analyst sees it when it happens, in capture
 * order); the repeats of its window are counted, not emitted; when the window closes (a later
 * alert is past its end, {@link AlertAggregator.advance}, or {@link AlertAggregator.flush}) and
 * it held more than one occurrence, one {@link AlertAggregate} record says how many, when, and
 * the highest severity. So each rule and flow gives at most one alert per window.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { AlertAggregator, makeAlert } from 'iec104';
 * const agg = new AlertAggregator({ windowMs: 1000 });
 * const o = { frame: 1, ts: 0, src: 'a:1', dst: 'b:2404', flow: '1' };
 * const now = agg.push([makeAlert(o, 'flood.gi', 'medium', 'x'), makeAlert({ ...o, frame: 2, ts: 10 }, 'flood.gi', 'medium', 'x')]);
 * assert.equal(now.length, 1);
 * const [r] = agg.flush();
 * assert.equal(r.kind === 'alert-aggregate' && r.count, 2);
 * ```
 */
export class AlertAggregator {
  readonly windowMs: number;
  /** Open windows by `rule|flow`, in the order they opened (Map keeps insertion order). */
  private readonly open = new Map<string, Open>();
  private nextEnd = Infinity;

  constructor(opts: AggregateOptions = {}) {
    this.windowMs = opts.windowMs ?? DEFAULT_AGGREGATE_WINDOW_MS;
    if (!(this.windowMs >= 0) || !Number.isFinite(this.windowMs)) throw new RangeError(`aggregation window must be a finite number of ms ≥ 0, got ${this.windowMs}`);
  }

  /** Windows still open. */
  get pending(): number {
    return this.open.size;
  }

  /** Add alerts (in capture order); returns what to emit now: summaries of closed windows and first occurrences. */
  push(alerts: readonly Alert[]): AlertRecord[] {
    const out: AlertRecord[] = [];
    for (const a of alerts) {
      if (a.ts > this.nextEnd) this.release(a.ts, out);
      const key = `${a.rule}|${String(a.evidence.flow ?? '')}`;
      const w = this.open.get(key);
      if (w !== undefined && a.ts <= w.end) {
        w.count++;
        w.last = a;
        if (RANK[a.severity] > RANK[w.severity]) w.severity = a.severity;
        continue;
      }
      if (w !== undefined) {
        this.open.delete(key);
        if (w.count > 1) out.push(summary(w, this.windowMs));
      }
      const end = a.ts + this.windowMs;
      this.open.set(key, { first: a, last: a, count: 1, severity: a.severity, end });
      if (end < this.nextEnd) this.nextEnd = end;
      out.push(a);
    }
    return out;
  }

  /** Summaries of the windows that ended before capture time `now` (for live use). */
  advance(now: number): AlertAggregate[] {
    const out: AlertRecord[] = [];
    if (now > this.nextEnd) this.release(now, out);
    return out as AlertAggregate[];
  }

  /** Summaries of every open window that held repeats (end of the capture). */
  flush(): AlertAggregate[] {
    const out: AlertAggregate[] = [];
    for (const w of this.open.values()) if (w.count > 1) out.push(summary(w, this.windowMs));
    this.open.clear();
    this.nextEnd = Infinity;
    return out;
  }

  private release(now: number, out: AlertRecord[]): void {
    let next = Infinity;
    for (const [k, w] of this.open) {
      if (w.end < now) {
        if (w.count > 1) out.push(summary(w, this.windowMs));
        this.open.delete(k);
      } else if (w.end < next) next = w.end;
    }
    this.nextEnd = next;
  }
}

function summary(w: Open, windowMs: number): AlertAggregate {
  const f = w.first;
  const r: AlertAggregate = {
    kind: 'alert-aggregate', rule: f.rule, severity: w.severity, flow: String(f.evidence.flow ?? ''), src: f.src, dst: f.dst,
    count: w.count, firstSeen: f.ts, lastSeen: w.last.ts, firstFrame: f.frame, lastFrame: w.last.frame, windowMs, message: f.message, evidence: f.evidence,
  };
  if (f.mitre) r.mitre = f.mitre;
  if (f.techniques) r.techniques = f.techniques;
  return r;
}
