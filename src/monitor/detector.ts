/**
 * The detector: one object that takes every observed APDU in capture order and returns alerts,
 * combining role resolution, validity checks, session shadowing, command tracking, behavioural
 * rules, and (when given) policy and baseline enforcement. It also builds the inventory.
 */
import { BaselineEnforcer, type Baseline, type BaselineTolerance } from './baseline.js';
import { type CommandConfig, type CommandRecord, type CommandStats, CommandTracker } from './commands.js';
import { FileTransferTracker, type ObservedFileTransfer } from './file-transfers.js';
import { Inventory, type InventoryConfig, type InventoryFlow, type InventorySummary } from './inventory.js';
import { type Policy, PolicyChecker } from './policy.js';
import { type FlowRoles, RoleTracker, type RoleOptions, directionOf } from './roles.js';
import { BehaviourRules, type FlowKeys, type RuleConfig } from './rules.js';
import { type FlowState, type LinkConfig, SessionShadow } from './session-shadow.js';
import { type FlowSession, type SessionRuleConfig, SessionRules } from './sessions.js';
import { tagTechniques } from './techniques.js';
import { type Alert, type ObservedApdu, type Observation, makeAlert } from './types.js';
import { validityInto } from './validity.js';

/** Options of {@link Detector}; every part has working defaults. */
export interface DetectorOptions {
  link?: Partial<LinkConfig>;
  rules?: Partial<RuleConfig>;
  /** Thresholds of the session rules (`session.keepalive-only`). */
  sessions?: Partial<SessionRuleConfig>;
  commands?: Partial<CommandConfig>;
  inventory?: Partial<InventoryConfig>;
  roles?: Partial<RoleOptions>;
  /** Enforce this policy (`policy.*` alerts); a baseline inside it is enforced too. */
  policy?: Policy;
  /** Enforce this baseline (`baseline.*` alerts); overrides `policy.baseline`. */
  baseline?: Baseline;
  tolerance?: Partial<BaselineTolerance>;
  /** Rule ids or prefixes to silence, e.g. `['valid.reserved-bits', 'link.w-']`. */
  disabled?: string[];
  /** Completed command records kept for {@link Detector.takeCommands} (default 100000; the oldest are dropped). */
  maxBufferedCommands?: number;
}

/**
 * What the detector keeps per flow: the flow's roles and the per-flow state of each part, found
 * with one lookup per APDU instead of one per part. Every entry is a reference to state the part
 * owns (and keeps valid on its own); a stale one (flow forgotten or closed, roles changed) is
 * detected and fetched again.
 */
interface FlowContext {
  flow: string;
  /** Undefined while the roles are unknown. */
  roles: FlowRoles | undefined;
  shadow: FlowState | undefined;
  /** Tied to `roles` (reset with them). */
  keys: FlowKeys | undefined;
  inventory: InventoryFlow | undefined;
  session: FlowSession | undefined;
}

/** A TCP stream anomaly reported by the capture layer (see {@link Detector.streamAnomaly}). */
export interface StreamAnomalyInput {
  code: 'E_TCP_DESYNC' | 'W_TCP_OUT_OF_WINDOW';
  message: string;
  frame: number;
  /** Capture time, epoch ms. */
  ts: number;
  src: string;
  dst: string;
  flow: string;
}

/** Rules made redundant by a more specific rule on the same frame. */
const SUPERSEDES: Record<string, string[]> = {
  'cmd.invalid-cause': ['valid.cot-not-allowed', 'valid.cot-direction'],
  'cmd.broadcast': ['valid.broadcast'],
  'sys.reset-process': ['sys.restart'],
};

/**
 * Passive IEC 104 detector. Feed every {@link ObservedApdu} in capture order; print the returned
 * alerts (one JSON object a line). At the end call {@link Detector.finish} for the alerts that
 * depend on time having passed, then read {@link Detector.inventory} and command statistics.
 */
export class Detector {
  readonly roles: RoleTracker;
  readonly shadow: SessionShadow;
  readonly commands: CommandTracker;
  readonly inventoryBuilder: Inventory;
  /** File transfers (types 120..127) followed per flow and file. */
  readonly files: FileTransferTracker;
  readonly behaviour: BehaviourRules;
  /** Session-level rules (`session.keepalive-only`). */
  readonly sessions: SessionRules;
  readonly policy: PolicyChecker | undefined;
  readonly baseline: BaselineEnforcer | undefined;
  private readonly disabled: string[];
  private readonly maxBuffered: number;
  private buffered: CommandRecord[] = [];
  private lastTs = -Infinity;
  private readonly counts = new Map<string, number>();
  private readonly contexts = new Map<string, FlowContext>();
  /** The context of the previous APDU (consecutive APDUs often share a TCP segment). */
  private lastContext: FlowContext | undefined;
  /**
   * The observation handed to the parts, reused for every APDU (one object shape, no allocation):
   * no part keeps it beyond its call.
   */
  private readonly o: Observation = {
    frame: 0, ts: 0, src: '', dst: '', flow: '', direction: undefined, apdu: undefined, error: undefined, raw: new Uint8Array(0), peerSubject: undefined,
    dir: undefined, master: undefined, station: undefined,
  };
  /** Alerts of the APDU being observed (emptied by every call). */
  private readonly pending: Alert[] = [];

  constructor(opts: DetectorOptions = {}) {
    this.roles = new RoleTracker(opts.roles);
    this.shadow = new SessionShadow(opts.link);
    this.commands = new CommandTracker(opts.commands);
    this.inventoryBuilder = new Inventory(opts.inventory);
    this.files = new FileTransferTracker();
    this.behaviour = new BehaviourRules(opts.rules);
    this.sessions = new SessionRules(opts.sessions);
    this.policy = opts.policy ? new PolicyChecker(opts.policy) : undefined;
    const b = opts.baseline ?? opts.policy?.baseline;
    this.baseline = b ? new BaselineEnforcer(b, opts.tolerance) : undefined;
    this.disabled = opts.disabled ?? [];
    this.maxBuffered = opts.maxBufferedCommands ?? 100000;
  }

  /** Process one APDU; returns the alerts it raised (plus timeouts that expired by its capture time). */
  observe(input: ObservedApdu): Alert[] {
    const ctx = this.context(input.flow);
    let r = ctx.roles;
    if (r === undefined || r.forgotten) {
      r = ctx.roles = this.roles.rolesOf(input);
      ctx.keys = undefined;
    }
    // what RoleTracker.resolve would return, written into the reused observation
    const o = this.o;
    o.frame = input.frame;
    o.ts = input.ts;
    o.src = input.src;
    o.dst = input.dst;
    o.flow = input.flow;
    o.direction = input.direction;
    o.apdu = input.apdu;
    o.error = input.error;
    o.raw = input.raw;
    o.peerSubject = input.peerSubject;
    if (r !== undefined) {
      o.dir = directionOf(input, r);
      o.master = r.master;
      o.station = r.station;
    } else o.dir = o.master = o.station = undefined;

    if (o.ts > this.lastTs) this.lastTs = o.ts;
    ctx.inventory = this.inventoryBuilder.observeWith(o, ctx.inventory);
    const out = this.pending;
    // (setting the length is a runtime call: only when needed, after an exception in a part)
    if (out.length !== 0) out.length = 0;
    validityInto(o, out);
    let f = ctx.shadow;
    if (f === undefined || f.closed) f = ctx.shadow = this.shadow.flowState(o.flow, o.ts);
    this.shadow.observeInto(o, f, out);
    if (r !== undefined) this.behaviour.observeInto(o, (ctx.keys ??= this.behaviour.keysOf(o.flow, r.master, r.station)), out);
    if (o.apdu !== undefined) {
      let sf = ctx.session;
      if (sf === undefined || sf.gone) sf = ctx.session = this.sessions.stateOf(o.flow, o.ts);
      this.sessions.observeWith(o, sf, out);
    }
    if (this.policy) for (const a of this.policy.observe(o)) out.push(a);
    if (this.baseline) for (const a of this.baseline.observe(o)) out.push(a);
    const buffered = this.buffered;
    this.commands.observeInto(o, buffered);
    this.files.observe(o);
    if (buffered.length > this.maxBuffered) buffered.splice(0, buffered.length - this.maxBuffered);
    if (out.length === 0) return [];
    const alerts = out.slice();
    out.length = 0;
    return this.filter(alerts, o.apdu?.asdu?.typeId);
  }

  private context(flow: string): FlowContext {
    const last = this.lastContext;
    if (last !== undefined && last.flow === flow) return last;
    let ctx = this.contexts.get(flow);
    if (ctx === undefined) {
      ctx = { flow, roles: undefined, shadow: undefined, keys: undefined, inventory: undefined, session: undefined };
      this.contexts.set(flow, ctx);
    }
    this.lastContext = ctx;
    return ctx;
  }

  /** Alerts for timeouts expired by capture time `now` (for live use, call periodically). */
  advance(now: number): Alert[] {
    const alerts = [...this.shadow.tick(now)];
    if (this.baseline) for (const a of this.baseline.tick(now)) alerts.push(a);
    this.buffer(this.commands.sweep(now));
    return this.filter(alerts);
  }

  /** End of the capture: report what expired by the last capture time and close open commands. */
  finish(): Alert[] {
    if (this.lastTs === -Infinity) return [];
    const alerts = this.advance(this.lastTs);
    this.buffer(this.commands.finish(this.lastTs));
    return alerts;
  }

  /**
   * A TCP stream the capture layer could not follow as its receiver reads it (the analyser's
   * `streamAnomaly` handler): `E_TCP_DESYNC` becomes a `stream.desync` alert (high),
   * `W_TCP_OUT_OF_WINDOW` a `stream.out-of-window` alert (medium), both T0830.
   */
  streamAnomaly(a: StreamAnomalyInput): Alert[] {
    if (a.ts > this.lastTs) this.lastTs = a.ts;
    const desync = a.code === 'E_TCP_DESYNC';
    const alert = makeAlert(a, desync ? 'stream.desync' : 'stream.out-of-window', desync ? 'high' : 'medium', `${a.src} → ${a.dst}: ${a.message}`, { code: a.code }, 'T0830');
    return this.filter([alert]);
  }

  /** Forget a flow whose TCP connection ended. */
  closeFlow(flow: string): void {
    this.shadow.close(flow);
    this.files.closeFlow(flow, this.lastTs);
    this.roles.forget(flow);
    this.inventoryBuilder.closeFlow(flow);
    this.behaviour.forgetFlow(flow);
    this.sessions.closeFlow(flow);
    this.contexts.delete(flow);
    if (this.lastContext?.flow === flow) this.lastContext = undefined;
  }

  /**
   * Flows each part holds state for (what {@link Detector.closeFlow} frees): for memory checks.
   * Without closes they are bounded by time (commands, session shadow timeouts) or by caps.
   */
  flowState(): { contexts: number; roles: number; shadow: number; inventory: number; rules: number; sessions: number } {
    return { contexts: this.contexts.size, roles: this.roles.flowCount, shadow: this.shadow.flowCount, inventory: this.inventoryBuilder.flowCount, rules: this.behaviour.flowCount, sessions: this.sessions.flowCount };
  }

  /** Completed command records since the last call. */
  takeCommands(): CommandRecord[] {
    const r = this.buffered;
    this.buffered = [];
    return r;
  }

  /** Per station and command type: outcomes and latency percentiles. */
  commandStatistics(): CommandStats[] {
    return this.commands.statistics();
  }

  /** The inventory built so far, with the file transfers seen (closed and still open). */
  inventory(): InventorySummary {
    const s = this.inventoryBuilder.summary();
    const files = this.files.all();
    if (files.length > 0) s.fileTransfers = files;
    return s;
  }

  /** File transfers that ended since the last call (completed, refused, failed, aborted, incomplete). */
  takeFileTransfers(): ObservedFileTransfer[] {
    return this.files.take();
  }

  /** Alerts raised so far, by rule id. */
  alertCounts(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  private buffer(recs: CommandRecord[]): void {
    if (recs.length === 0) return;
    for (const r of recs) this.buffered.push(r);
    if (this.buffered.length > this.maxBuffered) this.buffered.splice(0, this.buffered.length - this.maxBuffered);
  }

  private filter(alerts: Alert[], typeId?: number): Alert[] {
    if (alerts.length === 0) return alerts;
    const enabled = this.disabled.length === 0 ? alerts : alerts.filter((a) => !this.isDisabled(a.rule));
    const drop = new Set<string>();
    for (const a of enabled) for (const d of SUPERSEDES[a.rule] ?? []) drop.add(d);
    const out = drop.size === 0 ? enabled : enabled.filter((a) => !drop.has(a.rule));
    for (const a of out) {
      this.counts.set(a.rule, (this.counts.get(a.rule) ?? 0) + 1);
      tagTechniques(a, typeId);
    }
    return out;
  }

  private isDisabled(rule: string): boolean {
    return this.disabled.some((d) => rule === d || ((d.endsWith('.') || d.endsWith('-')) && rule.startsWith(d)));
  }
}

/** Everything one pass over a stream produces. */
export interface MonitorResult {
  alerts: Alert[];
  commands: CommandRecord[];
  commandStats: CommandStats[];
  inventory: InventorySummary;
  alertCounts: Record<string, number>;
}

/** Run a {@link Detector} over a whole stream (tests, offline analysis). */
export function monitorTraffic(stream: Iterable<ObservedApdu>, opts: DetectorOptions = {}): MonitorResult {
  const d = new Detector(opts);
  const alerts: Alert[] = [];
  const commands: CommandRecord[] = [];
  for (const o of stream) {
    for (const a of d.observe(o)) alerts.push(a);
    for (const c of d.takeCommands()) commands.push(c);
  }
  for (const a of d.finish()) alerts.push(a);
  for (const c of d.takeCommands()) commands.push(c);
  return { alerts, commands, commandStats: d.commandStatistics(), inventory: d.inventory(), alertCounts: d.alertCounts() };
}
