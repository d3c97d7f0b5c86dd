/**
 * `iec104 probe`: check, step by step, that a controlled station can be reached and talks
 * IEC 60870-5-104: TCP connect → (TLS handshake) → STARTDT → TESTFR → (station interrogation).
 * Every step is timed; the first step that fails ends the probe with an outcome, an exit code and
 * a diagnosis in plain words (what probably causes it and what to check).
 */
import type tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { COT, cotName, cotShortName } from '../codec/cause.js';
import { TypeId, typeName } from '../codec/type-table.js';
import { DEFAULT_LINK_PARAMETERS } from '../link/types.js';
import type { Clock } from '../clock.js';
import { classifyTlsCode, tlsAlertName } from '../transport/tls-verify.js';
import { buildAsdu } from './asdu-tools.js';
import { ConnectFailure, formatTarget, type Target, type TlsSessionInfo, TestConnection, openStream, refClock } from './connection.js';

/** How a probe ended. */
export type ProbeOutcome =
  | 'ok'
  | 'refused'
  | 'timeout'
  | 'unreachable'
  | 'dns'
  | 'tls-failed'
  | 'closed-after-accept'
  | 'no-startdt-con'
  | 'no-testfr-con'
  | 'interrogation-failed'
  | 'not-iec104'
  | 'error';

/** Exit code of `iec104 probe` for each outcome (2 is a usage error). */
export const PROBE_EXIT_CODES: Readonly<Record<ProbeOutcome, number>> = Object.freeze({
  ok: 0,
  error: 1,
  refused: 3,
  timeout: 4,
  unreachable: 5,
  dns: 6,
  'tls-failed': 7,
  'closed-after-accept': 8,
  'no-startdt-con': 9,
  'no-testfr-con': 10,
  'interrogation-failed': 11,
  'not-iec104': 12,
});

/** Names of the probe steps. */
export type ProbeStepName = 'connect' | 'tls' | 'startdt' | 'testfr' | 'interrogation';

/** One timed step. */
export interface ProbeStep {
  step: ProbeStepName;
  status: 'ok' | 'failed' | 'skipped';
  /** Duration (ms). */
  ms?: number;
  /** What happened, in words. */
  detail: string;
}

/** Result of the interrogation step. */
export interface ProbeInterrogation {
  ca: number;
  /** Information objects received with COT 20 (inrogen) between ACT_CON and ACT_TERM. */
  objects: number;
  /** ASDUs received in that time. */
  asdus: number;
  /** Objects per type name. */
  byType: Record<string, number>;
  /** ACT_CON and ACT_TERM times from sending (ms). */
  actConMs?: number;
  actTermMs?: number;
}

/** What {@link probe} found. */
export interface ProbeResult {
  target: string;
  outcome: ProbeOutcome;
  exitCode: number;
  steps: ProbeStep[];
  /** Plain-words diagnosis when a step failed. */
  diagnosis?: string;
  /** Low-level error code, when there was one (`ECONNREFUSED`, `E_T0_TIMEOUT`, a TLS code). */
  errorCode?: string;
  tls?: TlsSessionInfo;
  interrogation?: ProbeInterrogation;
}

/** Options of {@link probe}. */
export interface ProbeOptions {
  target: Target;
  /** Connection establishment time-out t0 (ms, default 30 000); also bounds the TLS handshake. */
  t0?: number;
  /** Time allowed for STARTDT con and TESTFR con (ms, default 15 000, the standard's t1). */
  t1?: number;
  /** Interrogate this common address after TESTFR. */
  interrogation?: { ca: number; qoi?: number; timeout?: number };
  /** TLS client options (certificate, key, CA, versions, ciphers). */
  tls?: tls.ConnectionOptions;
  clock?: Clock;
  /** Stream factory replacing `net.connect` (tests, proxies). */
  connect?: (host: string, port: number) => Duplex;
  readyEvent?: string;
}

/** Outcome and diagnosis for a failed connection attempt. */
export function diagnoseConnectFailure(f: ConnectFailure, t0: number): { outcome: ProbeOutcome; diagnosis: string } {
  const c = f.code;
  if (f.stage === 'tcp') {
    if (c === 'ECONNREFUSED') return { outcome: 'refused', diagnosis: 'connection refused: nothing listens on this port. The IEC 104 service is not running, or the port is wrong (the standard port is 2404), or a host firewall rejects the connection actively.' };
    if (c === 'E_T0_TIMEOUT' || c === 'ETIMEDOUT') return { outcome: 'timeout', diagnosis: `no answer to the connection request within t0 (${t0} ms): a firewall drops the packets silently, the host is down, or the address is wrong. Check the firewall rules between this machine and the station, and that the station is powered and on this address.` };
    if (c === 'EHOSTUNREACH' || c === 'ENETUNREACH' || c === 'EHOSTDOWN' || c === 'ENETDOWN') return { outcome: 'unreachable', diagnosis: `${c === 'ENETUNREACH' || c === 'ENETDOWN' ? 'network' : 'host'} unreachable: there is no route to the station. Check the IP routing (default gateway, VLAN, VPN) between this machine and the station.` };
    if (c === 'ENOTFOUND' || c === 'EAI_AGAIN' || c === 'EAI_NONAME') return { outcome: 'dns', diagnosis: `the host name does not resolve (${c}): check the name or use the IP address.` };
    if (c === 'ECONNRESET' || c === 'EPIPE') return { outcome: 'closed-after-accept', diagnosis: 'the connection was reset while connecting: something accepts the connection and drops it at once (a filtering gateway or the station refusing this source).' };
    return { outcome: 'error', diagnosis: `connection failed: ${f.message} (${c})` };
  }
  const m = `${c} ${f.message}`.toLowerCase();
  let why: string;
  // an alert from the station is its verdict on us: the same words as connect/command use
  const alert = tlsAlertName(c, f.message);
  if (alert && alert !== 'protocol_version') {
    const k = classifyTlsCode(c, f.message, { side: 'client', peerCertificateSeen: alert !== 'handshake_failure' && alert !== 'insufficient_security' });
    const hint = k.code === 'E_TLS_CERT_REFUSED' ? ': check that the station trusts the CA of --cert, that the certificate is valid, not revoked, and on its allow-list' : k.code === 'E_TLS_NO_SHARED_CIPHER' ? ' (or a certificate the station cannot use with our suites)' : '';
    return { outcome: 'tls-failed', diagnosis: `TLS handshake failed: ${k.code}: ${k.reason}${hint}.` };
  }
  if (c === 'E_TLS_TIMEOUT') why = 'no TLS answer in time: the port probably does not speak TLS (try without --tls), or the station waits for something else';
  else if (/cert_has_expired|certificate has expired/.test(m)) why = `certificate: the station's certificate has expired (${f.message})`;
  else if (/not_yet_valid|not yet valid/.test(m)) why = `certificate: the station's certificate is not valid yet; check both clocks (${f.message})`;
  else if (/altname|hostname|ip: .* is not in the cert/.test(m)) why = `certificate: the station's certificate does not name this host/address (${f.message})`;
  else if (/self_signed|self-signed|unable_to_verify|unable to verify|unable_to_get_issuer|unknown ca|cert_untrusted/.test(m) && !/alert/.test(m)) why = `certificate: the station's certificate does not chain to the given CA (${f.message})`;
  else if (/alert (bad certificate|certificate required|unknown ca|certificate unknown|access denied|decrypt error)|sslv3_alert_bad_certificate|tlsv13_alert_certificate_required|tlsv1_alert_unknown_ca/.test(m)) why = `certificate: the station rejected our certificate (wrong CA, expired, or not authorised on the station) (${f.message})`;
  else if (/protocol version|unsupported_protocol|unsupported protocol|wrong version number|no protocols available|version too low|tlsv1_alert_protocol_version/.test(m)) why = `version: no TLS version acceptable to both sides; IEC 62351-3 requires TLS 1.2 or later (${f.message})`;
  else if (/no shared cipher|no_shared_cipher|handshake failure|handshake_failure|no ciphers|no_cipher|no suitable/.test(m)) why = `cipher: no cipher suite acceptable to both sides (${f.message})`;
  else if (c === 'ECONNRESET' || /socket hang up|closed the connection/.test(m)) why = 'the station closed the connection during the handshake: it may not speak TLS on this port, or it refused our certificate';
  else why = `${f.message} (${c})`;
  return { outcome: 'tls-failed', diagnosis: `TLS handshake failed: ${why}.` };
}

/** Printable text of a peer's octets (control characters escaped), at most `max` characters. */
function printable(b: Uint8Array, max = 60): string {
  let out = '';
  for (const c of b.subarray(0, max)) out += c === 0x0d ? '\\r' : c === 0x0a ? '\\n' : c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  return b.length > max ? `${out}…` : out;
}

/** What a service that sent `b` (not IEC 104 framing) probably is, from its first octets. */
export function recogniseService(b: Uint8Array): string | undefined {
  const text = new TextDecoder('latin1').decode(b.subarray(0, 16));
  if (text.startsWith('SSH-')) return 'an SSH server';
  if (/^HTTP\/\d/.test(text)) return 'a web (HTTP) server';
  if (/^220[ -]/.test(text)) return 'an FTP or SMTP server';
  if (/^\+OK/.test(text)) return 'a POP3 server';
  if (/^\* OK/.test(text)) return 'an IMAP server';
  if (b[0] === 0x15 || b[0] === 0x16) return b[1] === 0x03 ? 'a TLS server (a TLS record: try --tls)' : undefined;
  if (b[0] === 0x03 && b[1] === 0x00) return 'a service speaking ISO-on-TCP (RFC 1006, e.g. S7 or IEC 61850 MMS)';
  return undefined;
}

/** The diagnosis for octets that are not IEC 104 framing. */
function notIec104(b: Uint8Array): string {
  const what = recogniseService(b);
  return `this is not IEC 104: the service sent "${printable(b)}"${what ? `, which looks like ${what}` : ''}; every IEC 60870-5-104 APDU starts with 68H followed by its length. Check the host and port (IEC 104 uses 2404, 19998 with TLS).`;
}

const CLOSED_AFTER_ACCEPT =
  'it accepts TCP connections but not from this client: the source address is probably not in the list of allowed masters, or the station already serves as many masters as it allows (often one per redundancy group), or it expects TLS on this port.';

/**
 * Probe a controlled station. Never throws for network problems: they are the outcome.
 */
export async function probe(opts: ProbeOptions): Promise<ProbeResult> {
  const clock = opts.clock ?? refClock;
  const t0 = opts.t0 ?? DEFAULT_LINK_PARAMETERS.t0;
  const t1 = opts.t1 ?? DEFAULT_LINK_PARAMETERS.t1;
  const steps: ProbeStep[] = [];
  const result = (outcome: ProbeOutcome, diagnosis?: string, extra: Partial<ProbeResult> = {}): ProbeResult => {
    for (const name of ['connect', 'tls', 'startdt', 'testfr', 'interrogation'] as ProbeStepName[]) {
      if (steps.some((s) => s.step === name)) continue;
      if (name === 'tls' && !opts.tls) continue;
      if (name === 'interrogation' && !opts.interrogation) continue;
      steps.push({ step: name, status: 'skipped', detail: 'not run: an earlier step failed' });
    }
    const order = ['connect', 'tls', 'startdt', 'testfr', 'interrogation'];
    steps.sort((a, b) => order.indexOf(a.step) - order.indexOf(b.step));
    for (const s of steps) if (s.ms !== undefined) s.ms = Math.round(s.ms * 10) / 10;
    return { target: formatTarget(opts.target), outcome, exitCode: PROBE_EXIT_CODES[outcome], steps, ...(diagnosis ? { diagnosis } : {}), ...extra };
  };

  let conn: TestConnection;
  try {
    const s = await openStream(opts.target, { t0, clock, tls: opts.tls, connect: opts.connect, readyEvent: opts.readyEvent });
    steps.push({ step: 'connect', status: 'ok', ms: s.tcpMs, detail: `TCP connection established with ${formatTarget(opts.target)}` });
    if (opts.tls && s.tls) {
      const i = s.tls;
      const cert = i.peerSubject ? `; station certificate ${i.peerSubject}, issued by ${i.peerIssuer ?? '?'}, valid ${i.validFrom ?? '?'} to ${i.validTo ?? '?'}` : '; the station sent no certificate';
      steps.push({ step: 'tls', status: 'ok', ms: s.tlsMs, detail: `${i.protocol ?? 'TLS'} with ${i.cipher}${cert}` });
    }
    conn = new TestConnection(s.socket, { clock }, s);
  } catch (e) {
    if (!(e instanceof ConnectFailure)) throw e;
    const d = diagnoseConnectFailure(e, t0);
    if (e.stage === 'tcp') steps.push({ step: 'connect', status: 'failed', ms: e.ms, detail: `${e.code}: ${e.message}` });
    else {
      steps.push({ step: 'connect', status: 'ok', ms: e.tcpMs, detail: `TCP connection established with ${formatTarget(opts.target)}` });
      steps.push({ step: 'tls', status: 'failed', ms: e.ms, detail: `${e.code}: ${e.message}` });
    }
    return result(d.outcome, d.diagnosis, { errorCode: e.code });
  }
  const tlsInfo = conn.stream?.tls ? { tls: conn.stream.tls } : {};
  try {
    // STARTDT; a service that sends anything that is not IEC 104 framing (a banner, an error page)
    // ends the probe at once, whether it spoke first or answered our STARTDT act
    let t = clock.now();
    const isJunk = (f: { apdu?: unknown; bytes: Uint8Array }): boolean => !f.apdu && (f.bytes.length === 0 || f.bytes[0] !== 0x68);
    const firstAnswer = conn.waitFrame((f) => isJunk(f) || (f.apdu?.apci.format === 'U' && f.apdu.apci.uFunction === 'STARTDT_CON'), t1, 0);
    conn.sendU('STARTDT_ACT');
    const answer = await firstAnswer;
    let ms = clock.now() - t;
    const junk = conn.frames.filter(isJunk);
    if (junk.length > 0 && (!answer || isJunk(answer))) {
      const bytes = Uint8Array.from(junk.flatMap((f) => [...f.bytes]));
      steps.push({ step: 'startdt', status: 'failed', ms, detail: `the service sent ${bytes.length} octet(s) that are not IEC 104: "${printable(bytes, 40)}"` });
      return result('not-iec104', notIec104(bytes), tlsInfo);
    }
    const started = answer !== undefined;
    if (!started) {
      if (conn.closed?.by === 'peer' && opts.tls) {
        // over TLS, a station that judges our certificate after the handshake (TLS 1.3, or any
        // Node/OpenSSL server that verifies late) refuses it by an alert or by closing at once
        const after = conn.closed.at - conn.openedAt;
        const err = conn.closed.error;
        const k = err && tlsAlertName(err) ? classifyTlsCode(err, undefined, { side: 'client', peerCertificateSeen: true }) : undefined;
        const why = k ? `${k.code}: ${k.reason}` : `E_TLS_CERT_REFUSED: the station closed the connection ${Math.round(after)} ms after the TLS handshake, without an alert: it most likely refused our certificate`;
        steps.push({ step: 'startdt', status: 'failed', ms, detail: why });
        return result('tls-failed', `TLS: ${why}; check that the station trusts the CA of --cert, that the certificate is valid (not expired, not yet valid), not revoked, and on the station's allow-list.`, { ...tlsInfo, errorCode: k?.code ?? 'E_TLS_CERT_REFUSED' });
      }
      if (conn.closed?.by === 'peer') {
        const after = conn.closed.at - conn.openedAt;
        steps.push({ step: 'startdt', status: 'failed', ms, detail: `the station closed the connection ${Math.round(after)} ms after accepting it${conn.closed.error ? ` (${conn.closed.error})` : ''}, without confirming STARTDT` });
        return result('closed-after-accept', `connection closed by the station right after accept: ${CLOSED_AFTER_ACCEPT}`, { ...tlsInfo, ...(conn.closed.error ? { errorCode: conn.closed.error } : {}) });
      }
      const got = conn.frames.length ? `; it sent ${conn.frames.length} other frame(s)` : '; it sent nothing';
      steps.push({ step: 'startdt', status: 'failed', ms, detail: `no STARTDT con within ${t1} ms${got}` });
      return result('no-startdt-con', `no STARTDT con: the TCP connection stays open but the station does not start data transfer. Either the other end is not a controlled station (wrong role: it is a master, or both ends wait for the other to send STARTDT), or the station is busy (it serves another master on this redundancy group and keeps this connection as stand-by, IEC 60870-5-104 clause 10), or it limits the number of active connections.`, tlsInfo);
    }
    steps.push({ step: 'startdt', status: 'ok', ms, detail: 'STARTDT con received: data transfer started' });
    // TESTFR
    t = clock.now();
    const tested = await conn.testfr(t1);
    ms = clock.now() - t;
    if (!tested) {
      const closed = conn.closed?.by === 'peer';
      steps.push({ step: 'testfr', status: 'failed', ms, detail: closed ? 'the station closed the connection instead of confirming TESTFR' : `no TESTFR con within ${t1} ms` });
      return result('no-testfr-con', closed ? 'the station closed the connection after STARTDT: it may accept only a limited number of masters, or it dislikes test frames.' : 'the station does not answer test frames (TESTFR act): its link layer is not conformant (clause 5.2 requires TESTFR con), or it is overloaded.', tlsInfo);
    }
    steps.push({ step: 'testfr', status: 'ok', ms, detail: 'TESTFR con received' });
    // interrogation
    let interrogation: ProbeInterrogation | undefined;
    if (opts.interrogation) {
      const { ca } = opts.interrogation;
      const timeout = opts.interrogation.timeout ?? 30_000;
      interrogation = { ca, objects: 0, asdus: 0, byType: {} };
      t = clock.now();
      const asdu = buildAsdu({ type: TypeId.C_IC_NA_1, ca, qualifier: opts.interrogation.qoi ?? 20 });
      conn.inbox.length = 0;
      conn.sendAsdu(asdu);
      const con = await conn.takeAsdu((a) => a.typeId === TypeId.C_IC_NA_1 && (a.cot === COT.ACTIVATION_CON || a.negative || a.cot >= 44), timeout);
      if (!con) {
        steps.push({ step: 'interrogation', status: 'failed', ms: clock.now() - t, detail: conn.closed ? 'the station closed the connection' : `no ACT_CON within ${timeout} ms` });
        return result('interrogation-failed', conn.closed ? 'the station closed the connection on the interrogation command.' : `the station did not confirm the interrogation of CA ${ca}.`, { ...tlsInfo, interrogation });
      }
      interrogation.actConMs = con.at - t;
      if (con.asdu.negative || con.asdu.cot !== COT.ACTIVATION_CON) {
        const why = `${cotShortName(con.asdu.cot)} (${con.asdu.cot}, ${cotName(con.asdu.cot)})${con.asdu.negative ? ', P/N=1 negative' : ''}`;
        steps.push({ step: 'interrogation', status: 'failed', ms: con.at - t, detail: `interrogation refused: ${why}` });
        const hint = con.asdu.cot === COT.UNKNOWN_CA ? `common address ${ca} is unknown to the station: check --ca.` : `the station refused the interrogation (${why}).`;
        return result('interrogation-failed', hint, { ...tlsInfo, interrogation });
      }
      const term = await conn.until(() => {
        for (let x = conn.inbox.shift(); x; x = conn.inbox.shift()) {
          if (x.asdu.typeId === TypeId.C_IC_NA_1) {
            if (x.asdu.cot === COT.ACTIVATION_TERMINATION) return x;
            continue;
          }
          interrogation!.asdus++;
          if (x.asdu.cot === COT.INTERROGATED_STATION || (x.asdu.cot >= 21 && x.asdu.cot <= 36)) {
            const n = x.asdu.objects.length || (x.asdu.rawCount ?? 0);
            interrogation!.objects += n;
            const name = typeName(x.asdu.typeId);
            interrogation!.byType[name] = (interrogation!.byType[name] ?? 0) + n;
          }
        }
        return conn.closed ? null : undefined;
      }, timeout);
      ms = clock.now() - t;
      if (!term) {
        steps.push({ step: 'interrogation', status: 'failed', ms, detail: `${interrogation.objects} object(s) received, ${conn.closed ? 'then the station closed the connection' : `no ACT_TERM within ${timeout} ms`}` });
        return result('interrogation-failed', conn.closed ? 'the station closed the connection during the interrogation.' : 'the interrogation never ended with ACT_TERM (the standard requires the activation termination after the last object).', { ...tlsInfo, interrogation });
      }
      interrogation.actTermMs = term.at - t;
      const types = Object.entries(interrogation.byType).map(([k, v]) => `${v} ${k}`).join(', ');
      steps.push({ step: 'interrogation', status: 'ok', ms, detail: `CA ${ca}: ${interrogation.objects} object(s) in ${interrogation.asdus} ASDU(s)${types ? ` (${types})` : ''}, ACT_CON ${Math.round(interrogation.actConMs)} ms, ACT_TERM ${Math.round(interrogation.actTermMs)} ms` });
    }
    if (!conn.closed) await conn.stopdt(Math.min(t1, 2000));
    return result('ok', undefined, { ...tlsInfo, ...(interrogation ? { interrogation } : {}) });
  } finally {
    conn.close(500);
  }
}

/** The probe result as text lines for a terminal. */
export function formatProbe(r: ProbeResult): string {
  const lines = [`probe ${r.target}`];
  for (const s of r.steps) {
    const mark = s.status === 'ok' ? 'ok  ' : s.status === 'failed' ? 'FAIL' : 'skip';
    const ms = s.ms === undefined ? '' : `${s.ms.toFixed(1).padStart(9)} ms`;
    lines.push(`  ${mark} ${s.step.padEnd(13)} ${ms.padEnd(12)} ${s.detail}`);
  }
  lines.push(r.outcome === 'ok' ? 'result: ok' : `result: ${r.outcome} (exit ${r.exitCode})`);
  if (r.diagnosis) lines.push(`diagnosis: ${r.diagnosis}`);
  return lines.join('\n');
}
