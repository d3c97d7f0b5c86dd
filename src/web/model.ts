/**
 * The workbench's JSON shapes (what `/api/…` returns and the page draws) and the conversions from
 * library objects into them. Composition only: values are formatted by the master's text views,
 * frames explained by the codec's explainer.
 */
import { explainApdu, type ExplainRow } from '../codec/explain.js';
import { cotShortName } from '../codec/cause.js';
import { typeName } from '../codec/type-table.js';
import type { Alert, JsonValue } from '../monitor/types.js';
import { pointCells, qualityFlags } from '../master/format.js';
import type { PointValue } from '../master/points.js';
import type { LinkSnapshot } from '../link/types.js';
import type { ConnectionTls } from '../transport/security-events.js';
import { pointObject, type StationPoint } from '../station/point-database.js';

/** One row of the points table. */
export interface PointRow {
  /** `ca:ioa`, unique within a workbench. */
  key: string;
  ca: number;
  ioa: number;
  /** Configured name (station side), or empty. */
  name: string;
  /** Type mnemonic, e.g. `M_ME_NC_1`. */
  type: string;
  typeId: number;
  /** The value as text (ON/OFF, the DPI name, numbers as sent). */
  value: string;
  /** Set quality flags in upper case (`IV`, `NT`, `SB`, `BL`, `OV`, `EI`); null when the type has none. */
  quality: string[] | null;
  /** Time tag as text, or empty. */
  time: string;
  /** Short cause of the last transmission (`spont`, `inrogen`, …), empty on the station side. */
  cause: string;
  /** Wall time of the last update, epoch ms. */
  updated: number;
  /** Which side the row comes from (`proxy`: seen passing through the proxy). */
  source: 'master' | 'station' | 'proxy';
}

/** A point row from a value received by the master. `updated` is wall time. */
export function rowFromPointValue(p: PointValue, updated: number, name = ''): PointRow {
  const cells = pointCells(p);
  const q = qualityFlags(p.quality);
  return {
    key: `${p.ca}:${p.ioa}`, ca: p.ca, ioa: p.ioa, name, type: p.type, typeId: p.typeId, value: cells[3],
    quality: q === null ? null : q.map((f) => f.toUpperCase()), time: cells[6], cause: cells[5], updated, source: 'master',
  };
}

/** A point row from the station's point database (its current value). */
export function rowFromStationPoint(p: StationPoint): PointRow {
  const typeId = p.staticType ?? p.eventType;
  const object = pointObject(p, typeId);
  const pv: PointValue = { ca: p.ca, ioa: p.ioa, typeId, type: typeName(typeId), cot: 3, test: false, receivedAt: p.time, object };
  let v: unknown = object.value;
  if (v === undefined && object.events !== undefined) v = object.events;
  if (v === undefined && object.circuits !== undefined) v = object.circuits;
  if (v === undefined && typeof object.status === 'number') v = { status: object.status, changes: object.changes };
  if (v !== undefined) pv.value = v as PointValue['value'];
  if (object.quality !== undefined) pv.quality = object.quality as PointValue['quality'];
  if (object.time !== undefined) pv.time = object.time as PointValue['time'];
  const row = rowFromPointValue(pv, p.time, p.name ?? '');
  row.cause = '';
  row.source = 'station';
  return row;
}

/** One connection in the connection panel. */
export interface ConnectionRow {
  /**
   * `station` (a master connected to our station), `master` (our connection to a station), `proxy`
   * (the proxy's listener, and each leg of each session: see `leg`).
   */
  role: 'station' | 'master' | 'proxy';
  /** For a proxy session: the leg toward the master or toward the RTU (station). */
  leg?: 'master' | 'station';
  /** Connection id within its side. */
  id: string;
  /** Peer `ip:port`, when known. */
  peer: string;
  /** Link state, e.g. `started` (after STARTDT) or `stopped`; for the master its own state. */
  state: string;
  /** Whether data transfer is started (STARTDT confirmed). */
  started: boolean;
  vs: number | null;
  vr: number | null;
  /** Sent I-frames not yet acknowledged by the peer. */
  unacknowledged: number | null;
  /** Events waiting in the queue for this connection, when the side has one. */
  queued: number | null;
  /** Redundancy group and whether this connection is its active one (station side). */
  group?: string;
  active?: boolean;
  /** TLS facts, when the connection is TLS. */
  tls?: TlsRow;
  /** Counters (frames, bytes, requests…) as name → number. */
  counters: Record<string, number>;
}

/** TLS facts of a connection, flat for the connection panel. */
export interface TlsRow {
  /** `TLSv1.2`, `TLSv1.3`. */
  version: string;
  /** OpenSSL suite name. */
  suite: string;
  /** IANA suite name, when it differs. */
  standardName?: string;
  forwardSecrecy: boolean;
  resumed: boolean;
  /** The peer certificate (absent when the peer sent none). */
  peerSubject?: string;
  peerIssuer?: string;
  /** SHA-256 fingerprint `AA:BB:…`. */
  peerFingerprint?: string;
  peerSerial?: string;
  peerValidFrom?: string;
  /** Expiry (`notAfter`), as the certificate says it. */
  peerValidTo?: string;
  /** Key type and size, e.g. `ec 256`. */
  peerKey?: string;
  /** Whether the peer was authenticated by its certificate. */
  verified: boolean;
  /** What was checked (`verified: chain to a configured CA, …`) or why not. */
  verification: string;
}

/** A connection's TLS facts as a {@link TlsRow}. */
export function tlsRow(t: ConnectionTls | undefined): TlsRow | undefined {
  if (!t) return undefined;
  const p = t.peer;
  return {
    version: t.session.version, suite: t.session.cipher, ...(t.session.standardName ? { standardName: t.session.standardName } : {}),
    forwardSecrecy: t.session.forwardSecrecy, resumed: t.session.resumed,
    ...(p ? { peerSubject: p.subject, peerIssuer: p.issuer, peerFingerprint: p.fingerprint256, peerSerial: p.serialNumber, peerValidFrom: p.validFrom, peerValidTo: p.validTo, peerKey: `${p.keyType} ${p.keyBits}` } : {}),
    verified: t.verified, verification: t.verification,
  };
}

/** One redundancy group of the station: its event queue depth and its connections. */
export interface GroupRow {
  name: string;
  /** Whether the group (and its queue) outlives its connections. */
  persistent: boolean;
  /** Ids of its open connections (as `ConnectionRow.id` of role `station`). */
  connections: string[];
  /** Id of the active connection (the one receiving the events), if any. */
  active?: string;
  /** Queue capacity (events). */
  capacity: number;
  /** Events waiting to be sent. */
  pending: number;
  /** Events sent and not yet acknowledged. */
  inFlight: number;
  enqueued: number;
  sent: number;
  acknowledged: number;
  requeued: number;
  /** Events dropped on overflow. */
  dropped: number;
  takeovers: number;
}

/** Connection fields of a link snapshot. */
export function linkFields(l: LinkSnapshot | undefined): Pick<ConnectionRow, 'vs' | 'vr' | 'unacknowledged' | 'counters'> & { linkState: string } {
  if (!l) return { vs: null, vr: null, unacknowledged: null, counters: {}, linkState: 'closed' };
  return { vs: l.vs, vr: l.vr, unacknowledged: l.unacknowledged, counters: { ...l.counters }, linkState: String(l.state) };
}

/** One command in the commands list (sent from the page, or tracked in a capture/proxy). */
export interface CommandRow {
  id: number;
  /** Epoch ms when it was issued. */
  ts: number;
  ca: number;
  ioa: number;
  typeId: number;
  type: string;
  value: JsonValue;
  /** `select`, `execute`, `select+execute` or `direct`. */
  step: string;
  /** `pending`, `positive`, `negative`, `timeout`, `refused`, `no-answer`; through the proxy also `forwarded` (outcome not yet known) and `blocked`. */
  outcome: string;
  /** Why, when not positive. */
  reason?: string;
  /** Request → ACT_CON, ms. */
  actConMs?: number;
  /** Request → ACT_TERM, ms. */
  actTermMs?: number;
  /** Where it came from: `page`, `capture`, `proxy`, `master` (sent by the master's own program, seen by its monitor). */
  origin: string;
  /** The master that sent it (`ip:port`), through the proxy. */
  peer?: string;
}

/** One alert (the monitor's {@link Alert}, as sent to the page). */
export type AlertRow = Alert;

/** Layer of an explained field, for colouring. */
export type FieldLayer = 'apci' | 'asdu-header' | 'ioa' | 'element' | 'other';

/** The layer a field of {@link explainApdu} belongs to. */
export function layerOf(field: string): FieldLayer {
  if (field === 'start' || field === 'length' || field === 'control') return 'apci';
  if (field === 'type ID' || field === 'VSQ' || field === 'COT' || field === 'CA') return 'asdu-header';
  if (/^object\[\d+\]\.IOA$/.test(field)) return 'ioa';
  if (field.startsWith('object[') || field === 'objects (raw)') return 'element';
  return 'other';
}

/** The JSON answer of `/api/decode`. */
export interface DecodeAnswer {
  /** The octets as upper-case hex separated by spaces. */
  hex: string;
  rows: (ExplainRow & { layer: FieldLayer })[];
  /** Why the input does not decode, when it does not. */
  error?: { code: string; message: string; offset?: number; field?: string };
  warnings: string[];
  /** A one-line summary, when it decoded (`I(ns=0,nr=0) C_IC_NA_1 act CA=1`…). */
  summary?: string;
}

/** Parse hex text (spaces, colons, commas, `0x` prefixes allowed). Returns a message instead on bad input. */
export function parseHexText(text: string): Uint8Array | string {
  const cleaned = text.replace(/0x/gi, '').replace(/[\s:,;-]+/g, '');
  if (cleaned === '') return 'no octets given';
  const bad = /[^0-9a-f]/i.exec(cleaned);
  if (bad) return `not a hex digit: '${bad[0]}' at position ${bad.index + 1} of the cleaned input`;
  if (cleaned.length % 2) return `odd number of hex digits (${cleaned.length}): an octet is missing a digit`;
  if (cleaned.length > 2 * 65536) return 'too long: at most 65536 octets';
  const out = new Uint8Array(cleaned.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(cleaned.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Explain octets for the decoder page. */
export function decodeAnswer(bytes: Uint8Array): DecodeAnswer {
  const x = explainApdu(bytes);
  const a: DecodeAnswer = {
    hex: x.rows.map((r) => r.bytes).join(' '),
    rows: x.rows.map((r) => ({ ...r, layer: layerOf(r.field) })),
    warnings: x.warnings.map((w) => `${w.code} at octet ${w.offset} (${w.field}): ${w.message}`),
  };
  if (x.error) a.error = { code: x.error.code, message: x.error.message, offset: x.error.offset, field: x.error.field };
  const ap = x.apdu;
  if (ap) {
    const c = ap.apci;
    if (c.format === 'I' && ap.asdu) a.summary = `I-frame N(S)=${c.sendSeq} N(R)=${c.recvSeq}: ${typeName(ap.asdu.typeId)} ${cotShortName(ap.asdu.cot)}${ap.asdu.negative ? ' negative' : ''} CA=${ap.asdu.ca}, ${ap.asdu.objects.length} object(s)`;
    else if (c.format === 'S') a.summary = `S-frame N(R)=${c.recvSeq}`;
    else if (c.format === 'U') a.summary = `U-frame ${c.uFunction}`;
  }
  return a;
}
