/**
 * Scenario files: a YAML script of one or more sessions with a controlled station (connect,
 * STARTDT, send commands, expect ASDUs, expect the close, raw bytes, loops, variables). This
 * module parses and checks a file into a {@link Scenario}; `scenario-runner.ts` runs it.
 *
 * ```yaml
 * name: single command with select-before-operate
 * vars: { ca: 1, ioa: 5000 }
 * timeout: 5000                 # default time allowed for each expect (ms)
 * steps:
 *   - connect
 *   - startdt
 *   - command: { type: C_SC_NA_1, ca: "${ca}", ioa: "${ioa}", value: on, select: true }
 *   - expect: { type: C_SC_NA_1, cot: actcon, pn: positive, ioa: "${ioa}" }
 *   - repeat: 3
 *     as: i
 *     steps:
 *       - command: { type: C_SE_NC_1, ca: 1, ioa: "${6000 + i}", value: 1.5 }
 *       - expect: { type: C_SE_NC_1, cot: actcon, ioa: "${6000 + i}" }
 *         timeout: 2000
 *   - disconnect
 * ```
 *
 * Errors name the line and column (1-based) of the offending node.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode, type Pair, type YAMLMap } from 'yaml';
import { parseCot, parseTypeId, SpecError } from './asdu-tools.js';
import { checkDocument, DocumentLimitError, type DocumentLimits } from '../document-limits.js';

/** 1-based line and column in the scenario file. */
export interface SourcePos {
  line: number;
  column: number;
}

/** A value as written: may hold `${expression}` parts resolved when the step runs. */
export type Template = string | number | boolean | null | Template[] | { [key: string]: Template };

/** Fields common to every step. */
export interface StepCommon {
  /** Name shown in reports (default: generated from the action). */
  name?: string;
  /** Where the step starts in the file. */
  pos: SourcePos;
  /** Time allowed (ms) for steps that wait; overrides the scenario's `timeout`. */
  timeout?: Template;
}

/** One step of a scenario. */
export type ScenarioStep = StepCommon &
  (
    | { kind: 'connect'; t0?: Template }
    | { kind: 'startdt' }
    | { kind: 'stopdt' }
    | { kind: 'testfr' }
    | { kind: 'disconnect' }
    | { kind: 'interrogation'; ca: Template; qoi?: Template }
    | { kind: 'send'; spec: { [key: string]: Template } }
    | { kind: 'expect'; pattern: { [key: string]: Template }; count?: Template }
    | { kind: 'expect-none'; pattern: { [key: string]: Template } }
    | { kind: 'expect-close' }
    | { kind: 'wait'; ms: Template }
    | { kind: 'raw'; hex: Template }
    | { kind: 'set'; vars: { [key: string]: Template } }
    | { kind: 'repeat'; times: Template; as: string; steps: ScenarioStep[] }
  );

/** Action names of steps. */
export type StepKind = ScenarioStep['kind'];

/** A parsed scenario. */
export interface Scenario {
  name: string;
  description?: string;
  /** File it came from (for reports). */
  file?: string;
  /** `HOST[:PORT]` given in the file (the command line's `--target` wins). */
  target?: string;
  /** Initial variables. */
  vars: { [key: string]: Template };
  /** Default time allowed for waiting steps (ms). */
  timeout?: number;
  steps: ScenarioStep[];
}

/** Largest `repeat` count (literal, or the value of a `${...}` template when the scenario runs). */
export const MAX_REPEAT = 100_000;

/** Limits of a scenario file: 16 MiB, nesting depth 64, 1000 aliases. */
export const SCENARIO_DOCUMENT_LIMITS: Readonly<DocumentLimits> = Object.freeze({ maxBytes: 16 * 1024 * 1024, maxDepth: 64, maxAliases: 1000 });

/** A scenario file is malformed; `line`/`column` are 1-based. */
export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
  /** Stable code for programs. */
  readonly code = 'E_SCENARIO' as const;
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number,
    /** The problem without the location. */
    readonly reason: string,
  ) {
    super(`${file}:${line}:${column}: ${reason}`);
  }
}

const SEND_KEYS = ['type', 'ca', 'ioa', 'value', 'select', 'qu', 'ql', 'qualifier', 'time', 'cot', 'negative', 'test', 'originator', 'ns', 'nr', 'file', 'section', 'action', 'length', 'lsq', 'ack', 'error', 'checksum', 'segment'];
const PATTERN_KEYS = ['type', 'cot', 'pn', 'ca', 'ioa', 'value', 'test'];
const COMMON_KEYS = ['name', 'timeout'];
const ACTIONS: Record<string, StepKind> = {
  connect: 'connect',
  startdt: 'startdt',
  stopdt: 'stopdt',
  testfr: 'testfr',
  disconnect: 'disconnect',
  interrogation: 'interrogation',
  send: 'send',
  command: 'send',
  expect: 'expect',
  'expect-none': 'expect-none',
  'expect-close': 'expect-close',
  wait: 'wait',
  raw: 'raw',
  set: 'set',
  repeat: 'repeat',
};
const EXTRA_KEYS: Partial<Record<StepKind, string[]>> = { repeat: ['as', 'steps'], expect: ['count'], connect: ['t0'] };

const hasTemplate = (v: unknown): boolean => typeof v === 'string' && v.includes('${');

class Parser {
  constructor(
    readonly file: string,
    readonly lc: LineCounter,
  ) {}

  pos(node: { range?: [number, number, number] | null } | null | undefined): SourcePos {
    const off = node?.range?.[0] ?? 0;
    const p = this.lc.linePos(off);
    return { line: p.line, column: p.col };
  }

  fail(node: { range?: [number, number, number] | null } | null | undefined, msg: string): never {
    const p = this.pos(node);
    throw new ScenarioError(this.file, p.line, p.column, msg);
  }

  keyOf(pair: Pair): string {
    if (!isScalar(pair.key) || typeof pair.key.value !== 'string') this.fail(pair.key as YamlNode, 'keys must be plain names');
    return pair.key.value;
  }

  value(node: unknown): Template {
    if (node === null || node === undefined) return null;
    return (node as YamlNode).toJSON() as Template;
  }

  /** A map's entries by key, checking the allowed keys. */
  entries(map: YAMLMap, allowed: string[], what: string): Map<string, Pair> {
    const out = new Map<string, Pair>();
    for (const pair of map.items) {
      const k = this.keyOf(pair);
      if (!allowed.includes(k)) this.fail(pair.key as YamlNode, `unknown key '${k}' in ${what} (allowed: ${allowed.join(', ')})`);
      if (out.has(k)) this.fail(pair.key as YamlNode, `duplicate key '${k}'`);
      out.set(k, pair);
    }
    return out;
  }

  number(pair: Pair | undefined, what: string, min = 0): Template | undefined {
    if (!pair) return undefined;
    const v = this.value(pair.value);
    if (hasTemplate(v)) return v;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) this.fail((pair.value ?? pair.key) as YamlNode, `${what} must be a number >= ${min}, not ${JSON.stringify(v)}`);
    return v;
  }

  fieldMap(node: unknown, allowed: string[], what: string, parent: YamlNode): { [key: string]: Template } {
    if (!isMap(node)) this.fail((node as YamlNode | null) ?? parent, `${what} takes a map of ${allowed.join(', ')}`);
    const e = this.entries(node, allowed, what);
    const out: { [key: string]: Template } = {};
    for (const [k, pair] of e) {
      const v = this.value(pair.value);
      const at = (pair.value ?? pair.key) as YamlNode;
      if (!hasTemplate(v)) {
        try {
          if (k === 'type') parseTypeId(v);
          if (k === 'cot') parseCot(v);
        } catch (err) {
          this.fail(at, err instanceof SpecError ? err.message : String(err));
        }
        if (k === 'pn' && v !== 'positive' && v !== 'negative') this.fail(at, `pn must be 'positive' or 'negative', not ${JSON.stringify(v)}`);
        if (['ca', 'ioa', 'qu', 'ql', 'qualifier', 'originator', 'ns', 'nr'].includes(k) && (typeof v !== 'number' || !Number.isInteger(v) || v < 0)) {
          this.fail(at, `${k} must be a non-negative integer or a \${variable}, not ${JSON.stringify(v)}`);
        }
        if (k === 'value' && what.startsWith('expect') && v !== null && typeof v === 'object' && !Array.isArray(v)) {
          for (const rk of Object.keys(v)) if (rk !== 'min' && rk !== 'max') this.fail(at, `a value range takes min and max, not '${rk}'`);
        }
      }
      out[k] = v;
    }
    return out;
  }

  steps(node: unknown, parent: YamlNode): ScenarioStep[] {
    if (!isSeq(node)) this.fail((node as YamlNode | null) ?? parent, 'steps must be a list');
    if (node.items.length === 0) this.fail(node, 'steps is empty');
    return node.items.map((item) => this.step(item as YamlNode));
  }

  step(node: YamlNode): ScenarioStep {
    const pos = this.pos(node);
    if (isScalar(node)) {
      const name = String(node.value);
      const kind = ACTIONS[name];
      if (!kind) this.fail(node, `unknown step '${name}' (steps: ${Object.keys(ACTIONS).join(', ')})`);
      if (!['connect', 'startdt', 'stopdt', 'testfr', 'disconnect', 'expect-close'].includes(kind)) this.fail(node, `step '${name}' needs arguments (write '${name}: ...')`);
      return { kind, pos } as ScenarioStep;
    }
    if (!isMap(node)) this.fail(node, 'a step is an action name or a map with one action key (connect, startdt, command, expect, ...)');
    const actionPairs = node.items.filter((p) => ACTIONS[this.keyOf(p)] !== undefined);
    if (actionPairs.length === 0) this.fail(node, `a step needs one action key (${Object.keys(ACTIONS).join(', ')})`);
    if (actionPairs.length > 1) this.fail(actionPairs[1].key as YamlNode, `one action per step: found '${this.keyOf(actionPairs[0])}' and '${this.keyOf(actionPairs[1])}'`);
    const action = this.keyOf(actionPairs[0]);
    const kind = ACTIONS[action];
    const e = this.entries(node, [action, ...COMMON_KEYS, ...(EXTRA_KEYS[kind] ?? [])], `step '${action}'`);
    const arg = actionPairs[0].value;
    const argNode = (arg ?? actionPairs[0].key) as YamlNode;
    const common: StepCommon = { pos };
    const nameP = e.get('name');
    if (nameP) {
      const n = this.value(nameP.value);
      if (typeof n !== 'string') this.fail((nameP.value ?? nameP.key) as YamlNode, 'name must be text');
      common.name = n;
    }
    const to = this.number(e.get('timeout'), 'timeout');
    if (to !== undefined) common.timeout = to;
    const argValue = this.value(arg);
    const noArgs = (): void => {
      if (argValue !== null && !(isMap(arg) && arg.items.length === 0)) this.fail(argNode, `'${action}' takes no arguments (write '- ${action}' or '${action}: {}')`);
    };
    switch (kind) {
      case 'connect': {
        if (argValue !== null && !isMap(arg)) this.fail(argNode, 'connect takes no arguments or a map with t0');
        const c = isMap(arg) ? this.entries(arg, ['t0'], 'connect') : new Map<string, Pair>();
        const t0 = this.number(c.get('t0') ?? e.get('t0'), 't0', 1);
        return { ...common, kind, ...(t0 !== undefined ? { t0 } : {}) };
      }
      case 'startdt':
      case 'stopdt':
      case 'testfr':
      case 'disconnect':
      case 'expect-close':
        noArgs();
        return { ...common, kind };
      case 'interrogation': {
        if (isMap(arg)) {
          const f = this.fieldMap(arg, ['ca', 'qoi'], 'interrogation', node);
          if (f.ca === undefined) this.fail(argNode, 'interrogation needs ca');
          return { ...common, kind, ca: f.ca, ...(f.qoi !== undefined ? { qoi: f.qoi } : {}) };
        }
        if (typeof argValue !== 'number' && !hasTemplate(argValue)) this.fail(argNode, 'interrogation takes a common address or a map { ca, qoi }');
        return { ...common, kind, ca: argValue };
      }
      case 'send': {
        const spec = this.fieldMap(arg, SEND_KEYS, action, node);
        if (spec.type === undefined) this.fail(argNode, `${action} needs type`);
        if (spec.ca === undefined) this.fail(argNode, `${action} needs ca`);
        return { ...common, kind, spec };
      }
      case 'expect':
      case 'expect-none': {
        const pattern = this.fieldMap(arg, PATTERN_KEYS, action, node);
        const count = this.number(e.get('count'), 'count', 1);
        return kind === 'expect' ? { ...common, kind, pattern, ...(count !== undefined ? { count } : {}) } : { ...common, kind, pattern };
      }
      case 'wait': {
        if (!hasTemplate(argValue) && (typeof argValue !== 'number' || argValue < 0)) this.fail(argNode, 'wait takes a number of milliseconds');
        return { ...common, kind, ms: argValue };
      }
      case 'raw': {
        if (typeof argValue !== 'string') this.fail(argNode, "raw takes hex text, e.g. '68 04 43 00 00 00'");
        if (!hasTemplate(argValue)) {
          try {
            parseHex(argValue);
          } catch (err) {
            this.fail(argNode, (err as Error).message);
          }
        }
        return { ...common, kind, hex: argValue };
      }
      case 'set': {
        if (!isMap(arg)) this.fail(argNode, 'set takes a map of variable: value');
        const vars: { [key: string]: Template } = {};
        for (const p of arg.items) {
          const k = this.keyOf(p);
          if (!/^[A-Za-z_]\w*$/.test(k)) this.fail(p.key as YamlNode, `'${k}' is not a variable name`);
          vars[k] = this.value(p.value);
        }
        return { ...common, kind, vars };
      }
      case 'repeat': {
        if (!hasTemplate(argValue) && (typeof argValue !== 'number' || !Number.isInteger(argValue) || argValue < 0)) this.fail(argNode, 'repeat takes a count (integer >= 0)');
        if (typeof argValue === 'number' && argValue > MAX_REPEAT) this.fail(argNode, `repeat count ${argValue} is above the limit of ${MAX_REPEAT} (MAX_REPEAT)`);
        const asP = e.get('as');
        let as = 'i';
        if (asP) {
          const a = this.value(asP.value);
          if (typeof a !== 'string' || !/^[A-Za-z_]\w*$/.test(a)) this.fail((asP.value ?? asP.key) as YamlNode, 'as takes a variable name');
          as = a;
        }
        const stepsP = e.get('steps');
        if (!stepsP) this.fail(node, 'repeat needs steps');
        return { ...common, kind, times: argValue, as, steps: this.steps(stepsP.value, stepsP.key as YamlNode) };
      }
    }
  }
}

/**
 * Parse a scenario file's text.
 * @throws {@link ScenarioError} with line and column for YAML syntax errors and for anything the format does not allow.
 */
export function parseScenario(text: string, file = '<scenario>', limits: Partial<DocumentLimits> = {}): Scenario {
  try {
    checkDocument(text, file, { ...SCENARIO_DOCUMENT_LIMITS, ...limits });
  } catch (e) {
    if (e instanceof DocumentLimitError) throw new ScenarioError(file, e.line ?? 1, e.column ?? 1, e.message.slice(file.length + 1));
    throw e;
  }
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const p = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
    throw new ScenarioError(file, p.line, p.col, e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, ''));
  }
  const P: Parser = new Parser(file, lc);
  const root = doc.contents;
  if (!isMap(root)) P.fail(root as YamlNode | null, 'a scenario is a map with name and steps');
  const e = P.entries(root, ['name', 'description', 'target', 'vars', 'timeout', 'steps'], 'the scenario');
  const nameP = e.get('name');
  const name = nameP ? P.value(nameP.value) : null;
  if (nameP && typeof name !== 'string') P.fail((nameP.value ?? nameP.key) as YamlNode, 'name must be text');
  const stepsP = e.get('steps');
  if (!stepsP) P.fail(root, "the scenario needs 'steps'");
  const sc: Scenario = { name: typeof name === 'string' ? name : file.replace(/^.*\//, '').replace(/\.ya?ml$/, ''), file, vars: {}, steps: [] };
  const descP = e.get('description');
  if (descP) sc.description = String(P.value(descP.value));
  const targetP = e.get('target');
  if (targetP) {
    const t = P.value(targetP.value);
    if (typeof t !== 'string') P.fail((targetP.value ?? targetP.key) as YamlNode, 'target must be HOST[:PORT]');
    sc.target = t;
  }
  const to = P.number(e.get('timeout'), 'timeout');
  if (to !== undefined) {
    if (typeof to !== 'number') P.fail(e.get('timeout')!.value as YamlNode, 'the scenario timeout must be a number (no variables)');
    sc.timeout = to;
  }
  const varsP = e.get('vars');
  if (varsP) {
    if (!isMap(varsP.value)) P.fail((varsP.value ?? varsP.key) as YamlNode, 'vars must be a map of name: value');
    for (const p of varsP.value.items) {
      const k = P.keyOf(p);
      if (!/^[A-Za-z_]\w*$/.test(k)) P.fail(p.key as YamlNode, `'${k}' is not a variable name`);
      sc.vars[k] = P.value(p.value);
    }
  }
  sc.steps = P.steps(stepsP.value, stepsP.key as YamlNode);
  return sc;
}

// ---------------------------------------------------------------------------------------------
// templates

/** A `${...}` expression could not be evaluated. */
export class TemplateError extends Error {
  override readonly name = 'TemplateError';
  /** Stable code for programs. */
  readonly code = 'E_TEMPLATE' as const;
}

type Vars = { readonly [key: string]: Template };

/** Evaluate a small expression: numbers, variables, + - * / % and parentheses; `+` joins text. */
export function evalExpression(expr: string, vars: Vars): number | string | boolean {
  const tokens = expr.match(/\s*(\d+(?:\.\d+)?|0x[0-9a-fA-F]+|[A-Za-z_]\w*|[-+*/%()])\s*/gy);
  if (!tokens || tokens.join('').length !== expr.length) throw new TemplateError(`cannot read the expression '${expr}'`);
  const t = tokens.map((x) => x.trim());
  let i = 0;
  const primary = (): number | string | boolean => {
    const x = t[i++];
    if (x === undefined) throw new TemplateError(`the expression '${expr}' ends too early`);
    if (x === '(') {
      const v = sum();
      if (t[i++] !== ')') throw new TemplateError(`missing ')' in '${expr}'`);
      return v;
    }
    if (x === '-') return -Number(primary());
    if (/^\d|^0x/.test(x)) return Number(x);
    if (/^[A-Za-z_]/.test(x)) {
      if (!(x in vars)) throw new TemplateError(`unknown variable '${x}'`);
      const v = vars[x];
      if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
      throw new TemplateError(`variable '${x}' is not a number or text`);
    }
    throw new TemplateError(`unexpected '${x}' in '${expr}'`);
  };
  const product = (): number | string | boolean => {
    let v = primary();
    while (t[i] === '*' || t[i] === '/' || t[i] === '%') {
      const op = t[i++];
      const r = Number(primary());
      v = op === '*' ? Number(v) * r : op === '/' ? Number(v) / r : Number(v) % r;
    }
    return v;
  };
  const sum = (): number | string | boolean => {
    let v = product();
    while (t[i] === '+' || t[i] === '-') {
      const op = t[i++];
      const r = product();
      if (op === '+') v = typeof v === 'string' || typeof r === 'string' ? `${String(v)}${String(r)}` : Number(v) + Number(r);
      else v = Number(v) - Number(r);
    }
    return v;
  };
  const v = sum();
  if (i !== t.length) throw new TemplateError(`unexpected '${t[i]}' in '${expr}'`);
  return v;
}

/** Replace `${expr}` in a template: a whole-string `${expr}` keeps the value's type. */
export function resolveTemplate(v: Template, vars: Vars): Template {
  if (typeof v === 'string') {
    const whole = /^\$\{([^}]*)\}$/.exec(v);
    if (whole) return evalExpression(whole[1].trim(), vars);
    return v.replace(/\$\{([^}]*)\}/g, (_, e: string) => String(evalExpression(e.trim(), vars)));
  }
  if (Array.isArray(v)) return v.map((x) => resolveTemplate(x, vars));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolveTemplate(x, vars)]));
  return v;
}

/** Parse hex text (`68 04 43 00 00 00`, `68:04:..`, `0x68,0x04`, one run); `#` starts a comment. */
export function parseHex(text: string): Uint8Array {
  const clean = text
    .split('\n')
    .map((l) => l.replace(/#.*/, ''))
    .join(' ')
    .replace(/0x/gi, ' ')
    .replace(/\\x/gi, ' ')
    .replace(/[\s:,;-]+/g, ' ')
    .trim();
  if (clean === '') throw new Error('raw: no hex octets');
  const groups = clean.split(' ');
  const out: number[] = [];
  for (const g of groups) {
    if (!/^[0-9a-fA-F]+$/.test(g)) throw new Error(`raw: '${g}' is not hex`);
    if (g.length % 2 !== 0 && g.length !== 1) throw new Error(`raw: '${g}' has an odd number of hex digits`);
    if (g.length === 1) out.push(Number.parseInt(g, 16));
    else for (let i = 0; i < g.length; i += 2) out.push(Number.parseInt(g.slice(i, i + 2), 16));
  }
  return Uint8Array.from(out);
}
