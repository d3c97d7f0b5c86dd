/**
 * Runs a parsed {@link Scenario} against a controlled station with a {@link TestConnection}: each
 * step is timed and reported pass/fail; after the first failure the remaining steps are skipped
 * (the session state is unknown by then). Variables and loops are resolved as the steps run.
 */
import type tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Asdu } from '../codec/asdu.js';
import { TypeId } from '../codec/type-table.js';
import { DEFAULT_LINK_PARAMETERS } from '../link/types.js';
import type { Clock } from '../clock.js';
import { type AsduPattern, buildAsdu, type CommandSpec, describeAsdu, describePattern, matchAsdu, type ValuePattern } from './asdu-tools.js';
import { ConnectFailure, delay, formatTarget, parseTarget, refClock, type Target, TestConnection } from './connection.js';
import { diagnoseConnectFailure } from './probe.js';
import type { CaseResult, SuiteResult } from './report.js';
import { MAX_REPEAT, parseHex, resolveTemplate, type Scenario, type ScenarioStep, type Template } from './scenario.js';

/** Options of {@link runScenario}. */
export interface RunScenarioOptions {
  /** Where to connect (the scenario's own `target` is used when absent). */
  target?: Target;
  /** Time allowed for waiting steps when neither step nor scenario say (ms, default 5000). */
  defaultTimeout?: number;
  /** Connection establishment time-out (ms, default 10 000). */
  t0?: number;
  /** Extra variables (override the scenario's `vars`). */
  vars?: { [key: string]: Template };
  tls?: tls.ConnectionOptions;
  clock?: Clock;
  /** Stream factory replacing `net.connect`. */
  connect?: (host: string, port: number) => Duplex;
  /** Our acknowledgement policy: w and t2 of the client (defaults 8 and 1000 ms). */
  w?: number;
  t2?: number;
  /** Called after each step (progress output). */
  onStep?: (c: CaseResult) => void;
  /** Wall clock for time tags and the report (tests). */
  now?: () => Date;
}

interface Ctx {
  conn: TestConnection | undefined;
  vars: { [key: string]: Template };
  failed: boolean;
  cases: CaseResult[];
}

class StepFailure extends Error {}

const KIND_TEXT: Record<ScenarioStep['kind'], string> = {
  connect: 'connect',
  startdt: 'STARTDT',
  stopdt: 'STOPDT',
  testfr: 'TESTFR',
  disconnect: 'disconnect',
  interrogation: 'interrogation',
  send: 'send',
  expect: 'expect',
  'expect-none': 'expect none',
  'expect-close': 'expect close',
  wait: 'wait',
  raw: 'raw bytes',
  set: 'set',
  repeat: 'repeat',
};

function num(v: Template, what: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!Number.isFinite(n)) throw new StepFailure(`${what} must be a number, found ${JSON.stringify(v)}`);
  return n;
}
function int(v: Template, what: string): number {
  const n = num(v, what);
  if (!Number.isInteger(n) || n < 0) throw new StepFailure(`${what} must be a non-negative integer, found ${JSON.stringify(v)}`);
  return n;
}

function toPattern(p: { [key: string]: Template }): AsduPattern {
  const out: AsduPattern = {};
  if (p.type !== undefined) out.type = p.type as string | number;
  if (p.cot !== undefined) out.cot = p.cot as string | number;
  if (p.pn !== undefined) {
    if (p.pn !== 'positive' && p.pn !== 'negative') throw new StepFailure(`pn must be positive or negative, found ${JSON.stringify(p.pn)}`);
    out.pn = p.pn;
  }
  if (p.ca !== undefined) out.ca = int(p.ca, 'ca');
  if (p.ioa !== undefined) out.ioa = int(p.ioa, 'ioa');
  if (p.value !== undefined && p.value !== null) out.value = p.value as ValuePattern;
  if (p.test !== undefined) out.test = p.test === true;
  return out;
}

function toSpec(s: { [key: string]: Template }): { spec: CommandSpec; ns?: number; nr?: number } {
  const spec: CommandSpec = { type: s.type as string | number, ca: int(s.ca, 'ca') };
  if (s.ioa !== undefined) spec.ioa = int(s.ioa, 'ioa');
  if (s.value !== undefined) spec.value = s.value;
  if (s.select !== undefined) spec.select = s.select === true || s.select === 'true';
  if (s.qu !== undefined) spec.qu = int(s.qu, 'qu');
  if (s.ql !== undefined) spec.ql = int(s.ql, 'ql');
  if (s.qualifier !== undefined) spec.qualifier = int(s.qualifier, 'qualifier');
  if (s.time !== undefined) spec.time = s.time;
  if (s.cot !== undefined) spec.cot = s.cot as string | number;
  if (s.negative !== undefined) spec.negative = s.negative === true;
  if (s.test !== undefined) spec.test = s.test === true;
  if (s.originator !== undefined) spec.originator = int(s.originator, 'originator');
  // file services (120..127)
  for (const k of ['file', 'section', 'length', 'lsq', 'ack', 'error', 'checksum'] as const) if (s[k] !== undefined) spec[k] = int(s[k], k);
  if (s.action !== undefined) spec.action = typeof s.action === 'string' && !/^\d+$/.test(s.action) ? s.action : int(s.action, 'action');
  if (s.segment !== undefined) spec.segment = s.segment;
  return { spec, ...(s.ns !== undefined ? { ns: int(s.ns, 'ns') } : {}), ...(s.nr !== undefined ? { nr: int(s.nr, 'nr') } : {}) };
}

function recentText(conn: TestConnection): string {
  const rest = conn.inbox.slice(-3).map((x) => describeAsdu(x.asdu));
  return rest.length ? `; unmatched ASDUs received: ${rest.join(' | ')}` : '; no other ASDU waiting';
}

/** Run one scenario. Never throws for station behaviour: failures are in the result. */
export async function runScenario(sc: Scenario, opts: RunScenarioOptions = {}): Promise<SuiteResult> {
  const clock = opts.clock ?? refClock;
  const now = opts.now ?? (() => new Date());
  const startedAt = now().toISOString();
  const t0 = clock.now();
  let target = opts.target;
  if (!target && sc.target) target = parseTarget(sc.target);
  const result: SuiteResult = { name: sc.name, ...(sc.file ? { file: sc.file } : {}), target: target ? formatTarget(target) : '(none)', startedAt, ms: 0, cases: [] };
  const ctx: Ctx = { conn: undefined, vars: { ...sc.vars, ...opts.vars }, failed: false, cases: result.cases };
  const defaultTimeout = sc.timeout ?? opts.defaultTimeout ?? 5000;

  const need = (): TestConnection => {
    if (!ctx.conn) throw new StepFailure('not connected (add a connect step first)');
    if (ctx.conn.closed) throw new StepFailure(`the connection is closed (${ctx.conn.closed.by === 'peer' ? `by the station${ctx.conn.closed.error ? `, ${ctx.conn.closed.error}` : ''}` : 'locally'})`);
    return ctx.conn;
  };

  const runSteps = async (steps: ScenarioStep[], prefix: string, suffix: string): Promise<void> => {
    for (const [i, step] of steps.entries()) {
      const id = `${prefix}${i + 1}`;
      if (step.kind === 'repeat') {
        let times: number;
        try {
          times = int(resolveTemplate(step.times, ctx.vars), 'repeat count');
          if (times > MAX_REPEAT) throw new Error(`repeat count ${times} is above the limit of ${MAX_REPEAT} (MAX_REPEAT)`);
        } catch (e) {
          record(id + suffix, step, 'fail', 0, (e as Error).message);
          ctx.failed = true;
          continue;
        }
        if (ctx.failed) {
          record(id + suffix, step, 'skip', 0, 'not run: an earlier step failed');
          continue;
        }
        const saved = ctx.vars[step.as];
        for (let n = 0; n < times; n++) {
          ctx.vars[step.as] = n;
          await runSteps(step.steps, `${id}.`, `${suffix}[${step.as}=${n}]`);
          if (ctx.failed) break;
        }
        if (saved === undefined) delete ctx.vars[step.as];
        else ctx.vars[step.as] = saved;
        continue;
      }
      if (ctx.failed) {
        record(id + suffix, step, 'skip', 0, 'not run: an earlier step failed');
        continue;
      }
      const start = clock.now();
      try {
        const msg = await runStep(step);
        record(id + suffix, step, 'pass', clock.now() - start, msg);
      } catch (e) {
        ctx.failed = true;
        const m = e instanceof Error ? e.message : String(e);
        record(id + suffix, step, 'fail', clock.now() - start, m);
      }
    }
  };

  const record = (id: string, step: ScenarioStep, status: CaseResult['status'], ms: number, message?: string): void => {
    const c: CaseResult = { id: `step ${id}`, name: stepName(step, ctx.vars), status, ms: Math.round(ms * 10) / 10, line: step.pos.line, ...(message ? { message } : {}) };
    ctx.cases.push(c);
    opts.onStep?.(c);
  };

  const timeoutOf = (step: ScenarioStep): number => (step.timeout !== undefined ? num(resolveTemplate(step.timeout, ctx.vars), 'timeout') : defaultTimeout);

  const runStep = async (step: ScenarioStep): Promise<string | undefined> => {
    const timeout = timeoutOf(step);
    switch (step.kind) {
      case 'connect': {
        if (ctx.conn && !ctx.conn.closed) ctx.conn.close(200);
        if (!target) throw new StepFailure('no target: give --target HOST[:PORT] or target: in the scenario');
        const stepT0 = step.t0 !== undefined ? num(resolveTemplate(step.t0, ctx.vars), 't0') : opts.t0 ?? 10_000;
        try {
          ctx.conn = await TestConnection.connect(target, { clock, t0: stepT0, tls: opts.tls, connect: opts.connect, w: opts.w ?? DEFAULT_LINK_PARAMETERS.w, t2: opts.t2 ?? 1000 });
        } catch (e) {
          if (e instanceof ConnectFailure) throw new StepFailure(diagnoseConnectFailure(e, stepT0).diagnosis);
          throw e;
        }
        return `connected to ${formatTarget(target)}${ctx.conn.stream?.tls ? ` (${ctx.conn.stream.tls.protocol}, ${ctx.conn.stream.tls.cipher})` : ''}`;
      }
      case 'startdt': {
        const c = need();
        if (!(await c.startdt(timeout))) throw new StepFailure(c.closed ? 'the station closed the connection instead of confirming STARTDT' : `no STARTDT con within ${timeout} ms`);
        return 'STARTDT con received';
      }
      case 'stopdt': {
        const c = need();
        if (!(await c.stopdt(timeout))) throw new StepFailure(c.closed ? 'the station closed the connection instead of confirming STOPDT' : `no STOPDT con within ${timeout} ms`);
        return 'STOPDT con received';
      }
      case 'testfr': {
        const c = need();
        if (!(await c.testfr(timeout))) throw new StepFailure(c.closed ? 'the station closed the connection instead of confirming TESTFR' : `no TESTFR con within ${timeout} ms`);
        return 'TESTFR con received';
      }
      case 'disconnect': {
        if (ctx.conn && !ctx.conn.closed) ctx.conn.close(500);
        return undefined;
      }
      case 'interrogation': {
        const c = need();
        const ca = int(resolveTemplate(step.ca, ctx.vars), 'ca');
        const qoi = step.qoi !== undefined ? int(resolveTemplate(step.qoi, ctx.vars), 'qoi') : 20;
        c.sendAsdu(buildAsdu({ type: TypeId.C_IC_NA_1, ca, qualifier: qoi }, now));
        return `C_IC_NA_1 act CA ${ca} QOI ${qoi} sent`;
      }
      case 'send': {
        const c = need();
        const { spec, ns, nr } = toSpec(resolveTemplate(step.spec, ctx.vars) as { [key: string]: Template });
        let asdu: Asdu;
        try {
          asdu = buildAsdu(spec, now);
        } catch (e) {
          throw new StepFailure((e as Error).message);
        }
        try {
          c.sendAsdu(asdu, { ns, nr });
        } catch (e) {
          throw new StepFailure(`cannot encode: ${(e as Error).message}`);
        }
        return `sent ${describeAsdu(asdu)}`;
      }
      case 'expect': {
        const pattern = toPattern(resolveTemplate(step.pattern, ctx.vars) as { [key: string]: Template });
        const count = step.count !== undefined ? int(resolveTemplate(step.count, ctx.vars), 'count') : 1;
        if (!ctx.conn) throw new StepFailure('not connected');
        const c = ctx.conn;
        const start = clock.now();
        const got: string[] = [];
        for (let n = 0; n < count; n++) {
          const left = Math.max(0, timeout - (clock.now() - start));
          const x = await c.takeAsdu((a) => matchAsdu(a, pattern), left);
          if (!x) {
            const why = c.closed ? 'the connection closed' : `nothing within ${timeout} ms`;
            throw new StepFailure(`expected ${count > 1 ? `${count} ASDUs` : 'an ASDU'} matching ${describePattern(pattern)}${count > 1 ? ` (got ${n})` : ''}: ${why}${recentText(c)}`);
          }
          got.push(describeAsdu(x.asdu));
        }
        return count === 1 ? `received ${got[0]}` : `received ${count} matching ASDUs, last ${got[got.length - 1]}`;
      }
      case 'expect-none': {
        const pattern = toPattern(resolveTemplate(step.pattern, ctx.vars) as { [key: string]: Template });
        if (!ctx.conn) throw new StepFailure('not connected');
        const x = await ctx.conn.takeAsdu((a) => matchAsdu(a, pattern), timeout);
        if (x) throw new StepFailure(`received ${describeAsdu(x.asdu)}, which should not come (pattern ${describePattern(pattern)})`);
        return `nothing matching ${describePattern(pattern)} within ${timeout} ms`;
      }
      case 'expect-close': {
        if (!ctx.conn) throw new StepFailure('not connected');
        const c = ctx.conn;
        if (!(await c.waitClosed(timeout))) throw new StepFailure(`the station did not close the connection within ${timeout} ms`);
        if (c.closed?.by !== 'peer') throw new StepFailure('the connection was closed locally, not by the station');
        return `closed by the station${c.closed.error ? ` (${c.closed.error})` : ''}`;
      }
      case 'wait': {
        const ms = num(resolveTemplate(step.ms, ctx.vars), 'wait');
        await delay(clock, ms);
        return undefined;
      }
      case 'raw': {
        const c = need();
        const hex = resolveTemplate(step.hex, ctx.vars);
        let bytes: Uint8Array;
        try {
          bytes = parseHex(String(hex));
        } catch (e) {
          throw new StepFailure((e as Error).message);
        }
        c.sendRaw(bytes);
        return `${bytes.length} octet(s) sent`;
      }
      case 'set': {
        for (const [k, v] of Object.entries(step.vars)) ctx.vars[k] = resolveTemplate(v, ctx.vars);
        return undefined;
      }
      case 'repeat':
        return undefined;
    }
  };

  try {
    await runSteps(sc.steps, '', '');
  } catch (e) {
    result.error = e instanceof Error ? e.message : String(e);
  } finally {
    if (ctx.conn && !ctx.conn.closed) ctx.conn.close(200);
  }
  result.ms = Math.round((clock.now() - t0) * 10) / 10;
  return result;
}

function stepName(step: ScenarioStep, vars: { [key: string]: Template }): string {
  if (step.name) {
    try {
      return String(resolveTemplate(step.name, vars));
    } catch {
      return step.name;
    }
  }
  const base = KIND_TEXT[step.kind];
  try {
    switch (step.kind) {
      case 'send': {
        const s = resolveTemplate(step.spec, vars) as { [key: string]: Template };
        return `${base} ${String(s.type)}${s.ioa !== undefined ? ` IOA ${String(s.ioa)}` : ''}${s.select === true ? ' select' : ''}`;
      }
      case 'expect':
      case 'expect-none':
        return `${base} ${describePattern(toPattern(resolveTemplate(step.pattern, vars) as { [key: string]: Template }))}`;
      case 'interrogation':
        return `${base} CA ${String(resolveTemplate(step.ca, vars))}`;
      case 'wait':
        return `${base} ${String(resolveTemplate(step.ms, vars))} ms`;
      default:
        return base;
    }
  } catch {
    return base;
  }
}
