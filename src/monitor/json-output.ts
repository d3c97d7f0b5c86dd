/**
 * JSON forms of the monitor's records for line-oriented output (`iec104 analyze --json`,
 * `--alerts`, `--commands`, `--inventory`): times as ISO 8601 UTC text with microseconds, the same
 * form as the `ts` of the APDU records, instead of the epoch milliseconds the library objects
 * carry (which stay numbers: they are compared and subtracted).
 */
import type { CommandRecord } from './commands.js';
import type { InventorySummary, IoaSummary, MasterSummary, StationSummary } from './inventory.js';
import type { AlertAggregate } from './aggregate.js';
import type { Alert } from './types.js';

/**
 * ISO 8601 UTC text of a capture time in epoch milliseconds, to the microsecond:
 * `1372918997528.631` → `2013-07-04T06:23:17.528631Z` (the `ts` text of the APDU record of the
 * same frame in a microsecond capture). Times outside `Date`'s range give `epoch+<ms>ms`.
 */
export function isoFromEpochMs(ms: number): string {
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return `epoch+${ms}ms`;
  const us = Math.round(ms * 1000);
  const sec = Math.floor(us / 1e6);
  const frac = us - sec * 1e6;
  return `${new Date(sec * 1000).toISOString().slice(0, 19)}.${String(1e6 + frac).slice(1)}Z`;
}

/** An {@link Alert} with its time as ISO text. */
export type AlertJson = Omit<Alert, 'ts'> & { ts: string };
/** An {@link AlertAggregate} with its times as ISO text. */
export type AlertAggregateJson = Omit<AlertAggregate, 'firstSeen' | 'lastSeen'> & { firstSeen: string; lastSeen: string };
/** A {@link CommandRecord} with its time as ISO text (latencies stay milliseconds). */
export type CommandJson = Omit<CommandRecord, 'ts'> & { kind: 'command'; ts: string };

type Timed<T> = Omit<T, 'firstSeen' | 'lastSeen'> & { firstSeen: string; lastSeen: string };
/** An {@link InventorySummary} with every time as ISO text. */
export type InventoryJson = Omit<InventorySummary, 'start' | 'end' | 'stations' | 'masters'> & {
  start: string | null;
  end: string | null;
  stations: Array<Omit<Timed<StationSummary>, 'ioas'> & { ioas: Array<Timed<IoaSummary>> }>;
  masters: Array<Timed<MasterSummary>>;
};

/** JSON form of an alert (`{"kind":"alert",...,"ts":"2013-07-04T06:23:17.528631Z",...}`). */
export function alertJson(a: Alert): AlertJson {
  return { ...a, ts: isoFromEpochMs(a.ts) };
}

/** JSON form of an aggregation record (`{"kind":"alert-aggregate",...,"count":37,"firstSeen":"…Z",...}`). */
export function alertAggregateJson(a: AlertAggregate): AlertAggregateJson {
  return { ...a, firstSeen: isoFromEpochMs(a.firstSeen), lastSeen: isoFromEpochMs(a.lastSeen) };
}

/** JSON form of a command record, with `kind: "command"` first. */
export function commandJson(c: CommandRecord): CommandJson {
  return { kind: 'command', ...c, ts: isoFromEpochMs(c.ts) };
}

function timed<T extends { firstSeen: number; lastSeen: number }>(x: T): Timed<T> {
  return { ...x, firstSeen: isoFromEpochMs(x.firstSeen), lastSeen: isoFromEpochMs(x.lastSeen) };
}

/** JSON form of the inventory: `start`, `end` and every `firstSeen` / `lastSeen` as ISO text. */
export function inventoryJson(inv: InventorySummary): InventoryJson {
  return {
    ...inv,
    start: inv.start === null ? null : isoFromEpochMs(inv.start),
    end: inv.end === null ? null : isoFromEpochMs(inv.end),
    stations: inv.stations.map((s) => ({ ...timed(s), ioas: s.ioas.map(timed) })),
    masters: inv.masters.map(timed),
  };
}
