/**
 * The facts every output format carries, taken once from an {@link ApduRecord} or an
 * {@link Alert}: endpoints split into address and port and oriented master → station (Zeek's
 * originator / responder), the APCI and ASDU header fields, and the time in the forms the
 * formats want. Each format (zeek.ts, eve.ts, ecs.ts, cef.ts, syslog.ts) only names them.
 */
import { cotShortName } from '../codec/cause.js';
import { typeName } from '../codec/type-table.js';
import type { ApduRecord } from '../capture/analyze.js';
import { hostOf, portOf, type Alert, type Severity } from '../monitor/types.js';

/** One side of a flow. */
export interface HostPort {
  ip: string;
  port: number;
}

/** Split `ip:port` / `[v6]:port`. */
export function hostPort(addr: string): HostPort {
  return { ip: hostOf(addr), port: portOf(addr) ?? 0 };
}

/** The header facts of one APDU, flat. */
export interface RecordFields {
  /** Epoch seconds with the capture's fraction (µs). */
  tsSec: number;
  /** ISO 8601 UTC with the capture's precision (`...Z`). */
  iso: string;
  flow: number;
  frame: number;
  src: HostPort;
  dst: HostPort;
  /** Master side (originator) and station side (responder); src/dst when the roles are unknown. */
  orig: HostPort;
  resp: HostPort;
  /** True when the sender is the originator (the master, or src when unknown). */
  isOrig: boolean;
  direction: ApduRecord['direction'];
  /** APCI format, or `error` when the APDU did not decode. */
  apduType: 'I' | 'S' | 'U' | 'error';
  uFunction?: string;
  sendSeq?: number;
  recvSeq?: number;
  typeId?: number;
  typeName?: string;
  cot?: number;
  cotName?: string;
  negative?: boolean;
  test?: boolean;
  originator?: number;
  ca?: number;
  /** Information objects in the ASDU (the VSQ number). */
  objects?: number;
  /** Their addresses (at most {@link MAX_IOAS}). */
  ioas?: number[];
  /** Codec error code when the APDU did not decode. */
  error?: string;
  errorMessage?: string;
}

/** Largest number of IOAs listed per record. */
export const MAX_IOAS = 64;

/** Epoch ms → ISO 8601 UTC with microseconds. */
export function isoMicros(ms: number): string {
  const whole = Math.floor(ms);
  const micros = Math.round((ms - whole) * 1000);
  const base = new Date(whole).toISOString(); // ...sss Z
  return `${base.slice(0, 23)}${String(Math.min(micros, 999)).padStart(3, '0')}Z`;
}

/** Facts of one record. */
export function recordFields(r: ApduRecord): RecordFields {
  const src = { ip: r.from.ip, port: r.from.port };
  const dst = { ip: r.to.ip, port: r.to.port };
  const fromStation = r.direction === 'station→master';
  const f: RecordFields = {
    tsSec: r.tsMs / 1000,
    iso: r.ts,
    flow: r.flow,
    frame: r.frame,
    src,
    dst,
    orig: fromStation ? dst : src,
    resp: fromStation ? src : dst,
    isOrig: !fromStation,
    direction: r.direction,
    apduType: r.apdu ? r.apdu.apci.format : 'error',
  };
  if (!r.apdu) {
    f.error = r.error?.code ?? 'E_UNKNOWN';
    f.errorMessage = r.error?.message;
    return f;
  }
  const c = r.apdu.apci;
  if (c.format === 'U') f.uFunction = c.uFunction;
  else if (c.format === 'S') f.recvSeq = c.recvSeq;
  else {
    f.sendSeq = c.sendSeq;
    f.recvSeq = c.recvSeq;
  }
  const a = r.apdu.asdu;
  if (a) {
    f.typeId = a.typeId;
    f.typeName = typeName(a.typeId);
    f.cot = a.cot;
    f.cotName = cotShortName(a.cot);
    f.negative = a.negative;
    f.test = a.test;
    f.originator = a.originator;
    f.ca = a.ca;
    f.objects = a.rawCount ?? a.objects.length;
    f.ioas = a.objects.slice(0, MAX_IOAS).map((o) => o.ioa);
  }
  return f;
}

/** Facts of one alert. */
export interface AlertFields {
  tsSec: number;
  iso: string;
  src: HostPort;
  dst: HostPort;
  flow: number | undefined;
  rule: string;
  severity: Severity;
  message: string;
  mitre?: string;
  /** Every technique of the alert, primary first (`Alert.techniques`), when more than one. */
  techniques?: string[];
  frame: number;
  /** The evidence as compact JSON. */
  evidenceJson: string;
}

/** Facts of one alert. */
export function alertFields(a: Alert): AlertFields {
  const flow = Number(a.evidence.flow);
  const f: AlertFields = {
    tsSec: a.ts / 1000,
    iso: isoMicros(a.ts),
    src: hostPort(a.src),
    dst: hostPort(a.dst),
    flow: Number.isInteger(flow) ? flow : undefined,
    rule: a.rule,
    severity: a.severity,
    message: a.message,
    frame: a.frame,
    evidenceJson: JSON.stringify(a.evidence),
  };
  if (a.mitre) f.mitre = a.mitre;
  if (a.techniques) f.techniques = a.techniques;
  return f;
}

/** Severity as 1 (highest) … 4, Suricata's order. */
export const EVE_SEVERITY: Record<Severity, number> = { critical: 1, high: 2, medium: 3, low: 4 };
/** Severity as 0–10 (CEF). */
export const CEF_SEVERITY: Record<Severity, number> = { low: 3, medium: 5, high: 8, critical: 10 };
/** Severity as a risk score 0–100 (ECS `event.severity`, Elastic's detection-rule convention). */
export const ECS_SEVERITY: Record<Severity, number> = { low: 21, medium: 47, high: 73, critical: 99 };
/** Severity as a syslog severity (RFC 5424: 2 critical, 3 error, 4 warning, 5 notice). */
export const SYSLOG_SEVERITY: Record<Severity, number> = { critical: 2, high: 3, medium: 4, low: 5 };

/** A stable numeric id for a rule id (FNV-1a, 32 bits, folded into 9 100 000–9 199 999). */
export function ruleNumber(rule: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < rule.length; i++) {
    h ^= rule.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return 9_100_000 + (h % 100_000);
}
