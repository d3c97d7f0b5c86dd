/**
 * Request matching of the controlling station: the open requests (sent or waiting for the send
 * window), their answers found by type, common address, IOA and cause (ACT_CON, DEACT_CON,
 * ACT_TERM, negative confirmations, interrogation data, read responses), time-outs, and the audit
 * record of every command. It sends through the started link the host gives it and knows nothing
 * of connecting.
 */
import type { Asdu, InformationObject } from '../codec/asdu.js';
import { encodeAsdu } from '../codec/asdu.js';
import { COT, cotName } from '../codec/cause.js';
import { CodecError } from '../codec/errors.js';
import { type CodecOptions, broadcastAddress } from '../codec/options.js';
import { familyOf, typeInfo, typeName } from '../codec/type-table.js';
import type { Clock, TimerHandle } from '../clock.js';
import type { Logger } from '../log.js';
import type { AuditLog, CommandAuditRecord } from '../transport/audit-log.js';
import type { MasterLink } from './connection.js';
import { MasterError, NegativeConfirmationError, type RequestKey, type RequestPhase, RequestTimeoutError } from './errors.js';
import { type PointValue, toPointValues } from './points.js';
import type { InterrogationResult, MasterCounters, ReadResult, RequestOptions, RequestResult, RoundTrip } from './types.js';

/** What a request is, for matching its answers. @internal */
export type RequestKind = 'command' | 'interrogation' | 'counter' | 'read';
/** The step of a request: a select or an execute of select-before-operate, or a plain request. @internal */
export type RequestStep = 'select' | 'execute' | 'request';

interface Pending {
  id: number;
  key: RequestKey;
  keyStr: string;
  asdu: Asdu;
  kind: RequestKind;
  step: RequestStep;
  until: 'actcon' | 'actterm';
  /** Cause of the data an interrogation collects. */
  dataCot?: number;
  /** Monitor type a read expects (any when undefined). */
  readType?: number;
  state: 'queued' | 'sent' | 'done';
  submittedAt: number;
  sentAt?: number;
  confirmation?: Asdu;
  termination?: Asdu;
  rtt: RoundTrip;
  asdus: Asdu[];
  objects: PointValue[];
  timer?: TimerHandle;
  termTimeout: number;
  /** Broadcast interrogation: addresses that confirmed / terminated. */
  bcastCon?: Set<number>;
  bcastTerm?: Set<number>;
  resolve(r: RequestResult): void;
  reject(e: MasterError): void;
  cleanup?: () => void;
}

const isRefusal = (cot: number): boolean => cot >= COT.UNKNOWN_TYPE && cot <= COT.UNKNOWN_IOA;


/**
 * What a negative confirmation most likely means, from the cause and P/N alone: the station's own
 * reason (a station may log one) does not travel on the wire, so this names the causes that fit.
 */
function negativeHint(request: RequestKey, step: RequestStep, answer: Asdu): string {
  const what = `${typeName(request.typeId)} CA ${request.ca} IOA ${request.ioa}`;
  switch (answer.cot) {
    case COT.UNKNOWN_TYPE:
      return `${what}: the station does not support type ${request.typeId} (cause 44 unknown type)`;
    case COT.UNKNOWN_CAUSE:
      return `${what}: the station does not accept cause ${request.cot} for this type (cause 45 unknown cause)`;
    case COT.UNKNOWN_CA:
      return `${what}: the station has no common address ${request.ca} (cause 46 unknown common address)${request.ca === 0xffff ? '; it does not accept broadcasts: address the station by its own CA' : ''}`;
    case COT.UNKNOWN_IOA:
      return `${what}: the station has no object ${request.ioa} for this type at CA ${request.ca} (cause 47 unknown IOA)`;
    default:
      break;
  }
  const refused = `${what}: refused by the station (cause ${answer.cot} ${cotName(answer.cot)} with P/N=1)`;
  if (step === 'select') return `${refused}: the select was not accepted (object blocked, already selected by another master, or not selectable)`;
  if (step === 'execute') return `${refused}: the execute after a positive select was refused (select timed out at the station, or the value is not allowed)`;
  if (typeInfo(request.typeId)?.category === 'process-control') return `${refused}: possible reasons: the object requires select before operate (--select), the value or qualifier is not allowed, the object is blocked or in local mode`;
  return `${refused}: the station refused the request (not supported in this state, or a qualifier it does not accept)`;
}

const NO_ASDUS: readonly Asdu[] = Object.freeze([]);
const NO_VALUES: readonly PointValue[] = Object.freeze([]);


/** Codes of a request refused before it was sent. @internal */
export type RefusalCode = 'E_REQUEST_PENDING' | 'E_NOT_CONNECTED' | 'E_QUEUE_FULL' | 'E_CLOSED' | 'E_INVALID' | 'E_ABORTED';

/** One request to send and track (the single form every request helper builds). @internal */
export interface RequestSpec {
  typeId: number;
  ca: number;
  ioa: number;
  /** The object's elements (without the IOA); taken over by the tracker (callers pass a fresh object). */
  object: Record<string, unknown>;
  cot: number;
  kind: RequestKind;
  step: RequestStep;
  opts: RequestOptions;
  /** Cause of the data an interrogation collects. */
  dataCot?: number;
  /** Monitor type a read expects (any when undefined). */
  readType?: number;
}

/** What the tracker needs from the connection's owner. @internal */
export interface TrackerHost {
  /** The link while data transfer is started, else undefined. */
  startedLink(): MasterLink | undefined;
  /** close() was called: requests are refused with E_CLOSED. */
  closed(): boolean;
  /** The owner's state, for messages. */
  state(): string;
}

/** Settings of a {@link RequestTracker}. @internal */
export interface TrackerOptions {
  clock: Clock;
  log: Logger;
  logOn: boolean;
  codec: CodecOptions;
  originator: number;
  requestTimeout: number;
  terminationTimeout: number;
  broadcastSettle: number;
  queueLimit: number;
  wallClock: () => Date;
  audit: AuditLog | undefined;
  auditSource: CommandAuditRecord['source'];
  counters: MasterCounters;
}

/**
 * Open requests of one controlling station and the matching of their answers.
 * @internal
 */
export class RequestTracker {
  private readonly clock: Clock;
  private readonly log: Logger;
  /** False when logs are discarded: hot paths then skip building messages. */
  private readonly logOn: boolean;
  private readonly codec: CodecOptions;
  private readonly originator: number;
  private readonly requestTimeout: number;
  private readonly terminationTimeout: number;
  private readonly broadcastSettle: number;
  private readonly queueLimit: number;
  private readonly wallClock: () => Date;
  private readonly audit: AuditLog | undefined;
  private readonly auditSource: CommandAuditRecord['source'];
  private readonly counters: MasterCounters;
  /**
   * Commands that resolved at ACT_CON and may still get their ACT_TERM: key -> deadline. A
   * termination for such a key belongs to that earlier command, not to a newer identical one.
   */
  private readonly awaitingTerm = new Map<string, number>();
  private seq = 0;
  /** Open requests by key (type/CA/IOA/cause). */
  readonly pending = new Map<string, Pending>();
  /** Requests waiting for the send window. */
  readonly queue: Pending[] = [];

  constructor(
    private readonly host: TrackerHost,
    o: TrackerOptions,
  ) {
    this.clock = o.clock;
    this.log = o.log;
    this.logOn = o.logOn;
    this.codec = o.codec;
    this.originator = o.originator;
    this.requestTimeout = o.requestTimeout;
    this.terminationTimeout = o.terminationTimeout;
    this.broadcastSettle = o.broadcastSettle;
    this.queueLimit = o.queueLimit;
    this.wallClock = o.wallClock;
    this.audit = o.audit;
    this.auditSource = o.auditSource;
    this.counters = o.counters;
  }

  private caMatches(p: Pending, ca: number): boolean {
    return p.key.ca === ca || p.key.ca === broadcastAddress(this.codec);
  }

  match(asdu: Asdu, now: number): void {
    const cot = asdu.cot;
    if ((cot === COT.ACTIVATION_TERMINATION || cot === COT.ACTIVATION_CON) && this.awaitingTerm.size > 0 && asdu.objects.length > 0) {
      const k = `${asdu.typeId}/${asdu.ca}/${asdu.objects[0].ioa}/${COT.ACTIVATION}`;
      const deadline = this.awaitingTerm.get(k);
      if (deadline !== undefined) {
        this.awaitingTerm.delete(k);
        // TCP keeps order and a station confirms no new command on an object before it terminated
        // the previous one: an ACT_TERM arriving before any newer ACT_CON for the same object
        // belongs to the earlier command that already resolved at ACT_CON. A newer ACT_CON means
        // that termination has passed (or never comes), so the record is just dropped.
        if (cot === COT.ACTIVATION_TERMINATION && deadline >= now) {
          if (this.logOn) this.log.log('debug', 'master.late_termination', `${typeName(asdu.typeId)} ACT_TERM CA ${asdu.ca} IOA ${k.split('/')[2]}: termination of a command that already resolved at its ACT_CON`, { typeId: asdu.typeId, ca: asdu.ca });
          return;
        }
      }
    }
    if (cot === COT.ACTIVATION_CON || cot === COT.DEACTIVATION_CON || cot === COT.ACTIVATION_TERMINATION || isRefusal(cot) || (asdu.negative && typeInfo(asdu.typeId)?.direction === 'control')) {
      const p = typeInfo(asdu.typeId) === undefined && cot === COT.ACTIVATION_TERMINATION && asdu.objects.length === 0 ? this.findTypeZeroTermination(asdu) : this.findRequest(asdu);
      if (p) {
        this.onAnswer(p, asdu, now);
        return;
      }
      if (this.logOn) this.log.log('debug', 'master.unmatched', `${typeName(asdu.typeId)} ${cotName(cot)}${asdu.negative ? ' (P/N=1)' : ''} CA ${asdu.ca}${asdu.objects.length ? ` IOA ${asdu.objects[0].ioa}` : ''}: no open request of ours matches it (type, common address, IOA, cause); ignored for request tracking`, { typeId: asdu.typeId, ca: asdu.ca, cot, negative: asdu.negative });
      return;
    }
    if (cot >= COT.INTERROGATED_STATION && cot <= 41) {
      let used = false;
      for (const p of this.pending.values()) {
        if (p.state === 'sent' && p.dataCot === cot && this.caMatches(p, asdu.ca)) {
          used = true;
          p.asdus.push(asdu);
          for (const v of toPointValues(asdu, now)) p.objects.push(v);
        }
      }
      if (!used && this.logOn) this.log.log('debug', 'master.unmatched', `${typeName(asdu.typeId)} CA ${asdu.ca} with cause ${cot} (${cotName(cot)}): no open (counter) interrogation of that group; delivered as data only`, { typeId: asdu.typeId, ca: asdu.ca, cot });
      return;
    }
    if (cot === COT.REQUEST) {
      for (const p of this.pending.values()) {
        if (p.state !== 'sent' || p.kind !== 'read' || !this.caMatches(p, asdu.ca)) continue;
        if (p.readType !== undefined ? asdu.typeId !== p.readType : familyOf(asdu.typeId) === 'read') continue;
        const obj = asdu.objects.find((o) => o.ioa === p.key.ioa);
        if (!obj) continue;
        p.rtt.response = now - (p.sentAt ?? p.submittedAt);
        this.counters.confirmations++;
        const value = toPointValues({ ...asdu, objects: [obj] }, now)[0];
        const r: ReadResult = { request: p.key, sent: p.asdu, rtt: p.rtt, response: asdu, value };
        this.finish(p, r);
        return;
      }
      if (this.logOn) this.log.log('debug', 'master.unmatched', `${typeName(asdu.typeId)} CA ${asdu.ca} with cause 5 (request): no open read command of that object; delivered as data only`, { typeId: asdu.typeId, ca: asdu.ca, cot });
      return;
    }
    if (this.logOn && typeInfo(asdu.typeId) === undefined) {
      this.log.log('debug', 'master.unknown_type', `${typeName(asdu.typeId)} CA ${asdu.ca} cause ${cot}: type not defined by the standard; delivered raw`, { typeId: asdu.typeId, ca: asdu.ca, cot });
    }
  }

  /**
   * Tolerance for stations built on a widely used C stack: they end an interrogation with an
   * ACT_TERM of type ID 0 and no object (a type the standard does not define: any such type is
   * taken the same way). It completes the open (counter) interrogation of that common address:
   * the confirmed one first, the oldest first (CONFORMANCE M50).
   */
  private findTypeZeroTermination(asdu: Asdu): Pending | undefined {
    let best: Pending | undefined;
    for (const p of this.pending.values()) {
      if (p.state !== 'sent' || (p.kind !== 'interrogation' && p.kind !== 'counter') || p.key.cot !== COT.ACTIVATION || !this.caMatches(p, asdu.ca)) continue;
      if (!best || (p.confirmation !== undefined && best.confirmation === undefined) || ((p.confirmation !== undefined) === (best.confirmation !== undefined) && p.id < best.id)) best = p;
    }
    if (best) {
      this.log.log('warn', 'master.type0_termination', `ACT_TERM with type ID ${asdu.typeId} and no object from CA ${asdu.ca}: taken as the termination of ${typeName(best.key.typeId)} CA ${best.key.ca} (a non-standard station; tolerated)`, { request: best.key, ca: asdu.ca });
    }
    return best;
  }

  private findRequest(asdu: Asdu): Pending | undefined {
    const ioa = asdu.objects.length > 0 ? asdu.objects[0].ioa : undefined;
    const cot = asdu.cot;
    const family = cot === COT.DEACTIVATION_CON ? COT.DEACTIVATION : cot === COT.ACTIVATION_CON || cot === COT.ACTIVATION_TERMINATION ? COT.ACTIVATION : undefined;
    let loose: Pending | undefined;
    for (const p of this.pending.values()) {
      if (p.state !== 'sent' || p.asdu.typeId !== asdu.typeId || !this.caMatches(p, asdu.ca)) continue;
      if (family !== undefined && p.key.cot !== family) continue;
      if (ioa === p.key.ioa) return p;
      // an empty ASDU (no object, no IOA): tolerated, matched by type, CA and cause
      if (ioa === undefined && loose === undefined) loose = p;
    }
    return loose;
  }

  private onAnswer(p: Pending, asdu: Asdu, now: number): void {
    const rtt = now - (p.sentAt ?? p.submittedAt);
    if (p.until === 'actterm' && (p.kind === 'interrogation' || p.kind === 'counter') && p.key.ca === broadcastAddress(this.codec)) {
      this.onBroadcastAnswer(p, asdu, rtt);
      return;
    }
    if (asdu.negative || isRefusal(asdu.cot)) {
      this.counters.negatives++;
      this.log.log('warn', 'master.negative', `negative confirmation of ${typeName(p.key.typeId)} CA ${p.key.ca} IOA ${p.key.ioa}${p.step !== 'request' ? ` (${p.step})` : ''}: cause ${asdu.cot} ${cotName(asdu.cot)}${asdu.negative ? ', P/N=1' : ''}`, { request: p.key, cot: asdu.cot, negative: asdu.negative, rtt, step: p.step });
      if (this.logOn) this.log.log('debug', 'master.negative_detail', negativeHint(p.key, p.step, asdu), { request: { ...p.key, type: typeName(p.key.typeId), object: p.asdu.objects[0] }, answer: { typeId: asdu.typeId, cot: asdu.cot, cotName: cotName(asdu.cot), negative: asdu.negative, ca: asdu.ca, originator: asdu.originator, object: asdu.objects[0] } });
      this.finish(p, new NegativeConfirmationError(p.key, asdu, rtt, p.step));
      return;
    }
    if (asdu.cot === COT.ACTIVATION_CON || asdu.cot === COT.DEACTIVATION_CON) {
      if (p.confirmation) {
        this.log.log('warn', 'master.duplicate_confirmation', 'a second confirmation for the same request was ignored', { request: p.key });
        return;
      }
      p.confirmation = asdu;
      p.rtt.actCon = rtt;
      this.counters.confirmations++;
      if (this.logOn) this.log.log('debug', 'master.confirmation', `confirmation after ${rtt} ms`, { request: p.key, rtt });
      if (p.until === 'actcon' || asdu.cot === COT.DEACTIVATION_CON) {
        this.finish(p, this.result(p));
        return;
      }
      this.clock.clearTimeout(p.timer);
      p.timer = this.clock.setTimeout(() => this.onTimeout(p), p.termTimeout);
      return;
    }
    // ACT_TERM
    if (!p.confirmation) this.log.log('warn', 'master.term_without_con', 'termination received without a confirmation first', { request: p.key });
    p.termination = asdu;
    p.rtt.actTerm = rtt;
    this.counters.terminations++;
    if (this.logOn) this.log.log('debug', 'master.termination', `termination after ${rtt} ms`, { request: p.key, rtt });
    this.finish(p, this.result(p));
  }

  /** Answers to a broadcast interrogation: one ACT_CON/ACT_TERM (or a negative) per common address. */
  private onBroadcastAnswer(p: Pending, asdu: Asdu, rtt: number): void {
    const con = (p.bcastCon ??= new Set());
    const term = (p.bcastTerm ??= new Set());
    if (asdu.cot === COT.ACTIVATION_CON && !asdu.negative) {
      con.add(asdu.ca);
      if (!p.confirmation) {
        p.confirmation = asdu;
        p.rtt.actCon = rtt;
        this.counters.confirmations++;
      }
      // wait for the terminations (again) rather than settling
      this.clock.clearTimeout(p.timer);
      p.timer = this.clock.setTimeout(() => this.onTimeout(p), p.termTimeout);
      return;
    }
    if (asdu.negative || isRefusal(asdu.cot)) {
      this.counters.negatives++;
      this.log.log('warn', 'master.negative', `negative answer of CA ${asdu.ca} to a broadcast ${typeName(p.key.typeId)}: cause ${asdu.cot} ${cotName(asdu.cot)}${asdu.negative ? ', P/N=1' : ''}`, { request: p.key, ca: asdu.ca, cot: asdu.cot, negative: asdu.negative });
      if (this.logOn) this.log.log('debug', 'master.negative_detail', negativeHint(p.key, p.step, asdu), { request: { ...p.key, type: typeName(p.key.typeId), object: p.asdu.objects[0] }, answer: { typeId: asdu.typeId, cot: asdu.cot, cotName: cotName(asdu.cot), negative: asdu.negative, ca: asdu.ca, originator: asdu.originator, object: asdu.objects[0] } });
      con.add(asdu.ca);
    } else {
      p.termination = asdu;
      p.rtt.actTerm = rtt;
      this.counters.terminations++;
    }
    term.add(asdu.ca);
    for (const ca of con) if (!term.has(ca)) return;
    this.clock.clearTimeout(p.timer);
    p.timer = this.clock.setTimeout(() => {
      if (p.confirmation) this.finish(p, this.result(p));
      else this.finish(p, new NegativeConfirmationError(p.key, asdu, rtt, p.step));
    }, this.broadcastSettle);
  }

  private result(p: Pending): RequestResult {
    const r: RequestResult = { request: p.key, sent: p.asdu, rtt: p.rtt };
    if (p.confirmation) r.confirmation = p.confirmation;
    if (p.termination) r.termination = p.termination;
    if (p.kind === 'interrogation' || p.kind === 'counter') {
      const ir: InterrogationResult = { ...r, asdus: p.asdus, objects: p.objects };
      return ir;
    }
    return r;
  }

  private onTimeout(p: Pending): void {
    if (p.state === 'done') return;
    const phase: RequestPhase = p.kind === 'read' ? 'response' : p.confirmation ? 'actterm' : 'actcon';
    const elapsed = this.clock.now() - (p.sentAt ?? p.submittedAt);
    this.counters.timeouts++;
    this.log.log('warn', 'master.timeout', `no ${phase} within ${Math.round(elapsed)} ms`, { request: p.key, phase, step: p.step });
    this.finish(p, new RequestTimeoutError(p.key, phase, elapsed, p.rtt.actCon, p.step));
  }

  private finish(p: Pending, outcome: RequestResult | MasterError): void {
    if (p.state === 'done') return;
    p.state = 'done';
    if (!(outcome instanceof MasterError) && p.kind === 'command' && p.step !== 'select' && p.asdu.objects[0]?.select !== true && p.confirmation && !p.termination && p.key.cot === COT.ACTIVATION) {
      this.awaitingTerm.set(p.keyStr, this.clock.now() + p.termTimeout);
      if (this.awaitingTerm.size > 1024) this.awaitingTerm.delete(this.awaitingTerm.keys().next().value as string);
    }
    this.clock.clearTimeout(p.timer);
    p.cleanup?.();
    if (this.pending.get(p.keyStr) === p) this.pending.delete(p.keyStr);
    const qi = this.queue.indexOf(p);
    if (qi >= 0) this.queue.splice(qi, 1);
    if (this.audit && p.kind === 'command' && p.sentAt !== undefined) this.auditCommand(p, outcome);
    if (outcome instanceof MasterError) p.reject(outcome);
    else p.resolve(outcome);
  }

  private auditCommand(p: Pending, outcome: RequestResult | MasterError): void {
    const { ioa: _ioa, ...obj } = p.asdu.objects[0];
    const value = obj.value !== undefined ? (p.step === 'select' ? { select: true, value: obj.value } : obj.value) : obj;
    const result = outcome instanceof MasterError
      ? outcome instanceof NegativeConfirmationError ? 'rejected' : outcome.code === 'E_TIMEOUT' ? 'timeout' : outcome.code === 'E_CONNECTION_LOST' ? 'connection-lost' : outcome.code === 'E_ABORTED' ? 'aborted' : outcome.code === 'E_CLOSED' ? 'closed' : 'failed'
      : p.termination ? 'executed' : p.step === 'select' ? 'selected' : 'confirmed';
    const wall = this.wallClock().getTime();
    this.audit!.auditCommand({
      source: this.auditSource,
      target: { ca: p.key.ca, ioa: p.key.ioa, typeId: p.key.typeId },
      value,
      outcome: result,
      timing: { sentAt: new Date(wall - (this.clock.now() - (p.sentAt ?? 0))).toISOString(), ...(p.rtt.actCon !== undefined ? { actConMs: p.rtt.actCon } : {}), ...(p.rtt.actTerm !== undefined ? { actTermMs: p.rtt.actTerm } : {}) },
      ...(outcome instanceof MasterError ? { reason: outcome.message } : {}),
    });
  }

  failAll(make: (p: Pending) => MasterError): void {
    for (const p of [...this.pending.values()]) this.finish(p, make(p));
  }

  // ---------------------------------------------------------------------------------------------
  // sending

  flush(): void {
    while (this.queue.length > 0 && this.host.startedLink()) {
      const p = this.queue[0];
      if (!this.trySend(p)) break;
      if (this.queue[0] === p) this.queue.shift();
    }
  }

  /** `now`: the clock's time when the caller just read it (saves a clock read per request). */
  private trySend(p: Pending, now = this.clock.now()): boolean {
    const link = this.host.startedLink();
    if (!link) return false;
    p.state = 'sent';
    p.sentAt = now;
    let ok: boolean;
    try {
      ok = link.send(p.asdu, p.id);
    } catch (e) {
      p.state = 'queued';
      p.sentAt = undefined;
      this.counters.refused++;
      this.finish(p, new MasterError('E_INVALID', `the link refused the ASDU: ${e instanceof Error ? e.message : String(e)}`));
      return true;
    }
    if (!ok && p.state === 'sent') {
      p.state = 'queued';
      p.sentAt = undefined;
    }
    if (ok && this.logOn) this.log.log('debug', 'master.sent', `sent ${typeName(p.key.typeId)} CA ${p.key.ca} IOA ${p.key.ioa}`, { request: p.key, step: p.step });
    return ok;
  }

  refuse<T>(code: 'E_REQUEST_PENDING' | 'E_NOT_CONNECTED' | 'E_QUEUE_FULL' | 'E_CLOSED' | 'E_INVALID' | 'E_ABORTED', message: string): Promise<T> {
    this.counters.refused++;
    this.log.log('warn', 'master.refused', message, { code });
    return Promise.reject(new MasterError(code, message));
  }

  /**
   * Send a request ASDU and track it: the single entry point of every request helper. Resolves at
   * the confirmation or the termination (`opts.until`), rejects with a typed {@link MasterError}.
   */
  submit<R extends RequestResult>(spec: RequestSpec): Promise<R> {
    const { typeId, ca, ioa, cot, kind, step, opts } = spec;
    if (this.host.closed()) return this.refuse('E_CLOSED', 'the controlling station is closed');
    const key: RequestKey = { typeId, ca, ioa, cot };
    const keyStr = `${typeId}/${ca}/${ioa}/${cot}`;
    const io = spec.object as InformationObject; // the caller's fresh object: no copy
    io.ioa = ioa;
    const asdu: Asdu = { typeId, sq: false, cot, negative: false, test: opts.test ?? false, originator: this.originator, ca, objects: [io] };
    // Validate by encoding, unless it goes to the link at once: the link encodes it and throws the
    // same CodecError, which trySend turns into E_INVALID (saves one encode per request).
    if (this.queue.length > 0 || !this.host.startedLink()) {
      try {
        encodeAsdu(asdu, this.codec);
      } catch (e) {
        return this.refuse('E_INVALID', `cannot build ${typeName(typeId)}: ${e instanceof CodecError ? e.message : String(e)}`);
      }
    }
    if (opts.signal?.aborted) return this.refuse('E_ABORTED', 'aborted before sending');
    if (!this.host.startedLink()) return this.refuse('E_NOT_CONNECTED', `cannot send ${typeName(typeId)}: data transfer is not started (state ${this.host.state()})`);
    if (this.pending.has(keyStr)) {
      return this.refuse('E_REQUEST_PENDING', `an identical request is still open: ${typeName(typeId)} CA ${ca} IOA ${ioa} cause ${cot}`);
    }
    // always try the link first when nothing waits: a refused send arms its `drain`
    const sendNow = this.queue.length === 0;
    if (!sendNow && this.queue.length >= this.queueLimit) return this.refuse('E_QUEUE_FULL', `send window full and ${this.queueLimit} requests queued`);

    const now = this.clock.now();
    return new Promise<R>((resolve, reject) => {
      const p: Pending = {
        id: ++this.seq, key, keyStr, asdu, kind, step,
        until: opts.until ?? (kind === 'interrogation' || kind === 'counter' ? 'actterm' : 'actcon'),
        dataCot: spec.dataCot, readType: spec.readType,
        state: 'queued', submittedAt: now, rtt: {},
        // only interrogations collect data objects (see match); other kinds share an empty, frozen list
        asdus: kind === 'interrogation' || kind === 'counter' ? [] : (NO_ASDUS as Asdu[]),
        objects: kind === 'interrogation' || kind === 'counter' ? [] : (NO_VALUES as PointValue[]),
        termTimeout: opts.terminationTimeout ?? this.terminationTimeout,
        resolve: resolve as (r: RequestResult) => void,
        reject,
      };
      this.pending.set(keyStr, p);
      this.counters.requests++;
      p.timer = this.clock.setTimeout(() => this.onTimeout(p), opts.timeout ?? this.requestTimeout);
      const signal = opts.signal;
      if (signal) {
        const onAbort = (): void => this.finish(p, new MasterError('E_ABORTED', 'request aborted'));
        signal.addEventListener('abort', onAbort, { once: true });
        p.cleanup = () => signal.removeEventListener('abort', onAbort);
      }
      if (sendNow && this.trySend(p, now)) return;
      if (p.state !== 'queued') return;
      if (this.queue.length >= this.queueLimit) {
        this.counters.refused++;
        this.finish(p, new MasterError('E_QUEUE_FULL', `send window full and ${this.queueLimit} requests queued`));
        return;
      }
      this.counters.queued++;
      this.queue.push(p);
      this.log.log('debug', 'master.queued', 'send window full: request queued', { request: key, queued: this.queue.length });
    });
  }
}
