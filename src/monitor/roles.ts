/**
 * Who is the master and who is the station on each observed connection, and which type
 * identifications count as commands.
 */
import { isControlType, isProcessCommand, typeInfo } from '../codec/type-table.js';
import { type FlowDirection, type ObservedApdu, type Observation, portOf } from './types.js';

/** Command types tracked by the monitor: every control-direction type (process and system commands, parameters), as the type table says. */
export function isTrackedCommandType(typeId: number): boolean {
  return isControlType(typeId);
}

/** Process commands that change outputs (the type table's process commands; private types 52–57 are not). */
export { isProcessCommand };

/** Causes a station uses to answer a command: actcon, deactcon, actterm and the mirrored 44–47. */
export function isReplyCause(cot: number): boolean {
  return cot === 7 || cot === 9 || cot === 10 || (cot >= 44 && cot <= 47);
}

/** Whether `v` is an integer 0 ≤ v < `limit` (fits its field of the packed key). */
const fits = (v: number, limit: number): boolean => v >>> 0 === v && v < limit;

/** @internal Key of a (type, common address, IOA) triple, from {@link objectKey}. */
export type ObjectKey = number | string;

/**
 * @internal Key of an object addressed by type, common address and IOA (open commands, SBO
 * state): the three packed in one number (cheaper to build and hash than text); text
 * `type/ca/ioa` for values outside their fields, so keys never collide.
 */
export function objectKey(typeId: number, ca: number, ioa: number): ObjectKey {
  if (fits(typeId, 0x100) && fits(ca, 0x10000) && fits(ioa, 0x1000000)) {
    return typeId * 0x10000000000 + ca * 0x1000000 + ioa;
  }
  return `${typeId}/${ca}/${ioa}`;
}

/** Options of {@link RoleTracker}. */
export interface RoleOptions {
  /** TCP ports a controlled station listens on (default 2404 and 19998, IEC 62351-3 TLS). */
  stationPorts: number[];
}

/** @internal The roles learned for one flow. */
export interface FlowRoles {
  master: string;
  station: string;
  /** Set when the tracker forgot the flow: a copy kept elsewhere (the detector's per-flow context) is stale. */
  forgotten: boolean;
}

function observation(o: ObservedApdu, dir: FlowDirection | undefined, master: string | undefined, station: string | undefined): Observation {
  const r: Observation = { frame: o.frame, ts: o.ts, src: o.src, dst: o.dst, flow: o.flow, raw: o.raw, dir, master, station };
  if (o.direction !== undefined) r.direction = o.direction;
  if (o.apdu !== undefined) r.apdu = o.apdu;
  if (o.error !== undefined) r.error = o.error;
  if (o.peerSubject !== undefined) r.peerSubject = o.peerSubject;
  return r;
}

/** @internal Direction of `o` in a flow with roles `r`: the one the input carries, else by sender. */
export function directionOf(o: ObservedApdu, r: FlowRoles): FlowDirection {
  return o.direction ?? (o.src === r.master ? 'master→station' : 'station→master');
}

/**
 * Resolves the direction of each APDU. In order: the direction the input carries; a well-known
 * station port on exactly one side; the content (STARTDT/STOPDT act comes from the master, their
 * con from the station; monitor-direction types from the station; act/deact of a control type
 * from the master; actcon/actterm from the station). Once a flow is resolved it stays so.
 * Memory: one entry per flow (call {@link RoleTracker.forget} on closed flows).
 */
export class RoleTracker {
  private readonly flows = new Map<string, FlowRoles>();
  private readonly ports: Set<number>;

  constructor(opts: Partial<RoleOptions> = {}) {
    this.ports = new Set(opts.stationPorts ?? [2404, 19998]);
  }

  /** Resolve roles for `o` (learning the flow when possible). */
  resolve(o: ObservedApdu): Observation {
    const r = this.rolesOf(o);
    // explicit construction (one object shape): much cheaper than a spread on the hot path
    if (r === undefined) return observation(o, undefined, undefined, undefined);
    return observation(o, directionOf(o, r), r.master, r.station);
  }

  /**
   * @internal The roles of `o`'s flow, learned from `o` when still unknown; undefined while they cannot be
   * told. Once returned, the object stays valid for the flow until {@link RoleTracker.forget}
   * (which sets its `forgotten`), so callers may keep it instead of asking again.
   */
  rolesOf(o: ObservedApdu): FlowRoles | undefined {
    let r = this.flows.get(o.flow);
    if (r === undefined) {
      const dir = o.direction ?? this.infer(o);
      if (dir !== undefined) {
        r = dir === 'master→station' ? { master: o.src, station: o.dst, forgotten: false } : { master: o.dst, station: o.src, forgotten: false };
        this.flows.set(o.flow, r);
      }
    }
    return r;
  }

  /** Flows whose roles are known. */
  get flowCount(): number {
    return this.flows.size;
  }

  /** Drop what is known about a flow. */
  forget(flow: string): void {
    const r = this.flows.get(flow);
    if (r === undefined) return;
    r.forgotten = true;
    this.flows.delete(flow);
  }

  private infer(o: ObservedApdu): FlowDirection | undefined {
    const sp = portOf(o.src);
    const dp = portOf(o.dst);
    const sIs = sp !== undefined && this.ports.has(sp);
    const dIs = dp !== undefined && this.ports.has(dp);
    if (sIs && !dIs) return 'station→master';
    if (dIs && !sIs) return 'master→station';
    const a = o.apdu;
    if (!a) return undefined;
    if (a.apci.format === 'U') {
      const f = a.apci.uFunction;
      if (f === 'STARTDT_ACT' || f === 'STOPDT_ACT') return 'master→station';
      if (f === 'STARTDT_CON' || f === 'STOPDT_CON') return 'station→master';
      return undefined;
    }
    const asdu = a.asdu;
    if (!asdu) return undefined;
    const info = typeInfo(asdu.typeId);
    if (!info) return undefined;
    if (info.direction === 'monitor') return 'station→master';
    if (info.direction === 'control') {
      if (asdu.cot === 6 || asdu.cot === 8) return 'master→station';
      if (isReplyCause(asdu.cot)) return 'station→master';
    }
    return undefined;
  }
}
