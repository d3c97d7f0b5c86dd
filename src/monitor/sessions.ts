/**
 * Session-level rules: what a whole connection did, not one APDU. `session.keepalive-only`
 * (T0869 Standard Application Layer Protocol): a connection that has lasted long and exchanged
 * only keep-alives (TESTFR, S-frames, STARTDT/STOPDT) and not one I-frame, in either direction.
 * A SCADA session carries data (at least the general interrogation after STARTDT and the
 * station's spontaneous reports); one that stays open only to be kept alive is parked for later
 * use, a channel for something else (timing, the TESTFR pattern), or a forgotten tool.
 *
 * IEC 104 redundancy groups keep standby connections open and stopped, with TESTFR only: a
 * stopped connection is therefore not flagged while another connection between the same master
 * host and station host carries data (the active one of its group). Started (STARTDT confirmed)
 * and still carrying nothing: medium; stopped with no active connection of the same pair: low.
 */
import type { Alert, Observation } from './types.js';
import { hostOf, makeAlert } from './types.js';

/** Thresholds of `session.keepalive-only`. */
export interface SessionRuleConfig {
  /** The connection must have lasted this long (capture time, ms; default 10 min). */
  minDurationMs: number;
  /** And carried at least this many TESTFR act (default 5). */
  minKeepAlives: number;
  /** Connections followed at once (the oldest are dropped beyond it; default 65536). */
  maxFlows: number;
}

/** Default thresholds: 10 minutes with at least 5 TESTFR act (t3 = 20 s gives about 30). */
export const DEFAULT_SESSION_RULE_CONFIG: Readonly<SessionRuleConfig> = Object.freeze({ minDurationMs: 600000, minKeepAlives: 5, maxFlows: 65536 });

/** @internal Per-flow state of {@link SessionRules} (a caller may keep it while `gone` is false). */
export interface FlowSession {
  /** Dropped (closed or evicted): fetch again with {@link SessionRules.stateOf}. */
  gone: boolean;
  first: number;
  testfr: number;
  sFrames: number;
  /** STARTDT con seen and no STOPDT con after it. */
  started: boolean;
  /** An I-frame was seen (the flow is no longer a candidate), or the alert was raised. */
  done: boolean;
  /** `masterHost>stationHost` once the roles are known. */
  pair: string | undefined;
  /** Counted in `active` (carried I-frames). */
  active: boolean;
}

/** Follows every connection for {@link SessionRules} (one state per flow, dropped on close). */
export class SessionRules {
  readonly config: SessionRuleConfig;
  private readonly flows = new Map<string, FlowSession>();
  /** Connections that carried I-frames, per `masterHost>stationHost`. */
  private readonly active = new Map<string, number>();

  constructor(config: Partial<SessionRuleConfig> = {}) {
    this.config = { ...DEFAULT_SESSION_RULE_CONFIG, ...config };
  }

  /** @internal The state of `flow` (created at capture time `ts`). */
  stateOf(flow: string, ts: number): FlowSession {
    let f = this.flows.get(flow);
    if (f === undefined) {
      f = { gone: false, first: ts, testfr: 0, sFrames: 0, started: false, done: false, pair: undefined, active: false };
      this.flows.set(flow, f);
      if (this.flows.size > this.config.maxFlows) this.drop(this.flows.keys().next().value as string);
    }
    return f;
  }

  /** Observe one APDU; pushes `session.keepalive-only` to `out` when the flow crosses the thresholds. */
  observeInto(o: Observation, out: Alert[]): void {
    if (o.apdu !== undefined) this.observeWith(o, this.stateOf(o.flow, o.ts), out);
  }

  /** @internal {@link SessionRules.observeInto} given the flow's state. */
  observeWith(o: Observation, f: FlowSession, out: Alert[]): void {
    const a = o.apdu;
    if (a === undefined) return;
    if (f.pair === undefined && o.master !== undefined && o.station !== undefined) f.pair = `${hostOf(o.master)}>${hostOf(o.station)}`;
    const fmt = a.apci.format;
    if (fmt === 'I') {
      if (!f.active && f.pair !== undefined) {
        f.active = true;
        this.active.set(f.pair, (this.active.get(f.pair) ?? 0) + 1);
      }
      f.done = true;
      return;
    }
    if (f.done) return;
    if (fmt === 'S') f.sFrames++;
    else {
      const u = a.apci.uFunction;
      if (u === 'TESTFR_ACT') f.testfr++;
      else if (u === 'STARTDT_CON') f.started = true;
      else if (u === 'STOPDT_CON') f.started = false;
    }
    const c = this.config;
    const lasted = o.ts - f.first;
    if (lasted < c.minDurationMs || f.testfr < c.minKeepAlives) return;
    if (!f.started && f.pair !== undefined && (this.active.get(f.pair) ?? 0) > 0) return; // a redundancy standby: its group has an active connection
    f.done = true;
    const minutes = Math.round(lasted / 6000) / 10;
    const what = f.started ? 'started (STARTDT confirmed) and' : 'stopped, with no active connection of the same master and station, and';
    out.push(
      makeAlert(
        o,
        'session.keepalive-only',
        f.started ? 'medium' : 'low',
        `connection ${o.master ?? o.src} → ${o.station ?? o.dst} open for ${minutes} min, ${what} carried no I-frame: only ${f.testfr} TESTFR act and ${f.sFrames} S-frames`,
        { master: o.master ?? null, station: o.station ?? null, started: f.started, durationMs: Math.round(lasted), testfr: f.testfr, sFrames: f.sFrames },
        'T0869',
      ),
    );
  }

  /** Forget a closed connection. */
  closeFlow(flow: string): void {
    this.drop(flow);
  }

  /** Connections followed. */
  get flowCount(): number {
    return this.flows.size;
  }

  private drop(flow: string): void {
    const f = this.flows.get(flow);
    if (f === undefined) return;
    f.gone = true;
    this.flows.delete(flow);
    if (f.active && f.pair !== undefined) {
      const n = (this.active.get(f.pair) ?? 1) - 1;
      if (n > 0) this.active.set(f.pair, n);
      else this.active.delete(f.pair);
    }
  }
}
