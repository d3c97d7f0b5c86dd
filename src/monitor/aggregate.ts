/**
 * Alert aggregation: repeated alerts of one rule on one flow within a window become one record
 * with a count, first and last seen, and the first occurrence's evidence as the sample. An
 * analyst reads one line per finding instead of a thousand copies of it.
 */
import type { Alert, Severity } from './types.js';

/** Aggregation facts on an aggregated {@link Alert} record (present when `count` > 1). */
export interface AlertAggregate {
  /** Occurrences folded into this record (≥ 2). */
  count: number;
  /** Capture time of the first and last occurrence, epoch ms. */
  firstSeen: number;
  lastSeen: number;
  /** Frames of the first and last occurrence. */
  firstFrame: number;
  lastFrame: number;
  /** The window the occurrences fell in, ms (measured from the first occurrence). */
  windowMs: number;
}

/** An alert record as printed: an {@link Alert}, with `aggregate` when it stands for several occurrences. */
export type AlertRecord = Alert & { aggregate?: AlertAggregate };

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
 * Folds alerts of one rule on one flow (the `evidence.flow` of the alert) into one record per
 * window. The window opens at an occurrence and lasts `windowMs` of capture time; the record is
 * released when a later alert (of any rule or flow) is past the window's end, or by
 * {@link AlertAggregator.flush}. The record is the first occurrence (its frame, message and
 * evidence are the sample) with the highest severity seen and, when more than one occurrence
 * was folded, an `aggregate` field. Records come out in the order their windows opened.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { AlertAggregator, makeAlert } from 'iec104';
 * const agg = new AlertAggregator({ windowMs: 1000 });
 * const o = { frame: 1, ts: 0, src: 'a:1', dst: 'b:2404', flow: '1' };
 * assert.deepEqual(agg.push([makeAlert(o, 'flood.gi', 'medium', 'x'), makeAlert({ ...o, frame: 2, ts: 10 }, 'flood.gi', 'medium', 'x')]), []);
 * const [r] = agg.flush();
 * assert.equal(r.aggregate?.count, 2);
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

  /** Windows still open (records not yet released). */
  get pending(): number {
    return this.open.size;
  }

  /** Add alerts (in capture order); returns the records whose windows closed before them. */
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
        // (only reached when the window ended at the same time as nextEnd was not yet past)
        this.open.delete(key);
        out.push(record(w, this.windowMs));
      }
      const end = a.ts + this.windowMs;
      this.open.set(key, { first: a, last: a, count: 1, severity: a.severity, end });
      if (end < this.nextEnd) this.nextEnd = end;
    }
    return out;
  }

  /** Release the records whose windows ended before capture time `now` (for live use). */
  advance(now: number): AlertRecord[] {
    const out: AlertRecord[] = [];
    if (now > this.nextEnd) this.release(now, out);
    return out;
  }

  /** Release every open record (end of the capture). */
  flush(): AlertRecord[] {
    const out: AlertRecord[] = [];
    for (const w of this.open.values()) out.push(record(w, this.windowMs));
    this.open.clear();
    this.nextEnd = Infinity;
    return out;
  }

  private release(now: number, out: AlertRecord[]): void {
    let next = Infinity;
    for (const [k, w] of this.open) {
      if (w.end < now) {
        out.push(record(w, this.windowMs));
        this.open.delete(k);
      } else if (w.end < next) next = w.end;
    }
    this.nextEnd = next;
  }
}

function record(w: Open, windowMs: number): AlertRecord {
  const r: AlertRecord = { ...w.first, severity: w.severity };
  if (w.count > 1) r.aggregate = { count: w.count, firstSeen: w.first.ts, lastSeen: w.last.ts, firstFrame: w.first.frame, lastFrame: w.last.frame, windowMs };
  return r;
}

