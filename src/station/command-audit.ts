/**
 * Audit records of the commands a controlled station receives: one
 * {@link AuditLog.auditCommand} record per command, written when its outcome is known, built from
 * the received request and the station's answers (ACT_CON, DEACT_CON, ACT_TERM, 44..47 mirrors)
 * as they are handed to the link.
 *
 * Outcomes: `selected` (positive ACT_CON of a select), `executed` (ACT_TERM of a process command;
 * positive ACT_CON of a system or parameter command), `rejected` (negative confirmation or cause
 * 44..47, with the station's reason), `cancelled` (positive DEACT_CON, and an execution it
 * cancelled), `confirmed` (positive ACT_CON, but the connection closed before the ACT_TERM),
 * `unanswered` (the connection closed before any answer).
 */
import type { Asdu, InformationObject } from '../codec/asdu.js';
import { COT, cotName } from '../codec/cause.js';
import { isProcessCommand } from '../codec/type-table.js';
import type { AuditLog, CommandAuditRecord } from '../transport/audit-log.js';
import { isStateChangingCommand } from './access-roles.js';
import { answerKind } from './session.js';

interface PendingCommand {
  typeId: number;
  ca: number;
  ioa: number;
  /** 6 activation, 8 deactivation. */
  cot: number;
  select: boolean;
  value: unknown;
  receivedAt: number;
  receivedWall: number;
  confirmedWall?: number;
  /** Positive ACT_CON seen, waiting for ACT_TERM. */
  awaitingTerm: boolean;
  reason?: string;
}


function valueOf(o: InformationObject): unknown {
  if (o.value !== undefined) return o.value;
  const { ioa: _ioa, ...rest } = o;
  return rest;
}

/** Options of {@link CommandAuditTrail}. */
export interface CommandAuditTrailOptions {
  audit: AuditLog;
  /** Who sends the commands (the connection's peer). */
  source: CommandAuditRecord['source'];
  /** Monotonic time (ms) for durations. */
  now: () => number;
  /** Wall time (ms since the epoch) for the ISO timestamps. */
  wall: () => number;
  /** Broadcast common address (answers to it come with each CA). */
  broadcastCa: number;
}

/**
 * Tracks the commands of one connection and writes their audit records.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { AuditLog, CommandAuditTrail } from 'iec104';
 * const lines: string[] = [];
 * const trail = new CommandAuditTrail({ audit: new AuditLog({ sink: { write: (l) => lines.push(l) } }), source: '10.0.0.5:4000', now: () => 0, wall: () => 0, broadcastCa: 0xffff });
 * const req = { typeId: 45, sq: false, cot: 6, negative: false, test: false, originator: 0, ca: 1, objects: [{ ioa: 5000, value: true, select: false }] };
 * trail.received(req);
 * trail.reason(req, 'interlock');
 * trail.sent({ ...req, cot: 7, negative: true });
 * const rec = JSON.parse(lines[0]);
 * assert.equal(rec.outcome, 'rejected');
 * assert.equal(rec.reason, 'interlock');
 * ```
 */
export class CommandAuditTrail {
  private readonly pending: PendingCommand[] = [];

  constructor(private readonly o: CommandAuditTrailOptions) {}

  /** A request arrived (only state-changing commands are tracked; answers are never answered, so not tracked). */
  received(req: Asdu): void {
    if (!isStateChangingCommand(req) || answerKind(req) !== undefined) return;
    const obj = req.objects[0];
    this.pending.push({
      typeId: req.typeId, ca: req.ca, ioa: obj?.ioa ?? 0, cot: req.cot, select: obj?.select === true,
      value: obj ? valueOf(obj) : undefined, receivedAt: this.o.now(), receivedWall: this.o.wall(), awaitingTerm: false,
    });
  }

  /** The station's reason for refusing `req` (attached to the coming negative answer). */
  reason(req: Asdu, why: string): void {
    const p = this.find(req.typeId, req.ca, req.objects[0]?.ioa ?? 0, (x) => !x.awaitingTerm && x.reason === undefined);
    if (p) p.reason = why;
  }

  /** An ASDU was handed to the link. */
  sent(a: Asdu): void {
    const cot = a.cot;
    const ioa = a.objects[0]?.ioa ?? 0;
    if (cot >= COT.UNKNOWN_TYPE && cot <= COT.UNKNOWN_IOA) {
      const p = this.find(a.typeId, a.ca, ioa, (x) => !x.awaitingTerm);
      if (p) this.done(p, 'rejected', p.reason ?? `cause ${cot} ${cotName(cot)}`);
      return;
    }
    if (cot === COT.ACTIVATION_CON) {
      const p = this.find(a.typeId, a.ca, ioa, (x) => x.cot === COT.ACTIVATION && !x.awaitingTerm);
      if (!p) return;
      if (a.negative) return this.done(p, 'rejected', p.reason ?? 'negative confirmation');
      if (p.select) return this.done(p, 'selected');
      if (isProcessCommand(p.typeId)) {
        p.awaitingTerm = true;
        p.confirmedWall = this.o.wall();
        return;
      }
      return this.done(p, 'executed');
    }
    if (cot === COT.ACTIVATION_TERMINATION) {
      const p = this.find(a.typeId, a.ca, ioa, (x) => x.awaitingTerm);
      if (p) this.done(p, 'executed');
      return;
    }
    if (cot === COT.DEACTIVATION_CON) {
      const p = this.find(a.typeId, a.ca, ioa, (x) => x.cot === COT.DEACTIVATION);
      if (!p) return;
      if (a.negative) return this.done(p, 'rejected', p.reason ?? 'negative deactivation confirmation');
      const ex = this.find(a.typeId, a.ca, ioa, (x) => x.awaitingTerm);
      if (ex) this.done(ex, 'cancelled', 'cancelled by deactivation');
      this.done(p, 'cancelled');
    }
  }

  /** The connection closed: what is still open is recorded as such. */
  closed(): void {
    for (const p of [...this.pending]) this.done(p, p.awaitingTerm ? 'confirmed' : 'unanswered', p.awaitingTerm ? 'connection closed before ACT_TERM' : 'connection closed before an answer');
  }

  private find(typeId: number, ca: number, ioa: number, pred: (p: PendingCommand) => boolean): PendingCommand | undefined {
    return this.pending.find((p) => p.typeId === typeId && (p.ca === ca || p.ca === this.o.broadcastCa) && p.ioa === ioa && pred(p));
  }

  private done(p: PendingCommand, outcome: string, reason?: string): void {
    const i = this.pending.indexOf(p);
    if (i >= 0) this.pending.splice(i, 1);
    const now = this.o.now();
    const timing: Record<string, string | number | undefined> = {
      receivedAt: new Date(p.receivedWall).toISOString(),
      ...(p.confirmedWall !== undefined ? { confirmedAt: new Date(p.confirmedWall).toISOString() } : {}),
      answeredAt: new Date(this.o.wall()).toISOString(),
      durationMs: Math.round((now - p.receivedAt) * 1000) / 1000,
    };
    this.o.audit.auditCommand({
      source: this.o.source,
      target: { ca: p.ca, ioa: p.ioa, typeId: p.typeId },
      value: p.cot === COT.DEACTIVATION ? { deactivate: true, value: p.value } : p.select ? { select: true, value: p.value } : p.value,
      outcome,
      timing,
      ...(reason ? { reason } : {}),
    });
  }
}
