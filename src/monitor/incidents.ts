/**
 * The incident view: alerts of one campaign grouped across rules, flows and time. Alerts that
 * name an ATT&CK for ICS technique are correlated when they share the source host (the master
 * side: `evidence.master`, else the sender) or the target station (`evidence.station`, else the
 * receiver) and follow each other within a window. An incident lists its rules and techniques by
 * kill-chain phase (access → discovery → collection → control, {@link phaseOf}) with the time
 * each phase was first seen, and says whether the phases came in that order: a sweep, then
 * polling, then commands and toggling is the shape of an attack, not of a noisy SCADA.
 */
import { isoFromEpochMs } from './json-output.js';
import { type Phase, PHASES, phaseOf } from './techniques.js';
import { type Alert, type Severity, hostOf } from './types.js';

/** One kill-chain phase of an incident. */
export interface IncidentPhase {
  phase: Phase;
  /** First alert of the phase: capture time (epoch ms) and frame. */
  firstSeen: number;
  firstFrame: number;
  /** Rules of the phase, in the order first seen. */
  rules: string[];
  techniques: string[];
}

/** A campaign: correlated alerts of one source or one target (`{"kind":"incident"}`). */
export interface Incident {
  kind: 'incident';
  /** 1, 2, … in the order the incidents began. */
  id: number;
  /** Highest severity of its alerts. */
  severity: Severity;
  /** Source hosts (masters) involved. */
  sources: string[];
  /** Target stations (`ip:port`) involved. */
  targets: string[];
  /** Flows (`evidence.flow`) involved. */
  flows: string[];
  /** Capture time of the first and last alert, epoch ms. */
  firstSeen: number;
  lastSeen: number;
  firstFrame: number;
  lastFrame: number;
  /** Alert occurrences correlated. */
  alerts: number;
  /** Rule ids, in the order first seen. */
  rules: string[];
  techniques: string[];
  /** The phases present, in kill-chain order. */
  phases: IncidentPhase[];
  /** The phases in the order they were first seen. */
  order: Phase[];
  /** Whether the phases were first seen in kill-chain order (access → discovery → collection → control). */
  killChainOrder: boolean;
}

/** Options of {@link IncidentCorrelator}. */
export interface IncidentOptions {
  /** An alert joins an incident whose last alert is at most this old (capture-time ms, default 10 min). */
  windowMs?: number;
  /** Report incidents with at least this many distinct rules (default 2: one rule alone is its alert). */
  minRules?: number;
}

/** Default correlation window (ms). */
export const DEFAULT_INCIDENT_WINDOW_MS = 600000;

const RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2, critical: 3 };

interface Open {
  inc: Incident;
  sources: Set<string>;
  targets: Set<string>;
  flows: Set<string>;
  byPhase: Map<Phase, IncidentPhase>;
  closed: boolean;
}

/** The phase of an alert: the earliest phase among its techniques. */
export function alertPhase(a: Pick<Alert, 'mitre' | 'techniques'>): Phase | undefined {
  const all = a.techniques ?? (a.mitre ? [a.mitre] : []);
  let best: Phase | undefined;
  for (const t of all) {
    const p = phaseOf(t);
    if (best === undefined || PHASES.indexOf(p) < PHASES.indexOf(best)) best = p;
  }
  return best;
}

/**
 * Groups alerts into {@link Incident}s. Feed every alert occurrence in capture order
 * ({@link IncidentCorrelator.push}); {@link IncidentCorrelator.advance} returns the incidents
 * whose window ended (live use), {@link IncidentCorrelator.flush} the rest (end of a capture).
 * Alerts without a technique (validity, link hygiene) are not correlated. State is bounded by
 * the window: incidents whose window ended are dropped once returned.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { IncidentCorrelator, makeAlert } from 'iec104';
 * const c = new IncidentCorrelator();
 * const o = { frame: 1, ts: 0, src: '10.0.0.9:5000', dst: '10.0.0.2:2404', flow: '1' };
 * c.push([makeAlert(o, 'recon.ca-sweep', 'medium', 'sweep', {}, 'T0846'), makeAlert({ ...o, frame: 9, ts: 5000 }, 'cmd.toggle', 'critical', 'toggling', {}, 'T0831')]);
 * const [inc] = c.flush();
 * assert.deepEqual(inc.order, ['discovery', 'control']);
 * assert.equal(inc.killChainOrder, true);
 * ```
 */
export class IncidentCorrelator {
  readonly windowMs: number;
  readonly minRules: number;
  private open: Open[] = [];
  private nextId = 1;

  constructor(opts: IncidentOptions = {}) {
    this.windowMs = opts.windowMs ?? DEFAULT_INCIDENT_WINDOW_MS;
    this.minRules = opts.minRules ?? 2;
    if (!(this.windowMs >= 0) || !Number.isFinite(this.windowMs)) throw new RangeError(`incident window must be a finite number of ms ≥ 0, got ${this.windowMs}`);
  }

  /** Add alert occurrences (capture order); returns the incidents whose window ended before them. */
  push(alerts: readonly Alert[]): Incident[] {
    const out: Incident[] = [];
    for (const a of alerts) {
      const phase = alertPhase(a);
      if (phase === undefined) continue;
      this.expire(a.ts, out);
      const ev = a.evidence;
      const source = typeof ev.master === 'string' ? hostOf(ev.master) : hostOf(a.src);
      const target = typeof ev.station === 'string' ? ev.station : a.dst;
      const flow = String(ev.flow ?? '');
      const hits = this.open.filter((o) => o.sources.has(source) || o.targets.has(target));
      let o: Open;
      if (hits.length === 0) {
        o = {
          inc: {
            kind: 'incident', id: 0, severity: a.severity, sources: [], targets: [], flows: [], firstSeen: a.ts, lastSeen: a.ts, firstFrame: a.frame, lastFrame: a.frame,
            alerts: 0, rules: [], techniques: [], phases: [], order: [], killChainOrder: true,
          },
          sources: new Set(), targets: new Set(), flows: new Set(), byPhase: new Map(), closed: false,
        };
        this.open.push(o);
      } else {
        o = hits[0];
        for (const other of hits.slice(1)) this.merge(o, other);
      }
      this.add(o, a, phase, source, target, flow);
    }
    return out;
  }

  /** Incidents whose window ended before capture time `now` (live use). */
  advance(now: number): Incident[] {
    const out: Incident[] = [];
    this.expire(now, out);
    return out;
  }

  /** Every incident still open (end of the capture). */
  flush(): Incident[] {
    const out: Incident[] = [];
    for (const o of this.open) this.finish(o, out);
    this.open = [];
    return out;
  }

  private expire(now: number, out: Incident[]): void {
    if (this.open.length === 0) return;
    const keep: Open[] = [];
    for (const o of this.open) {
      if (o.inc.lastSeen + this.windowMs < now) this.finish(o, out);
      else keep.push(o);
    }
    this.open = keep;
  }

  private finish(o: Open, out: Incident[]): void {
    if (o.inc.rules.length < this.minRules) return;
    const inc = o.inc;
    inc.id = this.nextId++;
    inc.sources = [...o.sources];
    inc.targets = [...o.targets];
    inc.flows = [...o.flows];
    inc.phases = PHASES.filter((p) => o.byPhase.has(p)).map((p) => o.byPhase.get(p)!);
    inc.order = [...inc.phases].sort((x, y) => x.firstSeen - y.firstSeen || x.firstFrame - y.firstFrame).map((p) => p.phase);
    inc.killChainOrder = inc.order.every((p, i) => i === 0 || PHASES.indexOf(inc.order[i - 1]) <= PHASES.indexOf(p));
    out.push(inc);
  }

  private add(o: Open, a: Alert, phase: Phase, source: string, target: string, flow: string): void {
    const inc = o.inc;
    o.sources.add(source);
    o.targets.add(target);
    if (flow !== '') o.flows.add(flow);
    inc.alerts++;
    if (RANK[a.severity] > RANK[inc.severity]) inc.severity = a.severity;
    if (a.ts < inc.firstSeen) inc.firstSeen = a.ts;
    if (a.ts >= inc.lastSeen) {
      inc.lastSeen = a.ts;
      inc.lastFrame = a.frame;
    }
    if (!inc.rules.includes(a.rule)) inc.rules.push(a.rule);
    const techniques = a.techniques ?? (a.mitre ? [a.mitre] : []);
    for (const t of techniques) if (!inc.techniques.includes(t)) inc.techniques.push(t);
    let p = o.byPhase.get(phase);
    if (p === undefined) o.byPhase.set(phase, (p = { phase, firstSeen: a.ts, firstFrame: a.frame, rules: [], techniques: [] }));
    if (!p.rules.includes(a.rule)) p.rules.push(a.rule);
    for (const t of techniques) if (!p.techniques.includes(t)) p.techniques.push(t);
  }

  private merge(into: Open, from: Open): void {
    const a = into.inc;
    const b = from.inc;
    for (const s of from.sources) into.sources.add(s);
    for (const s of from.targets) into.targets.add(s);
    for (const s of from.flows) into.flows.add(s);
    a.alerts += b.alerts;
    if (RANK[b.severity] > RANK[a.severity]) a.severity = b.severity;
    if (b.firstSeen < a.firstSeen) {
      a.firstSeen = b.firstSeen;
      a.firstFrame = b.firstFrame;
    }
    if (b.lastSeen > a.lastSeen) {
      a.lastSeen = b.lastSeen;
      a.lastFrame = b.lastFrame;
    }
    for (const r of b.rules) if (!a.rules.includes(r)) a.rules.push(r);
    for (const t of b.techniques) if (!a.techniques.includes(t)) a.techniques.push(t);
    for (const [ph, p] of from.byPhase) {
      const q = into.byPhase.get(ph);
      if (q === undefined) into.byPhase.set(ph, p);
      else {
        if (p.firstSeen < q.firstSeen) {
          q.firstSeen = p.firstSeen;
          q.firstFrame = p.firstFrame;
        }
        for (const r of p.rules) if (!q.rules.includes(r)) q.rules.push(r);
        for (const t of p.techniques) if (!q.techniques.includes(t)) q.techniques.push(t);
      }
    }
    this.open = this.open.filter((x) => x !== from);
  }
}

/** An {@link Incident} with its times as ISO 8601 UTC text (the `--json` record). */
export type IncidentJson = Omit<Incident, 'firstSeen' | 'lastSeen' | 'phases'> & {
  firstSeen: string;
  lastSeen: string;
  phases: Array<Omit<IncidentPhase, 'firstSeen'> & { firstSeen: string }>;
};

/** JSON form of an incident (`{"kind":"incident",...,"firstSeen":"…Z",...}`). */
export function incidentJson(i: Incident): IncidentJson {
  return { ...i, firstSeen: isoFromEpochMs(i.firstSeen), lastSeen: isoFromEpochMs(i.lastSeen), phases: i.phases.map((p) => ({ ...p, firstSeen: isoFromEpochMs(p.firstSeen) })) };
}

/** One line for an incident in the human output. */
export function formatIncidentLine(i: Incident): string {
  const t = (ms: number): string => isoFromEpochMs(ms).slice(11, 23);
  const chain = [...i.phases].sort((x, y) => x.firstSeen - y.firstSeen).map((p) => `${p.phase} ${t(p.firstSeen)} (${p.rules.join(', ')})`).join(' → ');
  return `INCIDENT ${i.id} ${i.severity} ${i.sources.join(',')} → ${i.targets.join(',')}: ${i.alerts} alerts of ${i.rules.length} rules, frames ${i.firstFrame}–${i.lastFrame}, ${t(i.firstSeen)}–${t(i.lastSeen)} [${i.techniques.join(',')}]: ${chain}${i.killChainOrder ? ' (kill-chain order)' : ' (out of kill-chain order)'}`;
}
