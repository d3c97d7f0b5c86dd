/**
 * Built-in behavioural detection rules (no configuration needed) and the catalogue of every rule
 * id the monitor emits. All thresholds live in one object, {@link DEFAULT_RULE_CONFIG}; all rate
 * windows are measured in capture time.
 */
import { isMeasuredValueParameter, isParameterType, typeInfo, typeName } from '../codec/type-table.js';
import { isTrackedCommandType, isProcessCommand } from './roles.js';
import { type Alert, type JsonValue, type Observation, type Severity, hostOf, makeAlert } from './types.js';
import { BoundedMap, DistinctWindow, type LruEntry, RateWindow, type SeenNode } from './window.js';

/** A count threshold over a sliding window: fires when more than `count` events fall in `windowMs`. */
export interface RateThreshold {
  windowMs: number;
  count: number;
}
/** A distinct-key threshold: fires when more than `distinct` different keys fall in `windowMs`. */
export interface DistinctThreshold {
  windowMs: number;
  distinct: number;
}

/** Thresholds of the built-in rules. */
export interface RuleConfig {
  /** `recon.ca-sweep`: common addresses one source addresses at one station. */
  caSweep: DistinctThreshold;
  /** `recon.unknown-ca`: answers "unknown common address" (COT 46) a station sends one master. */
  unknownCa: RateThreshold;
  /** `recon.station-sweep`: stations (hosts) one master host talks to. */
  stationSweep: DistinctThreshold;
  /** `recon.ioa-sweep`: IOAs one source reads (C_RD_NA_1) at one station. */
  ioaSweep: DistinctThreshold;
  /** `cmd.burst`: commands from one source to one station. */
  commandBurst: RateThreshold;
  /** `cmd.ioa-bruteforce`: different IOAs one source commands at one station. */
  ioaBruteForce: DistinctThreshold;
  /** `cmd.toggle`: value changes of executes on one object. */
  toggle: RateThreshold;
  /** `flood.gi`: interrogations (C_IC_NA_1 act) from one source to one station. */
  giFlood: RateThreshold;
  /** `flood.read`: read commands from one source to one station. */
  readFlood: RateThreshold;
  /** `flood.testfr`: TESTFR act on one connection (either side). */
  testfrFlood: RateThreshold;
  /** `flood.startdt`: STARTDT act from one master host to one station host (over all its connections). */
  startdtFlood: RateThreshold;
  /** `cmd.negative-storm`: negative confirmations (P/N=1 or COT 44–47) a station sends one master. */
  negativeStorm: RateThreshold;
  /** Bound on tracked keys (sources, objects) per rule. */
  maxKeys: number;
}

/** Default thresholds, chosen to stay silent on ordinary SCADA polling. */
export const DEFAULT_RULE_CONFIG: Readonly<RuleConfig> = Object.freeze({
  caSweep: { windowMs: 60000, distinct: 8 },
  unknownCa: { windowMs: 60000, count: 3 },
  stationSweep: { windowMs: 60000, distinct: 10 },
  ioaSweep: { windowMs: 60000, distinct: 20 },
  commandBurst: { windowMs: 10000, count: 20 },
  ioaBruteForce: { windowMs: 30000, distinct: 10 },
  toggle: { windowMs: 60000, count: 4 },
  giFlood: { windowMs: 60000, count: 5 },
  readFlood: { windowMs: 10000, count: 50 },
  testfrFlood: { windowMs: 60000, count: 10 },
  startdtFlood: { windowMs: 60000, count: 5 },
  negativeStorm: { windowMs: 60000, count: 5 },
  maxKeys: 10000,
});

/** Catalogue entry of one rule. */
export interface RuleInfo {
  severity: Severity;
  mitre?: string;
  description: string;
}

/** Every rule id the monitor can emit (validity, link, behaviour, policy, baseline), with default severity and MITRE id. */
export const RULES: Readonly<Record<string, RuleInfo>> = Object.freeze({
  // validity (validity.ts)
  'valid.truncated': { severity: 'medium', description: 'APDU ends before a field that must be there (E_TRUNCATED)' },
  'valid.start-byte': { severity: 'medium', description: 'start byte is not 0x68 (E_START_BYTE)' },
  'valid.apdu-length': { severity: 'medium', description: 'APDU length octet impossible or not matching (E_APDU_LENGTH)' },
  'valid.control-field': { severity: 'medium', description: 'reserved APCI bits set in I/S/U frames, invalid U function (E_CONTROL_FIELD)' },
  'valid.asdu-length': { severity: 'medium', description: 'length does not match what the type and object count need (E_ASDU_LENGTH)' },
  'valid.vsq-count': { severity: 'medium', description: 'number of objects impossible for the type (E_VSQ_COUNT)' },
  'valid.ioa-overflow': { severity: 'medium', description: 'SQ=1 sequence runs past the largest IOA (E_IOA_OVERFLOW)' },
  'valid.buffer-limit': { severity: 'high', description: 'stream buffer limit reached (E_BUFFER_LIMIT)' },
  'valid.malformed': { severity: 'medium', description: 'any other decode failure reported by the capture layer' },
  'valid.cot-not-allowed': { severity: 'medium', description: 'cause of transmission not allowed for the type (W_COT_NOT_ALLOWED)' },
  'valid.cot-reserved': { severity: 'medium', description: 'cause of transmission 0 or reserved (W_COT_UNKNOWN)' },
  'valid.sq-not-allowed': { severity: 'medium', description: 'SQ=1 with a type sent with SQ=0 only (W_SQ_NOT_ALLOWED)' },
  'valid.empty-asdu': { severity: 'medium', description: 'number of objects zero (W_EMPTY_ASDU)' },
  'valid.reserved-bits': { severity: 'low', description: 'reserved bits of SIQ/DIQ/QDS/QDP/SEP/SPE/OCI/SCO/CP56Time2a set (W_RESERVED_BITS)' },
  'valid.reserved-value': { severity: 'low', description: 'reserved qualifier or state: QOI, QCC, QPM kind, QPA, QOC (QU), QRP, QOS, DCO/RCO state, FBP (W_RESERVED_VALUE)' },
  'valid.ca-zero': { severity: 'low', description: 'common address 0 (invalid common address)' },
  'valid.time-field': { severity: 'low', description: 'CP56Time2a/CP24Time2a field out of range (W_TIME_FIELD)' },
  'valid.float-not-finite': { severity: 'medium', description: 'NaN or infinity in a short float (W_FLOAT_NOT_FINITE)' },
  'valid.type-reserved': { severity: 'medium', description: 'reserved or private type identification (W_TYPE_RESERVED)' },
  'valid.broadcast': { severity: 'medium', description: 'broadcast common address with a type that does not allow it (W_BROADCAST)' },
  'valid.ioa-zero': { severity: 'low', description: 'IOA 0 with a process type (W_IOA_ZERO)' },
  'valid.count-not-allowed': { severity: 'medium', description: 'more than one object in a type defined with one (commands, system, parameters, files)' },
  'valid.sq-single': { severity: 'low', description: 'SQ=1 with a single object' },
  'valid.cot-direction': { severity: 'medium', description: 'cause invalid for the direction (act from the station, actcon from the master, ...)' },
  'valid.type-direction': { severity: 'high', mitre: 'T0856', description: 'monitor-direction type sent by the master' },
  'valid.coi-reserved': { severity: 'low', description: 'cause of initialisation reserved (3..31)' },
  'valid.qpm-unused': { severity: 'low', description: 'QPM with LPC or POP set (valid but unused)' },
  'valid.file-qualifier': { severity: 'low', description: 'reserved FRQ/SRQ/SCQ/LSQ/AFQ/SOF value, name of file or section 0' },
  'valid.segment-length': { severity: 'low', description: 'file segment with length 0' },
  'valid.iec101-only': { severity: 'low', description: 'type defined for IEC 60870-5-101 only (CP24 time tags, C_TS_NA_1, C_CD_NA_1; W_IEC101_ONLY_TYPE)' },
  // link (session-shadow.ts)
  'link.seq-gap': { severity: 'medium', description: 'N(S) skipped ahead (frames missing: loss, injection or capture gap)' },
  'link.seq-duplicate': { severity: 'medium', mitre: 'T0830', description: 'the last I-frame sent again with identical content' },
  'link.seq-replay': { severity: 'high', mitre: 'T0830', description: 'an older N(S) reused (replayed or injected frame)' },
  'link.ack-unsent': { severity: 'high', mitre: 'T0830', description: 'N(R) acknowledges I-frames the peer never sent' },
  'link.ack-backwards': { severity: 'medium', description: 'N(R) went backwards' },
  'link.k-exceeded': { severity: 'medium', mitre: 'T0814', description: 'more than k unacknowledged I-frames outstanding' },
  'link.w-exceeded': { severity: 'low', description: 'more than w I-frames acknowledged at once' },
  'link.data-before-startdt': { severity: 'medium', description: 'I-frame after STARTDT act before STARTDT con' },
  'link.data-after-stopdt': { severity: 'medium', description: 'I-frame after STOPDT con' },
  'link.t1-expired': { severity: 'medium', mitre: 'T0815', description: 'I-frame or U act unanswered longer than t1 (capture time)' },
  'link.unsolicited-con': { severity: 'low', description: 'STARTDT/STOPDT/TESTFR con without act' },
  'link.no-keepalive': { severity: 'low', mitre: 'T0815', description: 'connection silent longer than t3 + t1 with no TESTFR' },
  'link.sbo-order': { severity: 'medium', description: 'select-before-operate steps out of order' },
  'link.sbo-execute-without-select': { severity: 'high', mitre: 'T0855', description: 'execute of an SBO-operated object without a confirmed select' },
  'link.sbo-value-mismatch': { severity: 'high', mitre: 'T0855', description: 'execute value differs from the selected value' },
  // behaviour (this file)
  'recon.ca-sweep': { severity: 'medium', mitre: 'T0846', description: 'one source addresses many common addresses of a station' },
  'recon.unknown-ca': { severity: 'medium', mitre: 'T0846', description: 'station answers "unknown common address" repeatedly' },
  'recon.station-sweep': { severity: 'high', mitre: 'T0846', description: 'one master host talks to many stations' },
  'recon.ioa-sweep': { severity: 'medium', mitre: 'T0861', description: 'reads of many different IOAs' },
  'cmd.burst': { severity: 'high', mitre: 'T0806', description: 'many commands in a short time' },
  'cmd.ioa-bruteforce': { severity: 'high', mitre: 'T0806', description: 'commands to many different IOAs in a short time' },
  'cmd.toggle': { severity: 'critical', mitre: 'T0831', description: 'the same object switched back and forth repeatedly' },
  'cmd.invalid-cause': { severity: 'high', mitre: 'T0855', description: 'command sent with a cause other than act/deact' },
  'cmd.broadcast': { severity: 'high', mitre: 'T0855', description: 'process command, parameter or reset to the broadcast address' },
  'cmd.negative-storm': { severity: 'medium', mitre: 'T0806', description: 'many negative confirmations from a station' },
  'flood.gi': { severity: 'medium', mitre: 'T0814', description: 'interrogation flood' },
  'flood.read': { severity: 'medium', mitre: 'T0814', description: 'read-command flood' },
  'flood.testfr': { severity: 'medium', mitre: 'T0814', description: 'TESTFR flood' },
  'flood.startdt': { severity: 'medium', mitre: 'T0814', description: 'STARTDT flood (reconnect storm)' },
  'sys.reset-process': { severity: 'critical', mitre: 'T0816', description: 'reset process command from a new source or a non-master' },
  'sys.clock-sync-unexpected': { severity: 'high', mitre: 'T0855', description: 'clock synchronisation from a new source or a non-master' },
  'sys.restart': { severity: 'medium', mitre: 'T0816', description: 'reset process command (C_RP_NA_1 act) from a known master (from any other source: sys.reset-process)' },
  'param.change': { severity: 'medium', mitre: 'T0836', description: 'parameter of measured values changed (P_ME_NA_1/NB_1/NC_1 act: threshold, smoothing, limits)' },
  'param.deactivation': { severity: 'high', mitre: 'T0878', description: 'parameter activation switched off (P_AC_NA_1 deact): the station stops applying limits or stops cyclic/periodic transmission' },
  // sessions (sessions.ts)
  'session.keepalive-only': { severity: 'medium', mitre: 'T0869', description: 'a connection open for long that carried only keep-alives (TESTFR, S-frames), no I-frame: a parked session or a channel (low when stopped with no active connection of the same pair)' },
  // TCP streams the capture layer cannot follow as the receiver reads them (detector.ts)
  'stream.desync': { severity: 'high', mitre: 'T0830', description: 'two copies of TCP bytes the receiver had not acknowledged differ: what the station read cannot be told (evasion by a decoy segment, or a damaged capture)' },
  'stream.out-of-window': { severity: 'medium', mitre: 'T0830', description: 'TCP data the receiver drops (before its acknowledged sequence with other bytes, or beyond its window): not decoded; decoys or capture damage' },
  // policy (policy.ts)
  'policy.unknown-master': { severity: 'high', mitre: 'T0849', description: 'traffic from a master not listed in the policy' },
  'policy.unknown-station': { severity: 'medium', mitre: 'T0846', description: 'a station not listed in the policy' },
  'policy.command-not-allowed': { severity: 'high', mitre: 'T0855', description: 'command type not allowed for this master' },
  'policy.ca-not-allowed': { severity: 'high', mitre: 'T0855', description: 'command to a common address not allowed for this master' },
  'policy.ioa-not-allowed': { severity: 'high', mitre: 'T0855', description: 'command to an IOA outside the allowed ranges' },
  'policy.value-out-of-range': { severity: 'high', mitre: 'T0836', description: 'set-point or parameter value outside the allowed range' },
  'policy.time-window': { severity: 'medium', mitre: 'T0855', description: 'command outside the allowed days/hours (UTC)' },
  'policy.certificate-subject': { severity: 'high', mitre: 'T0859', description: 'master connection whose verified certificate subject (or lack of one) is not in certificateSubjects of its policy entry' },
  'policy.certificate-unverified': { severity: 'low', description: 'certificateSubjects cannot be checked: the traffic carries no certificate subject (offline capture); once per master host' },
  // baseline (baseline.ts)
  'baseline.new-master': { severity: 'high', mitre: 'T0849', description: 'a master not in the baseline talks to a station' },
  'baseline.new-station': { severity: 'medium', mitre: 'T0846', description: 'a station not in the baseline' },
  'baseline.new-type': { severity: 'medium', description: 'a type identification never seen at this station (T0855 for commands)' },
  'baseline.new-cause': { severity: 'low', description: 'a known type with a cause never seen at this station' },
  'baseline.new-ioa': { severity: 'medium', mitre: 'T0861', description: 'an IOA never seen at this station (T0855 for commands)' },
  'baseline.rate-change': { severity: 'medium', mitre: 'T0814', description: 'I-frame rate per minute above the baseline by the tolerance factor' },
  'baseline.period-change': { severity: 'medium', mitre: 'T0802', description: 'interrogation / clock-sync interval differs from the baseline by the tolerance factor' },
});

/**
 * @internal What the rules need of one flow on every APDU: its strings, and the entries of the
 * host maps and of the windows keyed by the flow, its hosts or its pair that it used last (kept
 * while live, so that the next APDU of the flow marks them used without building a key or a lookup).
 */
export interface FlowKeys {
  master: string;
  station: string;
  mh: string;
  sh: string;
  pair: string;
  masterHost: LruEntry<string, true> | undefined;
  stationHost: LruEntry<string, true> | undefined;
  commandHost: LruEntry<string, true> | undefined;
  /** Entries of the rate and distinct windows keyed by this flow, its pair or its hosts (by R_* / D_* index). */
  rates: Array<LruEntry<string, RateWindow> | undefined>;
  distincts: Array<LruEntry<string, DistinctWindow> | undefined>;
  /** This flow's station in its master's station-sweep window (valid for `sweepWindow`). */
  sweepEntry: SeenNode | undefined;
  sweepWindow: DistinctWindow | undefined;
}

// indexes of FlowKeys.rates
const R_TESTFR = 0;
const R_STARTDT = 1;
const R_NEGATIVE = 2;
const R_UNKNOWN_CA = 3;
const R_GI = 4;
const R_READ = 5;
const R_BURST = 6;
// indexes of FlowKeys.distincts
const D_CA_SWEEP = 0;
const D_IOA_SWEEP = 1;
const D_BRUTE_FORCE = 2;
const D_STATION_SWEEP = 3;

const TRUE = (): true => true;

/** Mark `key` used in `map` through the kept entry `e` when it is still live; returns the entry to keep. */
function touchKept(map: BoundedMap<string, true>, e: LruEntry<string, true> | undefined, key: string): LruEntry<string, true> {
  if (e !== undefined && e.live) {
    map.reuse(e);
    return e;
  }
  return map.entry(key, TRUE);
}

function cmdValue(v: unknown): JsonValue {
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') return v;
  return null;
}

/**
 * The behavioural rules: sweeps, bursts, brute force, toggling, floods, invalid causes, broadcast
 * commands, reset/clock-sync from unexpected sources, negative-confirmation storms.
 */
export class BehaviourRules {
  readonly config: RuleConfig;
  private readonly flowKeys = new Map<string, FlowKeys>();
  private readonly masterHosts: BoundedMap<string, true>;
  private readonly stationHosts: BoundedMap<string, true>;
  /** Hosts that sent an I-frame as master. */
  private readonly commandHosts: BoundedMap<string, true>;
  private readonly dw: BoundedMap<string, DistinctWindow>;
  private readonly rw: BoundedMap<string, RateWindow>;
  /** Last executed value per object, for toggling. */
  private readonly lastValue: BoundedMap<string, { v: JsonValue }>;

  constructor(config: Partial<RuleConfig> = {}) {
    this.config = { ...DEFAULT_RULE_CONFIG, ...config };
    const cap = this.config.maxKeys;
    this.masterHosts = new BoundedMap(cap);
    this.stationHosts = new BoundedMap(cap);
    this.commandHosts = new BoundedMap(cap);
    this.dw = new BoundedMap(cap);
    this.rw = new BoundedMap(cap);
    this.lastValue = new BoundedMap(cap);
  }

  /** Whether `host` has been seen acting as a master before. */
  isKnownMaster(host: string): boolean {
    return this.masterHosts.has(host);
  }

  private rate(rule: string, key: string, t: RateThreshold): RateWindow {
    const k = `${rule}|${key}`;
    let w = this.rw.getUsed(k);
    if (w === undefined) this.rw.add(k, (w = new RateWindow(t.windowMs, t.count)));
    return w;
  }
  /** {@link BehaviourRules.rate} through the entry the flow keeps at index `i` (no key built nor looked up while it lives). */
  private flowRate(fk: FlowKeys, i: number, rule: string, key: string, t: RateThreshold): RateWindow {
    const e = fk.rates[i];
    if (e !== undefined && e.live) {
      this.rw.reuse(e);
      return e.value;
    }
    const n = this.rw.entry(`${rule}|${key}`, () => new RateWindow(t.windowMs, t.count));
    fk.rates[i] = n;
    return n.value;
  }
  /** The distinct window of `rule` and `key` through the entry the flow keeps at index `i`. */
  private flowDistinct(fk: FlowKeys, i: number, rule: string, key: string, t: DistinctThreshold): DistinctWindow {
    const e = fk.distincts[i];
    if (e !== undefined && e.live) {
      this.dw.reuse(e);
      return e.value;
    }
    const n = this.dw.entry(`${rule}|${key}`, () => new DistinctWindow(t.windowMs, t.distinct));
    fk.distincts[i] = n;
    return n.value;
  }

  /**
   * @internal Per-flow strings (hosts, pair, window keys), computed once per flow and roles. The
   * result depends on nothing but the roles, so a caller may keep it for the flow.
   */
  keysOf(flow: string, master: string, station: string): FlowKeys {
    let k = this.flowKeys.get(flow);
    if (k !== undefined && k.master === master && k.station === station) return k;
    const mh = hostOf(master);
    k = {
      master, station, mh, sh: hostOf(station), pair: `${mh}>${station}`,
      masterHost: undefined, stationHost: undefined, commandHost: undefined, rates: [], distincts: [], sweepEntry: undefined, sweepWindow: undefined,
    };
    this.flowKeys.set(flow, k);
    if (this.flowKeys.size > 65536) this.flowKeys.delete(this.flowKeys.keys().next().value as string);
    return k;
  }

  /** Drop the per-flow keys of a closed flow. */
  forgetFlow(flow: string): void {
    this.flowKeys.delete(flow);
  }

  /** Flows with per-flow keys (at most 65536). */
  get flowCount(): number {
    return this.flowKeys.size;
  }

  /** Evaluate one observation. */
  observe(o: Observation): Alert[] {
    const out: Alert[] = [];
    if (o.dir && o.master && o.station) this.observeInto(o, this.keysOf(o.flow, o.master, o.station), out);
    return out;
  }

  /** @internal {@link BehaviourRules.observe} of an observation with roles, given its flow's keys; pushes the alerts to `out`. */
  observeInto(o: Observation, fk: FlowKeys, out: Alert[]): void {
    const c = this.config;
    const station = fk.station;
    const mh = fk.mh;
    const sh = fk.sh;
    const fromMaster = o.dir === 'master→station';
    const a = o.apdu;
    const asdu = a?.asdu;
    // the host history matters only to reset / clock sync from the master
    let wasMaster = true;
    let wasStationOnly = false;
    let wasCommander = true;
    const family = asdu === undefined ? undefined : typeInfo(asdu.typeId)?.family;
    if (fromMaster && (family === 'reset-process' || family === 'clock-sync')) {
      wasMaster = this.masterHosts.has(mh);
      wasStationOnly = this.stationHosts.has(mh) && !wasMaster;
      // a reset needs a master that sent an I-frame before (STARTDT alone does not count: every
      // rogue session starts with it)
      wasCommander = this.commandHosts.has(mh);
    }
    if (fromMaster && asdu !== undefined) fk.commandHost = touchKept(this.commandHosts, fk.commandHost, mh);
    fk.masterHost = touchKept(this.masterHosts, fk.masterHost, mh);
    fk.stationHost = touchKept(this.stationHosts, fk.stationHost, sh);
    const pair = fk.pair;

    if (fromMaster) {
      const w = this.flowDistinct(fk, D_STATION_SWEEP, 'recon.station-sweep', mh, c.stationSweep);
      const crossed = w.addWith(sh, o.ts, fk.sweepWindow === w ? fk.sweepEntry : undefined);
      fk.sweepWindow = w;
      fk.sweepEntry = w.lastAdded;
      if (crossed) {
        out.push(makeAlert(o, 'recon.station-sweep', 'high', `${mh} talked to ${w.size} stations within ${c.stationSweep.windowMs} ms`, { master: mh, stations: w.keys() }, 'T0846'));
      }
    }
    if (!a) return;
    if (a.apci.format === 'U') {
      if (a.apci.uFunction === 'TESTFR_ACT' && this.flowRate(fk, R_TESTFR, 'flood.testfr', o.flow, c.testfrFlood).add(o.ts)) {
        out.push(makeAlert(o, 'flood.testfr', 'medium', `more than ${c.testfrFlood.count} TESTFR act within ${c.testfrFlood.windowMs} ms on one connection`, { count: c.testfrFlood.count + 1, windowMs: c.testfrFlood.windowMs }, 'T0814'));
      }
      if (a.apci.uFunction === 'STARTDT_ACT' && fromMaster && this.flowRate(fk, R_STARTDT, 'flood.startdt', `${mh}>${sh}`, c.startdtFlood).add(o.ts)) {
        out.push(makeAlert(o, 'flood.startdt', 'medium', `more than ${c.startdtFlood.count} STARTDT act from ${mh} to ${sh} within ${c.startdtFlood.windowMs} ms`, { master: mh, station: sh, count: c.startdtFlood.count + 1, windowMs: c.startdtFlood.windowMs }, 'T0814'));
      }
      return;
    }
    if (!asdu) return;
    if (!fromMaster) {
      // monitor-direction data (the bulk of the traffic): only negative answers and unknown CA count
      const negative = isTrackedCommandType(asdu.typeId) && (asdu.negative || (asdu.cot >= 44 && asdu.cot <= 47));
      if (!negative && asdu.cot !== 46) return;
    } else if (!isTrackedCommandType(asdu.typeId)) return;
    const tn = typeName(asdu.typeId);
    const ev = { typeId: asdu.typeId, type: tn, ca: asdu.ca, master: mh, station };

    if (!fromMaster) {
      if (isTrackedCommandType(asdu.typeId) && (asdu.negative || (asdu.cot >= 44 && asdu.cot <= 47))) {
        if (this.flowRate(fk, R_NEGATIVE, 'cmd.negative-storm', pair, c.negativeStorm).add(o.ts)) {
          out.push(makeAlert(o, 'cmd.negative-storm', 'medium', `station ${station} sent more than ${c.negativeStorm.count} negative confirmations to ${mh} within ${c.negativeStorm.windowMs} ms`, { ...ev, cot: asdu.cot }, 'T0806'));
        }
      }
      if (asdu.cot === 46 && this.flowRate(fk, R_UNKNOWN_CA, 'recon.unknown-ca', pair, c.unknownCa).add(o.ts)) {
        out.push(makeAlert(o, 'recon.unknown-ca', 'medium', `station ${station} answered "unknown common address" more than ${c.unknownCa.count} times within ${c.unknownCa.windowMs} ms`, ev, 'T0846'));
      }
      return;
    }

    if (!isTrackedCommandType(asdu.typeId)) return;
    const isRead = family === 'read';
    const okCause = isRead ? asdu.cot === 5 : asdu.cot === 6 || asdu.cot === 8;
    if (!okCause) {
      out.push(makeAlert(o, 'cmd.invalid-cause', 'high', `${tn} sent by the master with cause ${asdu.cot} (commands use ${isRead ? '5 (request)' : '6 (act) or 8 (deact)'})`, { ...ev, cot: asdu.cot }, 'T0855'));
      return;
    }
    const bc = asdu.ca === 0xffff;
    if (bc && (isProcessCommand(asdu.typeId) || family === 'reset-process' || isParameterType(asdu.typeId))) {
      out.push(makeAlert(o, 'cmd.broadcast', 'high', `${tn} sent to the broadcast common address`, ev, 'T0855'));
    }
    if (family === 'parameter-activation' && asdu.cot === 8) {
      const qpa = asdu.objects[0]?.qpa;
      out.push(makeAlert(o, 'param.deactivation', 'high', `parameter activation off (P_AC_NA_1 deact, QPA ${String(qpa)}) for IOA ${String(asdu.objects[0]?.ioa)} at ${station} from ${mh}`, { ...ev, ioa: asdu.objects[0]?.ioa ?? null, qpa: cmdValue(qpa) }, 'T0878'));
    }
    if (asdu.cot !== 6 && asdu.cot !== 5) return;
    if (isMeasuredValueParameter(asdu.typeId)) {
      for (const obj of asdu.objects) {
        out.push(makeAlert(o, 'param.change', 'medium', `${tn} from ${mh} sets a parameter of IOA ${obj.ioa} (CA ${asdu.ca}) at ${station} to ${JSON.stringify(cmdValue(obj.value))}`, { ...ev, ioa: obj.ioa, value: cmdValue(obj.value) }, 'T0836'));
      }
    }
    if (family === 'reset-process' && asdu.cot === 6) {
      out.push(makeAlert(o, 'sys.restart', 'medium', `reset process command (QRP ${String(asdu.objects[0]?.qrp)}) from ${mh} to ${station}`, { ...ev, qrp: cmdValue(asdu.objects[0]?.qrp) }, 'T0816'));
    }

    // sweeps over common addresses (any command, read, interrogation)
    if (!bc) {
      const w = this.flowDistinct(fk, D_CA_SWEEP, 'recon.ca-sweep', pair, c.caSweep);
      if (w.add(String(asdu.ca), o.ts)) {
        out.push(makeAlert(o, 'recon.ca-sweep', 'medium', `${mh} addressed ${w.size} common addresses of ${station} within ${c.caSweep.windowMs} ms`, { ...ev, commonAddresses: w.keys().map(Number) }, 'T0846'));
      }
    }
    if (family === 'interrogation' && this.flowRate(fk, R_GI, 'flood.gi', pair, c.giFlood).add(o.ts)) {
      out.push(makeAlert(o, 'flood.gi', 'medium', `more than ${c.giFlood.count} interrogations from ${mh} to ${station} within ${c.giFlood.windowMs} ms`, { ...ev, count: c.giFlood.count + 1, windowMs: c.giFlood.windowMs }, 'T0814'));
    }
    if (isRead) {
      if (this.flowRate(fk, R_READ, 'flood.read', pair, c.readFlood).add(o.ts)) {
        out.push(makeAlert(o, 'flood.read', 'medium', `more than ${c.readFlood.count} read commands from ${mh} to ${station} within ${c.readFlood.windowMs} ms`, { ...ev, count: c.readFlood.count + 1, windowMs: c.readFlood.windowMs }, 'T0814'));
      }
      for (const obj of asdu.objects) {
        const w = this.flowDistinct(fk, D_IOA_SWEEP, 'recon.ioa-sweep', pair, c.ioaSweep);
        if (w.add(`${asdu.ca}/${obj.ioa}`, o.ts)) {
          out.push(makeAlert(o, 'recon.ioa-sweep', 'medium', `${mh} read ${w.size} different objects of ${station} within ${c.ioaSweep.windowMs} ms`, { ...ev, objects: w.size }, 'T0861'));
        }
      }
    }
    if (family === 'reset-process') {
      const why = wasStationOnly ? 'a host seen only as a station' : !wasMaster ? 'a source never seen before' : !wasCommander ? 'a source that sent no command or request before' : undefined;
      if (why) out.push(makeAlert(o, 'sys.reset-process', 'critical', `reset process command (QRP ${String(asdu.objects[0]?.qrp)}) to ${station} from ${why} (${mh})`, { ...ev, reason: why }, 'T0816'));
    }
    if (family === 'clock-sync') {
      const why = wasStationOnly ? 'a host seen only as a station' : !wasMaster ? 'a source never seen before' : undefined;
      if (why) out.push(makeAlert(o, 'sys.clock-sync-unexpected', 'high', `clock synchronisation of ${station} from ${why} (${mh})`, { ...ev, reason: why }, 'T0855'));
    }
    // interrogations, read, clock sync and test are no commands to the process (reset and delay acquisition count)
    if (family === 'interrogation' || family === 'counter-interrogation' || family === 'read' || family === 'clock-sync' || family === 'test') return;

    // process commands, reset, parameters
    if (this.flowRate(fk, R_BURST, 'cmd.burst', pair, c.commandBurst).add(o.ts)) {
      out.push(makeAlert(o, 'cmd.burst', 'high', `more than ${c.commandBurst.count} commands from ${mh} to ${station} within ${c.commandBurst.windowMs} ms`, { ...ev, count: c.commandBurst.count + 1, windowMs: c.commandBurst.windowMs }, 'T0806'));
    }
    if (!isProcessCommand(asdu.typeId)) return;
    for (const obj of asdu.objects) {
      const w = this.flowDistinct(fk, D_BRUTE_FORCE, 'cmd.ioa-bruteforce', pair, c.ioaBruteForce);
      if (w.add(`${asdu.ca}/${obj.ioa}`, o.ts)) {
        out.push(makeAlert(o, 'cmd.ioa-bruteforce', 'high', `${mh} commanded ${w.size} different objects of ${station} within ${c.ioaBruteForce.windowMs} ms`, { ...ev, objects: w.keys() }, 'T0806'));
      }
      if (obj.select === true) continue;
      const v = cmdValue(obj.value);
      const key = `${station}|${asdu.ca}/${obj.ioa}`;
      const last = this.lastValue.use(key, () => ({ v }));
      if (last.v !== v) {
        last.v = v;
        if (this.rate('cmd.toggle', key, c.toggle).add(o.ts)) {
          out.push(makeAlert(o, 'cmd.toggle', 'critical', `IOA ${obj.ioa} (CA ${asdu.ca}) at ${station} switched back and forth more than ${c.toggle.count} times within ${c.toggle.windowMs} ms`, { ...ev, ioa: obj.ioa, value: v, changes: c.toggle.count + 1 }, 'T0831'));
        }
      }
    }
    return;
  }
}
