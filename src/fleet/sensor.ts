/**
 * What a sensor publishes, in the shapes of `--json`: the bridge between what the CLI commands see
 * (APDU records, alerts, commands, the inventory, received ASDUs) and the {@link FleetPublisher}.
 *
 * - `record`: one per APDU, the `analyze --json` record (only with `records: true`: the volume is
 *   that of the traffic itself).
 * - `point`: one per information object with a value in monitor direction
 *   `{ca, ioa, typeId, typeName, cot, cotName, station, ts, value, ...quality and time fields}`.
 * - `alert`: the `--json` alert object.
 * - `command`: the `--json` command record (outcome, latencies).
 * - `inventory`: a delta: stations, masters and IOAs that are new or changed since the last one.
 * - `health`: the publisher's {@link FleetHealth} with the command's counters.
 *
 * @packageDocumentation
 */
import type { Asdu } from '../codec/asdu.js';
import { cotName } from '../codec/cause.js';
import { apduToJson, type JsonObject } from '../codec/json-view.js';
import { isMonitorType, typeName } from '../codec/type-table.js';
import { type ApduRecord, recordToJson } from '../capture/analyze.js';
import type { CommandRecord } from '../monitor/commands.js';
import type { InventorySummary } from '../monitor/inventory.js';
import { alertJson, commandJson, inventoryJson, isoFromEpochMs } from '../monitor/json-output.js';
import type { Alert } from '../monitor/types.js';
import { pointObject, type StationPoint } from '../station/point-database.js';
import type { CommandAuditRecord } from '../transport/audit-log.js';
import { type FleetHealth, FleetPublisher, type FleetPublisherOptions } from './publisher.js';

/** Options of {@link FleetSensor.open}: the publisher's, and whether every APDU record is published. */
export interface FleetSensorOptions extends FleetPublisherOptions {
  /** Publish every APDU as a `record` message (default false: points, alerts, commands, inventory, health). */
  records?: boolean;
}

/** A point value message body. */
export interface PointBody extends JsonObject {
  ca: number;
  typeId: number;
  typeName: string;
  cot: number;
  cotName: string;
  /** The station's `ip:port` (capture, proxy) or the peer's address (connect), or `local` (serve). */
  station: string;
  /** When the value was seen (ISO 8601 UTC). */
  ts: string;
}

/** An inventory delta message body. */
export interface InventoryDelta {
  kind: 'inventory';
  stations: Array<Omit<ReturnType<typeof inventoryJson>['stations'][number], 'ioas'>>;
  masters: ReturnType<typeof inventoryJson>['masters'];
  ioas: Array<ReturnType<typeof inventoryJson>['stations'][number]['ioas'][number] & { station: string }>;
}

/** See the module comment. */
export class FleetSensor {
  private readonly seen = new Map<string, string>();
  private readonly stationSeen = new WeakMap<StationPoint, { time: number; value: unknown; quality: unknown }>();

  private constructor(
    /** The publisher (health, drain, sequence numbers). */
    readonly publisher: FleetPublisher,
    private readonly records: boolean,
  ) {}

  /** Opens the publisher (see {@link FleetPublisher.open} for what it throws). */
  static open(o: FleetSensorOptions): FleetSensor {
    return new FleetSensor(FleetPublisher.open(o), o.records ?? false);
  }

  /** An APDU of a capture or a proxy leg: its record (with `records`) and its point values. */
  record(r: ApduRecord): void {
    if (this.records) this.publisher.publish('record', recordToJson(r));
    const asdu = r.apdu?.asdu;
    if (asdu && r.direction !== 'master→station') this.points(asdu, r.src, r.tsMs);
  }

  /** The point values of an ASDU in monitor direction (objects with a `value`). */
  points(asdu: Asdu, station: string, tsMs: number): void {
    if (!isMonitorType(asdu.typeId) || asdu.objects.length === 0) return;
    const objects = apduToJson({ apci: { format: 'I', sendSeq: 0, recvSeq: 0 }, asdu }).asdu?.objects ?? [];
    const ts = isoFromEpochMs(tsMs);
    for (const o of objects) {
      if (!('value' in o)) continue;
      const body: PointBody = { ca: asdu.ca, ...o, typeId: asdu.typeId, typeName: typeName(asdu.typeId), cot: asdu.cot, cotName: cotName(asdu.cot), station, ts };
      this.publisher.publish('point', body);
    }
  }

  /**
   * The points of a controlled station (`serve`): publishes those whose value, quality or time
   * changed since the last call (all of them the first time), in the same shape as received points.
   */
  stationPoints(points: Iterable<StationPoint>, station: string): void {
    for (const p of points) {
      const was = this.stationSeen.get(p);
      if (was && was.time === p.time && was.value === p.value && was.quality === p.quality) continue;
      this.stationSeen.set(p, { time: p.time, value: p.value, quality: p.quality });
      const typeId = p.staticType ?? p.eventType;
      this.points({ typeId, sq: false, cot: 3, negative: false, test: false, originator: 0, ca: p.ca, objects: [pointObject(p, typeId)] }, station, p.time);
    }
  }

  /**
   * A command a controlled station (`serve`) received and what became of it (its audit record):
   * `{kind:"command", ts, source, station, ca, ioa, typeId, typeName, value, outcome, reason?, timing?}`.
   */
  stationCommand(rec: CommandAuditRecord, station: string, tsMs: number): void {
    const src = typeof rec.source === 'string' ? rec.source : `${rec.source.address}${rec.source.port !== undefined ? `:${rec.source.port}` : ''}`;
    this.publisher.publish('command', {
      kind: 'command',
      ts: isoFromEpochMs(tsMs),
      source: src,
      station,
      ca: rec.target.ca,
      ioa: rec.target.ioa,
      typeId: rec.target.typeId,
      typeName: typeName(rec.target.typeId),
      value: rec.value,
      outcome: rec.outcome,
      ...(rec.reason !== undefined ? { reason: rec.reason } : {}),
      ...(rec.timing ? { timing: rec.timing } : {}),
    });
  }

  /** An alert. */
  alert(a: Alert): void {
    this.publisher.publish('alert', alertJson(a));
  }

  /** Commands tracked to their end (outcome, latencies). */
  commands(cs: readonly CommandRecord[]): void {
    for (const c of cs) this.publisher.publish('command', commandJson(c));
  }

  /** The inventory now: publishes what is new or changed since the last call (nothing when nothing is). */
  inventory(inv: InventorySummary): void {
    const j = inventoryJson(inv);
    const d: InventoryDelta = { kind: 'inventory', stations: [], masters: [], ioas: [] };
    const changed = (key: string, sig: string): boolean => {
      if (this.seen.get(key) === sig) return false;
      this.seen.set(key, sig);
      return true;
    };
    for (const s of j.stations) {
      const { ioas, ...rest } = s;
      if (changed(`s|${s.address}`, JSON.stringify([s.commonAddresses, s.masters, Object.keys(s.types).sort()]))) d.stations.push(rest);
      for (const i of ioas) if (changed(`i|${s.address}|${i.ca}|${i.ioa}`, i.types.join(','))) d.ioas.push({ station: s.address, ...i });
    }
    for (const m of j.masters) if (changed(`m|${m.host}`, JSON.stringify([m.endpoints, m.stations]))) d.masters.push(m);
    if (d.stations.length || d.masters.length || d.ioas.length) this.publisher.publish('inventory', d);
  }

  /** Counters of the command, added to every health message. */
  setCounters(fn: () => Record<string, number>): void {
    this.publisher.setCounters(fn);
  }

  /** Last health message, wait up to `drainMs` for the brokers, close the buffer. */
  close(drainMs = 0): Promise<FleetHealth> {
    return this.publisher.close({ drainMs });
  }
}
