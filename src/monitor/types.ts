/**
 * Input and output types of the passive monitor (`src/monitor`): what it consumes (one
 * {@link ObservedApdu} per APDU seen on the wire) and what it produces ({@link Alert}s).
 */
import type { Apdu } from '../codec/apdu.js';

/** Which way an APDU travelled: from the controlling station (master) or from the controlled station (RTU). */
export type FlowDirection = 'master→station' | 'station→master';

/** A decode failure of one APDU, as the capture layer reports it. */
export interface ObservedError {
  /** Codec error code, e.g. `E_APDU_LENGTH`, or a capture code such as `W_TCP_PARTIAL_APDU`. */
  code: string;
  /** Byte offset in `raw`. */
  offset: number;
  field: string;
  message: string;
}

/**
 * One APDU observed on the wire: the monitor's only input. Either `apdu` (decoded) or `error`
 * (could not be decoded) is set; `raw` holds the APDU octets as sent.
 */
export interface ObservedApdu {
  /** 1-based frame number in the capture (or a running counter for live traffic). */
  frame: number;
  /** Capture time, epoch milliseconds (fractional). All timing rules use this clock. */
  ts: number;
  /** Sender, `ip:port` (`[v6]:port` for IPv6). */
  src: string;
  /** Receiver, `ip:port`. */
  dst: string;
  /** Stable id of the TCP connection (same for both directions). */
  flow: string;
  /** When known (e.g. from the TCP handshake); otherwise the monitor infers it. */
  direction?: FlowDirection;
  apdu?: Apdu;
  error?: ObservedError;
  raw: Uint8Array;
  /**
   * Identity of the *master* side of the connection, when a TLS-terminating front end (e.g.
   * `iec104 proxy --listen-tls`) knows it; the same value on every APDU of the flow, both
   * directions. Checked against the policy's `masters[].certificateSubjects`
   * ({@link certificateSubjectMatches} gives the matching rule).
   *
   * * a string: the subject of the master's **verified** client certificate, in the format of
   *   `PeerCertificateInfo.subject` / `AcceptedConnection.peer.subject` — Node's
   *   `X509Certificate.subject` (RFC 2253 escaping, most significant RDN first) with its line
   *   breaks joined by `, `, e.g. `CN=scada-a, O=Utility\, Inc.`. The raw form with line breaks
   *   (`C=DE\nO=X\nCN=scada-a`) is accepted too.
   * * `null`: the front end terminated the connection and the master presented no verified
   *   certificate (plain TCP listener, or TLS without a client certificate).
   * * absent: nobody knows (offline captures, passive taps); the policy cannot check subjects.
   */
  peerSubject?: string | null;
}

/** Alert severities, lowest first. */
export type Severity = 'low' | 'medium' | 'high' | 'critical';

/** JSON-serialisable values used in alert evidence. */
import type { JsonValue } from '../codec/json-view.js';
export type { JsonValue };

/** One finding. Plain JSON: print one a line with `JSON.stringify`. */
export interface Alert {
  kind: 'alert';
  /** Stable rule id, e.g. `cmd.toggle`, `link.seq-gap`, `policy.unknown-master`. */
  rule: string;
  severity: Severity;
  /** One human sentence. */
  message: string;
  /** Frame that triggered the alert (the last frame of a rate window). */
  frame: number;
  /** Capture time of that frame, epoch ms. */
  ts: number;
  src: string;
  dst: string;
  /** Rule-specific facts (always includes `flow`). */
  evidence: { [key: string]: JsonValue };
  /** MITRE ATT&CK for ICS technique id, when one fits (the rule's primary technique). */
  mitre?: string;
  /**
   * Every ATT&CK for ICS technique the alert shows, `mitre` first, when there is more than one
   * (e.g. `recon.ca-sweep`: T0846 and T0888); see `ALSO_TECHNIQUES`.
   */
  techniques?: string[];
}

/** An {@link ObservedApdu} with roles resolved (internal to the monitor, exported for custom rules). */
export interface Observation extends ObservedApdu {
  /** FlowDirection, inferred when the input did not carry one; undefined while unknown. */
  dir: FlowDirection | undefined;
  /** `ip:port` of the master side of the flow, when known. */
  master: string | undefined;
  /** `ip:port` of the station side of the flow, when known. */
  station: string | undefined;
}

/** Host part of `ip:port` or `[v6]:port`. */
export function hostOf(addr: string): string {
  if (addr.startsWith('[')) {
    const end = addr.indexOf(']');
    return end > 0 ? addr.slice(1, end) : addr;
  }
  const i = addr.lastIndexOf(':');
  if (i < 0) return addr;
  // a bare IPv6 address without port has several colons: keep it whole
  return addr.indexOf(':') === i ? addr.slice(0, i) : addr;
}

/** Port of `ip:port`, or undefined. */
export function portOf(addr: string): number | undefined {
  const i = addr.lastIndexOf(':');
  if (i < 0) return undefined;
  if (!addr.startsWith('[') && addr.indexOf(':') !== i) return undefined;
  const p = Number(addr.slice(i + 1));
  return Number.isInteger(p) ? p : undefined;
}

/** Build an alert (evidence always carries the flow id). */
export function makeAlert(
  o: Pick<ObservedApdu, 'frame' | 'ts' | 'src' | 'dst' | 'flow'>,
  rule: string,
  severity: Severity,
  message: string,
  evidence: { [key: string]: JsonValue } = {},
  mitre?: string,
): Alert {
  const a: Alert = { kind: 'alert', rule, severity, message, frame: o.frame, ts: o.ts, src: o.src, dst: o.dst, evidence: { flow: o.flow, ...evidence } };
  if (mitre) a.mitre = mitre;
  return a;
}
