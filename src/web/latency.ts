/**
 * Command latency for the workbench's plots: the command rows grouped per command type and per
 * type and point, each with the ACT_CON and ACT_TERM statistics of the validate tools
 * (`latencyStats`), a histogram on round bin edges (`niceTicks`, as `iec104 measure` draws) and the
 * samples for the trend plot. What `GET /api/latency` returns and the page draws.
 */
import { latencyStats, type LatencyStats } from '../validate/measure.js';
import { niceTicks } from '../validate/plot.js';
import type { CommandRow } from './model.js';

/** Bins of a latency histogram: `bins` bins of `width` ms from 0; a value v falls in bin floor(v / width) (the last bin takes the rest). */
export interface LatencyHistogram {
  /** Bin width, ms. */
  width: number;
  /** Commands per bin, ACT_CON latency. */
  actCon: number[];
  /** Commands per bin, ACT_TERM latency. */
  actTerm: number[];
}

/** One sample of the trend plot: a command with its latencies. */
export interface LatencySample {
  /** Id of the command row. */
  id: number;
  /** When it was issued, epoch ms. */
  ts: number;
  actConMs?: number;
  actTermMs?: number;
  outcome: string;
}

/** Latency of one command type (`point` absent) or of one type at one point. */
export interface LatencyGroup {
  /** `C_DC_NA_1` for the type, `C_DC_NA_1 1:5031` for the type at CA 1 IOA 5031. */
  key: string;
  type: string;
  typeId: number;
  /** CA and IOA, for a group of one point. */
  point?: { ca: number; ioa: number };
  /** Commands in the group (with or without a latency). */
  count: number;
  actCon?: LatencyStats;
  actTerm?: LatencyStats;
  histogram: LatencyHistogram;
  /** The commands in issue order (the most recent `maxSamples`). */
  samples: LatencySample[];
}

/** What `GET /api/latency` answers. */
export interface LatencyAnswer {
  groups: LatencyGroup[];
}

const BINS = 20;

/** Histogram of both series on common round edges. */
export function latencyHistogram(actCon: number[], actTerm: number[], bins = BINS): LatencyHistogram {
  const max = Math.max(0, ...actCon, ...actTerm);
  const ticks = niceTicks(0, max > 0 ? max * 1.02 : 1, 8);
  const width = (ticks[ticks.length - 1] || 1) / bins;
  const count = (xs: number[]): number[] => {
    const c = new Array<number>(bins).fill(0);
    for (const v of xs) c[Math.min(bins - 1, Math.max(0, Math.floor(v / width)))]++;
    return c;
  };
  return { width, actCon: count(actCon), actTerm: count(actTerm) };
}

/** Group command rows per type and per type and point (groups with at least one command). */
export function latencyGroups(rows: readonly CommandRow[], maxSamples = 500): LatencyAnswer {
  const groups = new Map<string, { type: string; typeId: number; point?: { ca: number; ioa: number }; rows: CommandRow[] }>();
  const add = (key: string, r: CommandRow, point?: { ca: number; ioa: number }): void => {
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { type: r.type, typeId: r.typeId, ...(point ? { point } : {}), rows: [] }));
    g.rows.push(r);
  };
  for (const r of rows) {
    add(r.type, r);
    add(`${r.type} ${r.ca}:${r.ioa}`, r, { ca: r.ca, ioa: r.ioa });
  }
  const out: LatencyGroup[] = [];
  for (const [key, g] of groups) {
    const con = g.rows.flatMap((r) => (r.actConMs === undefined ? [] : [r.actConMs]));
    const term = g.rows.flatMap((r) => (r.actTermMs === undefined ? [] : [r.actTermMs]));
    const a = latencyStats(con);
    const t = latencyStats(term);
    out.push({
      key, type: g.type, typeId: g.typeId, ...(g.point ? { point: g.point } : {}), count: g.rows.length, ...(a ? { actCon: a } : {}), ...(t ? { actTerm: t } : {}),
      histogram: latencyHistogram(con, term),
      samples: g.rows.slice(-maxSamples).map((r) => ({
        id: r.id, ts: r.ts, outcome: r.outcome, ...(r.actConMs !== undefined ? { actConMs: r.actConMs } : {}), ...(r.actTermMs !== undefined ? { actTermMs: r.actTermMs } : {}),
      })),
    });
  }
  out.sort((x, y) => x.key.localeCompare(y.key, undefined, { numeric: true }));
  return { groups: out };
}
