/**
 * Station configuration files (YAML or JSON) for the RTU simulator: parsing and validation with
 * messages that name the path in the file, e.g. `points[3].type: unknown type 'M_XX'`.
 *
 * ```yaml
 * station:                 # all optional
 *   commonAddresses: [1]
 *   link: { k: 12, w: 8, t1: 15000, t2: 10000, t3: 20000 }
 *   cyclicPeriodMs: 10000
 *   backgroundPeriodMs: 0
 *   selectTimeoutMs: 10000
 *   maxCommandAgeMs: 10000
 *   maxClockStepMs: 60000             # refuse clock synchronisations that move the clock further (default: any step)
 *   connectionBudget: 4194304         # bytes a connection may have queued before it is closed (docs/station.md)
 *   endOfInitialization: station      # station | connection | none
 *   eventQueue: { capacity: 10000, overflow: drop-oldest }   # of each redundancy group's queue
 *   redundancy: { mode: single }       # single | per-connection (or the mode alone: redundancy: per-connection)
 *   # redundancy: { mode: groups, catchAll: true,
 *   #               groups: [{ name: scada-a, allow: [10.0.1.0/24] }, { name: scada-b, allow: [10.0.2.0/24, 'fd00::/8'] }] }
 *   utc: true
 *   misbehave: [ignore-select, no-actterm]   # TEST-ONLY deliberate violations (docs/station.md); never in operation
 * listen: { host: 0.0.0.0, port: 2404 }  # or a list; per listener also tls: {cert, key, ca, crl, peerCertificates},
 *                                        # allow: [CIDR], maxConnections, maxPending, maxPendingPerSource,
 *                                        # startTimeout (TLS default port 19998; slot pools: docs/security.md)
 * roles: [{ match: { address, subject, fingerprint256 }, role: monitor | control,
 *           commands: [{ types, ca, ioa: [[from, to]] }] }]   # see docs/security.md
 * defaultRole: monitor
 * audit: audit.jsonl                     # or - (stdout)
 * points:
 *   - { ca: 1, ioa: 1001, type: M_DP_NA_1, name: Q0 breaker, value: 2, groups: [1],
 *       simulate: { kind: toggle, periodMs: 30000, probability: 0.2 } }
 * commands:
 *   - { ca: 1, ioa: 5001, type: C_DC_NA_1, mode: sbo,
 *       behaviour: { result: accept, delayMs: 800, feedback: { ioa: 1001 } } }
 *   - { ca: 1, ioa: 6001, type: C_SE_NC_1, allowNonFinite: false }   # NaN/±inf set-points refused (default)
 * ```
 */
import { parse as parseYaml } from 'yaml';
import { checkDocument, DocumentLimitError, type DocumentLimits } from '../document-limits.js';
import { typeInfo, TypeId } from '../codec/type-table.js';
import { DEFAULT_LINK_PARAMETERS } from '../link/types.js';
import { commandKindOf, type CommandBehaviour, type CommandFeedback, type CommandMode, type CommandPointConfig } from './commands.js';
import { MONITOR_POINT_TYPES, normalizeQuality, normalizeValue, type PointConfig, PointError, type PointKind, resolvePointTypes } from './point-database.js';
import type { EndOfInitializationMode, StationOptions } from './station.js';
import { isPlainFileName } from './file-folder.js';
import { AccessRoleError, AccessRoles, type CommandScope, type DefaultRole, type RoleRule, type StationRole } from './access-roles.js';
import type { TlsConfig } from '../transport/tls-config.js';
import { RedundancyConfigError, type RedundancyOptions, validateRedundancy } from './redundancy-group.js';
import { MISBEHAVIOUR_NAMES, parseMisbehaviourList, type StationMisbehaviour } from './misbehave.js';

/** How a simulated point changes. */
export type Simulation =
  /** numeric points: value += uniform(-step, +step), kept in [min, max] */
  | { kind: 'random-walk'; periodMs: number; step: number; min?: number; max?: number }
  /** single/double points: flip (OFF↔ON) with `probability` (default 1) each period */
  | { kind: 'toggle'; periodMs: number; probability?: number }
  /** numeric points: offset + amplitude × sin(2π t / wavePeriodMs) */
  | { kind: 'periodic'; periodMs: number; offset: number; amplitude: number; wavePeriodMs: number }
  /** counters (and numeric points): value += increment each period */
  | { kind: 'counter'; periodMs: number; increment: number };

/** A simulation bound to a point. */
export interface PointSimulation {
  ca: number;
  ioa: number;
  simulation: Simulation;
}

/** One listener of a configuration file (`listen:` is one of these or a list). */
export interface ListenFileConfig {
  host: string;
  /** Default 2404, or 19998 with `tls`. */
  port: number;
  /** Mutual TLS; file paths as written in the file (the CLI resolves them against the file's directory). */
  tls?: TlsConfig;
  allow?: string[];
  maxConnections?: number;
  maxPending?: number;
  maxPendingPerSource?: number;
  startTimeout?: number;
}

/** A validated configuration file. */
export interface StationFileConfig {
  /** Options for `createStation` (without clock, logger, handlers); includes `roles` / `defaultRole`. */
  station: StationOptions;
  /** The first listener. */
  listen: ListenFileConfig;
  /** Every listener (`listen` first). */
  listeners: ListenFileConfig[];
  /** Audit log destination: a file path, or `-` for stdout. */
  audit?: string;
  simulations: PointSimulation[];
  /** A folder exposed by file transfer (`files:`; `dir` as written, the CLI resolves it against the file's directory). */
  files?: FilesFileConfig;
}

/** `files:` of a configuration file: a folder offered for download (and upload), see docs/files.md. */
export interface FilesFileConfig {
  dir?: string;
  ca?: number;
  firstIoa?: number;
  upload?: boolean;
  map?: Array<{ ioa: number; name: string; nof?: number }>;
  sectionSize?: number;
  timeoutMs?: number;
}

function filesSection(v: unknown, path: string): FilesFileConfig {
  const o = obj(v, path);
  keys(o, path, ['dir', 'ca', 'firstIoa', 'upload', 'map', 'sectionSize', 'timeoutMs']);
  const f: FilesFileConfig = {};
  const dir = opt(o, 'dir', path, str);
  if (dir !== undefined) f.dir = dir;
  const ca = opt(o, 'ca', path, (x, p) => int(x, p, 1, 65535));
  if (ca !== undefined) f.ca = ca;
  const first = opt(o, 'firstIoa', path, (x, p) => int(x, p, 1, 0xffffff));
  if (first !== undefined) f.firstIoa = first;
  const upload = opt(o, 'upload', path, bool);
  if (upload !== undefined) f.upload = upload;
  const ss = opt(o, 'sectionSize', path, (x, p) => int(x, p, 1, 0xffffff));
  if (ss !== undefined) f.sectionSize = ss;
  const t = opt(o, 'timeoutMs', path, (x, p) => int(x, p, 1, 2 ** 31));
  if (t !== undefined) f.timeoutMs = t;
  const map = opt(o, 'map', path, arr);
  if (map) {
    const seen = new Set<number>();
    f.map = map.map((m, i) => {
      const mp = `${path}.map[${i}]`;
      const e = obj(m, mp);
      keys(e, mp, ['ioa', 'name', 'nof']);
      const ioa = int(e.ioa, `${mp}.ioa`, 1, 0xffffff);
      if (seen.has(ioa)) throw new StationConfigError(`${mp}.ioa`, `IOA ${ioa} is mapped twice`);
      seen.add(ioa);
      const name = str(e.name, `${mp}.name`);
      if (!isPlainFileName(name)) throw new StationConfigError(`${mp}.name`, `expected a plain file name inside the folder, got ${show(name)}`);
      const nof = opt(e, 'nof', mp, (x, p) => int(x, p, 1, 65535));
      return { ioa, name, ...(nof !== undefined ? { nof } : {}) };
    });
  }
  return f;
}

const TLS_KEYS = [
  'cert', 'key', 'ca', 'peerCertificates', 'peerSubjects', 'crl', 'minVersion', 'maxVersion', 'ciphers', 'requireClientCert', 'handshakeTimeout', 'maxSessionDuration', 'sessionTimeout',
  'allowRenegotiation', 'renegotiationInterval', 'minRenegotiationInterval', 'sessionTickets', 'sessionCacheSize',
] as const;

function tlsSection(v: unknown, path: string): TlsConfig {
  const o = obj(v, path);
  keys(o, path, TLS_KEYS);
  const strs = (x: unknown, p: string): string[] => (typeof x === 'string' ? [x] : arr(x, p).map((y, i) => str(y, `${p}[${i}]`)));
  const t: TlsConfig = { cert: str(o.cert, `${path}.cert`), key: str(o.key, `${path}.key`), ca: strs(o.ca, `${path}.ca`) };
  const peers = opt(o, 'peerCertificates', path, strs);
  if (peers) t.peerCertificates = peers;
  const subjects = opt(o, 'peerSubjects', path, strs);
  if (subjects) t.peerSubjects = subjects;
  const crl = opt(o, 'crl', path, strs);
  if (crl) t.crl = crl;
  const minV = opt(o, 'minVersion', path, (x, p) => oneOf(x, p, ['TLSv1.2', 'TLSv1.3'] as const));
  if (minV) t.minVersion = minV;
  const maxV = opt(o, 'maxVersion', path, (x, p) => oneOf(x, p, ['TLSv1.2', 'TLSv1.3'] as const));
  if (maxV) t.maxVersion = maxV;
  const ciphers = opt(o, 'ciphers', path, str);
  if (ciphers) t.ciphers = ciphers;
  const rcc = opt(o, 'requireClientCert', path, bool);
  if (rcc !== undefined) t.requireClientCert = rcc;
  for (const k of ['allowRenegotiation', 'sessionTickets'] as const) {
    const x = opt(o, k, path, bool);
    if (x !== undefined) t[k] = x;
  }
  const cache = opt(o, 'sessionCacheSize', path, (y, p) => num(y, p, 0));
  if (cache !== undefined) t.sessionCacheSize = cache;
  for (const k of ['handshakeTimeout', 'maxSessionDuration', 'sessionTimeout', 'renegotiationInterval', 'minRenegotiationInterval'] as const) {
    const x = opt(o, k, path, (y, p) => num(y, p, 1));
    if (x !== undefined) t[k] = x;
  }
  return t;
}

function listenSection(v: unknown, path: string): ListenFileConfig {
  const l = obj(v, path);
  keys(l, path, ['host', 'port', 'tls', 'allow', 'maxConnections', 'maxPending', 'maxPendingPerSource', 'startTimeout']);
  const tls = opt(l, 'tls', path, tlsSection);
  const out: ListenFileConfig = { host: opt(l, 'host', path, str) ?? '0.0.0.0', port: opt(l, 'port', path, (x, p) => int(x, p, 0, 65535)) ?? (tls ? 19998 : 2404) };
  if (tls) out.tls = tls;
  const allow = opt(l, 'allow', path, arr);
  if (allow) out.allow = allow.map((a, i) => str(a, `${path}.allow[${i}]`));
  const mc = opt(l, 'maxConnections', path, (x, p) => int(x, p, 1, 1000));
  if (mc !== undefined) out.maxConnections = mc;
  const mp = opt(l, 'maxPending', path, (x, p) => int(x, p, 1, 1000));
  if (mp !== undefined) out.maxPending = mp;
  const mps = opt(l, 'maxPendingPerSource', path, (x, p) => int(x, p, 1, 1000));
  if (mps !== undefined) out.maxPendingPerSource = mps;
  const st = opt(l, 'startTimeout', path, (x, p) => num(x, p, 0));
  if (st !== undefined) out.startTimeout = st;
  return out;
}

function scopes(v: unknown, path: string): CommandScope[] {
  return arr(v, path).map((x, i) => {
    const p = `${path}[${i}]`;
    const o = obj(x, p);
    keys(o, p, ['types', 'ca', 'ioa']);
    const sc: CommandScope = {};
    const types = opt(o, 'types', p, arr);
    if (types) sc.types = types.map((t, j) => typeRef(t, `${p}.types[${j}]`, (id) => (id >= 45 && id <= 64) || (id >= 100 && id <= 113), 'a command type (45..64, 100..113)'));
    const ca = opt(o, 'ca', p, arr);
    if (ca) sc.ca = ca.map((c, j) => int(c, `${p}.ca[${j}]`, 0, 0xffff));
    const ioa = opt(o, 'ioa', p, arr);
    if (ioa) {
      sc.ioa = ioa.map((r, j) => {
        const rp = `${p}.ioa[${j}]`;
        if (typeof r === 'number') return [int(r, rp, 0, 0xffffff), r] as const;
        const pair = arr(r, rp);
        if (pair.length !== 2) throw new StationConfigError(rp, `expected [from, to], got ${show(r)}`);
        const from = int(pair[0], `${rp}[0]`, 0, 0xffffff);
        const to = int(pair[1], `${rp}[1]`, 0, 0xffffff);
        if (from > to) throw new StationConfigError(rp, `from ${from} is greater than to ${to}`);
        return [from, to] as const;
      });
    }
    return sc;
  });
}

function roleOf(v: unknown, path: string): StationRole {
  return oneOf<StationRole>(v, path, ['monitor', 'control']);
}

/**
 * Validate `roles:` / `defaultRole:` of a document (a station configuration, or a roles file for
 * `iec104 serve --roles`; a bare list is taken as `roles:`). Throws {@link StationConfigError}
 * naming the path (`roles[1].match.address`).
 */
export function validateRolesConfig(doc: unknown): { roles?: RoleRule[]; defaultRole?: DefaultRole } {
  if (Array.isArray(doc)) return rolesSection({ roles: doc });
  const root = obj(doc ?? {}, '');
  keys(root, '', ['roles', 'defaultRole']);
  return rolesSection(root);
}

/**
 * Limits of a roles file (`iec104 serve --roles`), checked before it is parsed: 4 MiB, nesting depth
 * 64, 1000 YAML aliases (a roles file is a short list).
 */
export const ROLES_DOCUMENT_LIMITS: Readonly<DocumentLimits> = Object.freeze({ maxBytes: 4 * 1024 * 1024, maxDepth: 64, maxAliases: 1000 });

/**
 * Parse and validate a roles file (YAML or JSON, see {@link validateRolesConfig}) read from `file`.
 * Like the other loaders it checks {@link ROLES_DOCUMENT_LIMITS} (or `limits`) before parsing. Throws
 * {@link StationConfigError} whose message starts with `file`: a broken limit (code, line and column in
 * the message, the {@link DocumentLimitError} as `cause`), a syntax error, or the path of an invalid value.
 */
export function parseRolesConfig(text: string, file: string, limits: Partial<DocumentLimits> = {}): { roles?: RoleRule[]; defaultRole?: DefaultRole } {
  try {
    checkDocument(text, file, { ...ROLES_DOCUMENT_LIMITS, ...limits });
  } catch (e) {
    if (e instanceof DocumentLimitError) throw new StationConfigError('', e.message, { cause: e });
    throw e;
  }
  let doc: unknown;
  try {
    doc = text.trimStart().startsWith('{') ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new StationConfigError(file, `not valid YAML/JSON: ${(e as Error).message}`, { cause: e });
  }
  try {
    return validateRolesConfig(doc);
  } catch (e) {
    if (e instanceof StationConfigError) throw new StationConfigError(e.path ? `${file}: ${e.path}` : file, e.problem);
    throw e;
  }
}

/** Roles and default role (validated like `AccessRoles` does, with path-named errors). */
function rolesSection(root: Obj): { roles?: RoleRule[]; defaultRole?: DefaultRole } {
  const out: { roles?: RoleRule[]; defaultRole?: DefaultRole } = {};
  if (root.roles !== undefined) {
    out.roles = arr(root.roles, 'roles').map((x, i) => {
      const p = `roles[${i}]`;
      const o = obj(x, p);
      keys(o, p, ['match', 'role', 'commands', 'name']);
      const mp = `${p}.match`;
      const m = obj(o.match ?? {}, mp);
      keys(m, mp, ['address', 'subject', 'fingerprint256']);
      const rule: RoleRule = { match: {}, role: roleOf(o.role, `${p}.role`) };
      const addr = opt(m, 'address', mp, (y, q) => (typeof y === 'string' ? [y] : arr(y, q).map((z, j) => str(z, `${q}[${j}]`))));
      if (addr) rule.match.address = addr;
      const subject = opt(m, 'subject', mp, str);
      if (subject !== undefined) rule.match.subject = subject;
      const fp = opt(m, 'fingerprint256', mp, (y, q) => (typeof y === 'string' ? y : arr(y, q).map((z, j) => str(z, `${q}[${j}]`))));
      if (fp !== undefined) rule.match.fingerprint256 = fp;
      const cmds = opt(o, 'commands', p, scopes);
      if (cmds) rule.commands = cmds;
      const name = opt(o, 'name', p, str);
      if (name !== undefined) rule.name = name;
      return rule;
    });
  }
  if (root.defaultRole !== undefined) {
    if (typeof root.defaultRole === 'string') out.defaultRole = roleOf(root.defaultRole, 'defaultRole');
    else {
      const o = obj(root.defaultRole, 'defaultRole');
      keys(o, 'defaultRole', ['role', 'commands']);
      const d: { role: StationRole; commands?: CommandScope[] } = { role: roleOf(o.role, 'defaultRole.role') };
      const cmds = opt(o, 'commands', 'defaultRole', scopes);
      if (cmds) d.commands = cmds;
      out.defaultRole = d;
    }
  }
  if (out.roles || out.defaultRole) {
    try {
      new AccessRoles(out.roles ?? [], out.defaultRole ?? (out.roles ? 'monitor' : 'control'));
    } catch (e) {
      if (e instanceof AccessRoleError) throw new StationConfigError(e.path, e.message.slice(e.path.length + 2));
      throw e;
    }
  }
  return out;
}

/** A configuration problem; `path` names where in the file (e.g. `points[3].type`). */
export class StationConfigError extends Error {
  override readonly name = 'StationConfigError';
  /** Stable code for programs. */
  readonly code = 'E_STATION_CONFIG' as const;
  constructor(
    readonly path: string,
    readonly problem: string,
    /** What caused it, e.g. the {@link DocumentLimitError} of a hostile file. */
    options?: { cause?: unknown },
  ) {
    super(path ? `${path}: ${problem}` : problem, options);
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : JSON.stringify(v) ?? String(v));

function obj(v: unknown, path: string): Obj {
  if (!isObj(v)) throw new StationConfigError(path, `expected a mapping, got ${show(v)}`);
  return v;
}
function keys(o: Obj, path: string, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new StationConfigError(path ? `${path}.${k}` : k, `unknown key (allowed: ${allowed.join(', ')})`);
}
function int(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new StationConfigError(path, `expected an integer ${min}..${max}, got ${show(v)}`);
  return v;
}
function num(v: unknown, path: string, min = -Infinity, max = Infinity): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw new StationConfigError(path, `expected a number${min > -Infinity ? ` >= ${min}` : ''}${max < Infinity ? ` <= ${max}` : ''}, got ${show(v)}`);
  return v;
}
function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') throw new StationConfigError(path, `expected true or false, got ${show(v)}`);
  return v;
}
function str(v: unknown, path: string): string {
  if (typeof v !== 'string') throw new StationConfigError(path, `expected a string, got ${show(v)}`);
  return v;
}
function oneOf<T extends string>(v: unknown, path: string, options: readonly T[]): T {
  if (typeof v !== 'string' || !options.includes(v as T)) throw new StationConfigError(path, `expected one of ${options.join(', ')}, got ${show(v)}`);
  return v as T;
}
function arr(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw new StationConfigError(path, `expected a list, got ${show(v)}`);
  return v;
}
function opt<T>(o: Obj, k: string, path: string, f: (v: unknown, p: string) => T): T | undefined {
  return o[k] === undefined ? undefined : f(o[k], path ? `${path}.${k}` : k);
}

/** A type given by mnemonic (`M_SP_NA_1`) or number. */
function typeRef(v: unknown, path: string, accept: (id: number) => boolean, what: string): number {
  let id: number | undefined;
  if (typeof v === 'number' && Number.isInteger(v)) id = v;
  else if (typeof v === 'string') {
    id = (TypeId as Readonly<Record<string, number>>)[v.trim().toUpperCase()];
    if (id === undefined && /^\d+$/.test(v.trim())) id = Number(v.trim());
    if (id === undefined) throw new StationConfigError(path, `unknown type ${show(v)}`);
  } else throw new StationConfigError(path, `expected a type name like M_SP_NA_1 or a number, got ${show(v)}`);
  if (!accept(id)) throw new StationConfigError(path, `${typeInfo(id)?.name ?? `type ${id}`} is not ${what}`);
  return id;
}

const POINT_KEYS = ['ca', 'ioa', 'type', 'eventType', 'name', 'value', 'quality', 'interrogation', 'groups', 'counterGroup', 'cyclic', 'background', 'spontaneous', 'simulate'] as const;
const NUMERIC: readonly PointKind[] = ['normalized', 'normalized-no-quality', 'scaled', 'float', 'step', 'counter', 'bitstring'];

function simulation(v: unknown, path: string, kind: PointKind): Simulation {
  const o = obj(v, path);
  const k = oneOf(o.kind, `${path}.kind`, ['random-walk', 'toggle', 'periodic', 'counter'] as const);
  const periodMs = num(o.periodMs, `${path}.periodMs`, 10);
  const need = (ok: boolean, what: string) => {
    if (!ok) throw new StationConfigError(`${path}.kind`, `'${k}' needs ${what} point, this one is ${kind}`);
  };
  switch (k) {
    case 'random-walk': {
      keys(o, path, ['kind', 'periodMs', 'step', 'min', 'max']);
      need(NUMERIC.includes(kind) && kind !== 'counter' && kind !== 'bitstring', 'a measured value or step position');
      const s: Simulation = { kind: k, periodMs, step: num(o.step, `${path}.step`, 0) };
      const min = opt(o, 'min', path, (x, p) => num(x, p));
      const max = opt(o, 'max', path, (x, p) => num(x, p));
      if (min !== undefined) s.min = min;
      if (max !== undefined) s.max = max;
      if (min !== undefined && max !== undefined && min > max) throw new StationConfigError(`${path}.min`, `min ${min} is greater than max ${max}`);
      return s;
    }
    case 'toggle': {
      keys(o, path, ['kind', 'periodMs', 'probability']);
      need(kind === 'single' || kind === 'double', 'a single or double');
      const s: Simulation = { kind: k, periodMs };
      const p = opt(o, 'probability', path, (x, q) => num(x, q, 0, 1));
      if (p !== undefined) s.probability = p;
      return s;
    }
    case 'periodic':
      keys(o, path, ['kind', 'periodMs', 'offset', 'amplitude', 'wavePeriodMs']);
      need(NUMERIC.includes(kind) && kind !== 'counter' && kind !== 'bitstring', 'a measured value or step position');
      return { kind: k, periodMs, offset: num(o.offset ?? 0, `${path}.offset`), amplitude: num(o.amplitude, `${path}.amplitude`), wavePeriodMs: num(o.wavePeriodMs, `${path}.wavePeriodMs`, 1) };
    case 'counter':
      keys(o, path, ['kind', 'periodMs', 'increment']);
      need(NUMERIC.includes(kind), 'a counter or numeric');
      return { kind: k, periodMs, increment: num(o.increment ?? 1, `${path}.increment`) };
  }
}

function point(v: unknown, path: string): { p: PointConfig; sim?: Simulation } {
  const o = obj(v, path);
  keys(o, path, POINT_KEYS);
  const ca = int(o.ca, `${path}.ca`, 1, 0xfffe);
  const ioa = int(o.ioa, `${path}.ioa`, 1, 0xffffff);
  const type = typeRef(o.type, `${path}.type`, (id) => MONITOR_POINT_TYPES.includes(id), 'a monitor point type');
  const p: PointConfig = { ca, ioa, type };
  const eventType = opt(o, 'eventType', path, (x, q) => typeRef(x, q, (id) => MONITOR_POINT_TYPES.includes(id), 'a monitor point type'));
  let kind: PointKind;
  try {
    kind = resolvePointTypes(type, eventType).kind;
  } catch (e) {
    throw new StationConfigError(`${path}.eventType`, (e as Error).message);
  }
  if (eventType !== undefined) p.eventType = eventType;
  const name = opt(o, 'name', path, str);
  if (name !== undefined) p.name = name;
  if (o.value !== undefined) {
    try {
      p.value = normalizeValue(kind, o.value);
    } catch (e) {
      throw new StationConfigError(`${path}.value`, (e as PointError).message);
    }
  }
  if (o.quality !== undefined) {
    try {
      p.quality = normalizeQuality(o.quality);
    } catch (e) {
      throw new StationConfigError(`${path}.quality`, (e as PointError).message);
    }
  }
  const b = (k: 'interrogation' | 'cyclic' | 'background' | 'spontaneous') => {
    const x = opt(o, k, path, bool);
    if (x !== undefined) p[k] = x;
  };
  b('interrogation');
  b('cyclic');
  b('background');
  b('spontaneous');
  const groups = opt(o, 'groups', path, arr);
  if (groups) p.groups = groups.map((g, i) => int(g, `${path}.groups[${i}]`, 1, 16));
  const cg = opt(o, 'counterGroup', path, (x, q) => int(x, q, 1, 4));
  if (cg !== undefined) p.counterGroup = cg;
  const sim = opt(o, 'simulate', path, (x, q) => simulation(x, q, kind));
  return sim ? { p, sim } : { p };
}

function feedback(v: unknown, path: string): CommandFeedback {
  const o = obj(v, path);
  keys(o, path, ['ca', 'ioa', 'value', 'from', 'min', 'max']);
  const fb: CommandFeedback = { ioa: int(o.ioa, `${path}.ioa`, 1, 0xffffff) };
  const ca = opt(o, 'ca', path, (x, p) => int(x, p, 1, 0xfffe));
  if (ca !== undefined) fb.ca = ca;
  if (o.value !== undefined) fb.value = o.value as CommandFeedback['value'];
  const from = opt(o, 'from', path, (x, p) => oneOf(x, p, ['command', 'step'] as const));
  if (from !== undefined) fb.from = from;
  const min = opt(o, 'min', path, (x, p) => int(x, p, -64, 63));
  const max = opt(o, 'max', path, (x, p) => int(x, p, -64, 63));
  if (min !== undefined) fb.min = min;
  if (max !== undefined) fb.max = max;
  return fb;
}

function command(v: unknown, path: string): CommandPointConfig {
  const o = obj(v, path);
  keys(o, path, ['ca', 'ioa', 'type', 'mode', 'name', 'behaviour', 'allowNonFinite']);
  const c: CommandPointConfig = {
    ca: int(o.ca, `${path}.ca`, 1, 0xfffe),
    ioa: int(o.ioa, `${path}.ioa`, 1, 0xffffff),
    type: typeRef(o.type, `${path}.type`, (id) => commandKindOf(id) !== undefined, 'a process command type (C_SC/DC/RC/SE/BO)'),
  };
  const mode = opt(o, 'mode', path, (x, p) => oneOf<CommandMode>(x, p, ['direct', 'sbo', 'both']));
  if (mode !== undefined) c.mode = mode;
  const name = opt(o, 'name', path, str);
  if (name !== undefined) c.name = name;
  const nonFinite = opt(o, 'allowNonFinite', path, bool);
  if (nonFinite !== undefined) {
    if (commandKindOf(c.type) !== 'setpoint-float') throw new StationConfigError(`${path}.allowNonFinite`, 'only for floating-point set-points (C_SE_NC_1, C_SE_TC_1)');
    c.allowNonFinite = nonFinite;
  }
  if (o.behaviour !== undefined) {
    const bp = `${path}.behaviour`;
    const b = obj(o.behaviour, bp);
    keys(b, bp, ['result', 'delayMs', 'feedback']);
    const beh: CommandBehaviour = {};
    const r = opt(b, 'result', bp, (x, p) => oneOf(x, p, ['accept', 'reject'] as const));
    if (r !== undefined) beh.result = r;
    const d = opt(b, 'delayMs', bp, (x, p) => num(x, p, 0));
    if (d !== undefined) beh.delayMs = d;
    const fb = opt(b, 'feedback', bp, feedback);
    if (fb !== undefined) beh.feedback = fb;
    c.behaviour = beh;
  }
  return c;
}

function stationSection(v: unknown, path: string): StationOptions {
  const o = obj(v, path);
  keys(o, path, ['commonAddresses', 'link', 'cyclicPeriodMs', 'backgroundPeriodMs', 'selectTimeoutMs', 'maxCommandAgeMs', 'endOfInitialization', 'initializationCause', 'eventQueue', 'utc', 'maxConnections', 'sqMinRun', 'redundancy', 'misbehave', 'maxClockStepMs', 'connectionBudget']);
  const s: StationOptions = {};
  const cas = opt(o, 'commonAddresses', path, arr);
  if (cas) s.commonAddresses = cas.map((c, i) => int(c, `${path}.commonAddresses[${i}]`, 1, 0xfffe));
  if (o.link !== undefined) {
    const lp = `${path}.link`;
    const l = obj(o.link, lp);
    keys(l, lp, ['k', 'w', 't0', 't1', 't2', 't3']);
    s.link = {};
    for (const k of ['k', 'w'] as const) if (l[k] !== undefined) s.link[k] = int(l[k], `${lp}.${k}`, 1, 32767);
    for (const k of ['t0', 't1', 't2', 't3'] as const) if (l[k] !== undefined) s.link[k] = num(l[k], `${lp}.${k}`, 1);
    const k = s.link.k ?? DEFAULT_LINK_PARAMETERS.k;
    if (s.link.w !== undefined && s.link.w > k) throw new StationConfigError(`${lp}.w`, `w (${s.link.w}) must not exceed k (${k})`);
    const t1 = s.link.t1 ?? DEFAULT_LINK_PARAMETERS.t1;
    if (s.link.t2 !== undefined && s.link.t2 >= t1) throw new StationConfigError(`${lp}.t2`, `t2 (${s.link.t2}) must be less than t1 (${t1})`);
  }
  for (const k of ['cyclicPeriodMs', 'backgroundPeriodMs', 'selectTimeoutMs', 'maxCommandAgeMs'] as const) {
    const x = opt(o, k, path, (y, p) => num(y, p, 0));
    if (x !== undefined) s[k] = x;
  }
  const ei = opt(o, 'endOfInitialization', path, (x, p) => oneOf<EndOfInitializationMode>(x, p, ['station', 'connection', 'none']));
  if (ei !== undefined) s.endOfInitialization = ei;
  const ic = opt(o, 'initializationCause', path, (x, p) => int(x, p, 0, 127));
  if (ic !== undefined) s.initializationCause = ic;
  if (o.eventQueue !== undefined) {
    const qp = `${path}.eventQueue`;
    const q = obj(o.eventQueue, qp);
    keys(q, qp, ['capacity', 'overflow']);
    s.eventQueue = {};
    const cap = opt(q, 'capacity', qp, (x, p) => int(x, p, 1, 10_000_000));
    if (cap !== undefined) s.eventQueue.capacity = cap;
    const ov = opt(q, 'overflow', qp, (x, p) => oneOf(x, p, ['drop-oldest', 'drop-newest'] as const));
    if (ov !== undefined) s.eventQueue.overflow = ov;
  }
  const utc = opt(o, 'utc', path, bool);
  if (utc !== undefined) s.utc = utc;
  const mc = opt(o, 'maxConnections', path, (x, p) => int(x, p, 1, 1000));
  if (mc !== undefined) s.maxConnections = mc;
  const step = opt(o, 'maxClockStepMs', path, (x, p) => num(x, p, 0));
  if (step !== undefined) s.maxClockStepMs = step;
  const budget = opt(o, 'connectionBudget', path, (x, p) => int(x, p, 1024, Number.MAX_SAFE_INTEGER));
  if (budget !== undefined) s.connectionBudget = budget;
  const sq = opt(o, 'sqMinRun', path, (x, p) => int(x, p, 2, 127));
  if (sq !== undefined) s.sqMinRun = sq;
  const red = opt(o, 'redundancy', path, redundancySection);
  if (red !== undefined) s.redundancy = red;
  const mis = opt(o, 'misbehave', path, misbehaveSection);
  if (mis !== undefined) s.misbehave = mis;
  return s;
}

/** `station.misbehave` (TEST-ONLY): a list of names (`[ignore-select, no-actterm]`), a comma-separated string, or a mapping of flags (`{ ignoreSelect: true }`). */
function misbehaveSection(v: unknown, path: string): StationMisbehaviour {
  if (typeof v === 'string' || Array.isArray(v)) {
    const names = typeof v === 'string' ? [v] : v.map((x, i) => str(x, `${path}[${i}]`));
    try {
      return parseMisbehaviourList(names.join(','));
    } catch (e) {
      throw new StationConfigError(path, (e as Error).message);
    }
  }
  const o = obj(v, path);
  const flags = Object.values(MISBEHAVIOUR_NAMES);
  keys(o, path, flags);
  const m: StationMisbehaviour = {};
  for (const f of flags) {
    const b = opt(o, f, path, bool);
    if (b !== undefined) m[f] = b;
  }
  return m;
}

/** `station.redundancy`: a mapping `{ mode, groups?, catchAll? }`, or the mode alone (`single`, `per-connection`). */
function redundancySection(v: unknown, path: string): RedundancyOptions {
  if (typeof v === 'string') {
    const mode = oneOf(v, path, ['single', 'per-connection', 'groups'] as const);
    if (mode === 'groups') throw new StationConfigError(path, "mode 'groups' needs groups: write { mode: groups, groups: [{ name, allow: [CIDR] }], catchAll? }");
    return { mode };
  }
  const o = obj(v, path);
  const mode = oneOf(o.mode, `${path}.mode`, ['single', 'per-connection', 'groups'] as const);
  keys(o, path, mode === 'groups' ? ['mode', 'groups', 'catchAll'] : ['mode']);
  let r: RedundancyOptions;
  if (mode !== 'groups') r = { mode };
  else {
    const groups = arr(o.groups ?? [], `${path}.groups`).map((g, i) => {
      const gp = `${path}.groups[${i}]`;
      const go = obj(g, gp);
      keys(go, gp, ['name', 'allow']);
      const allow = go.allow;
      return { name: str(go.name, `${gp}.name`), allow: (typeof allow === 'string' ? [allow] : arr(allow, `${gp}.allow`)).map((a, j) => str(a, `${gp}.allow[${j}]`)) };
    });
    const catchAll = opt(o, 'catchAll', path, bool);
    r = { mode, groups, ...(catchAll !== undefined ? { catchAll } : {}) };
  }
  try {
    validateRedundancy(r);
  } catch (e) {
    if (e instanceof RedundancyConfigError) throw new StationConfigError(e.path ? `${path}.${e.path}` : path, e.problem);
    throw e;
  }
  return r;
}

/**
 * Validate a parsed configuration document. Throws {@link StationConfigError} naming the path of the
 * first problem.
 */
export function validateStationConfig(doc: unknown): StationFileConfig {
  const root = obj(doc ?? {}, '');
  keys(root, '', ['station', 'listen', 'points', 'commands', 'roles', 'defaultRole', 'audit', 'files']);
  const station: StationOptions = root.station === undefined ? {} : stationSection(root.station, 'station');
  let listeners: ListenFileConfig[] = [{ host: '0.0.0.0', port: 2404 }];
  if (Array.isArray(root.listen)) {
    listeners = root.listen.map((l, i) => listenSection(l, `listen[${i}]`));
    if (listeners.length === 0) throw new StationConfigError('listen', 'expected at least one listener');
  } else if (root.listen !== undefined) listeners = [listenSection(root.listen, 'listen')];
  Object.assign(station, rolesSection(root));
  const audit = opt(root, 'audit', '', str);
  const files = opt(root, 'files', '', filesSection);
  const points: PointConfig[] = [];
  const simulations: PointSimulation[] = [];
  const seen = new Map<string, string>();
  arr(root.points ?? [], 'points').forEach((v, i) => {
    const path = `points[${i}]`;
    const { p, sim } = point(v, path);
    const key = `${p.ca}:${p.ioa}`;
    const prev = seen.get(key);
    if (prev) throw new StationConfigError(`${path}.ioa`, `CA ${p.ca} IOA ${p.ioa} already used by ${prev}`);
    seen.set(key, path);
    points.push(p);
    if (sim) simulations.push({ ca: p.ca, ioa: p.ioa, simulation: sim });
  });
  const commands: CommandPointConfig[] = [];
  const seenCmd = new Map<string, string>();
  arr(root.commands ?? [], 'commands').forEach((v, i) => {
    const path = `commands[${i}]`;
    const c = command(v, path);
    const key = `${c.ca}:${c.ioa}`;
    const prev = seenCmd.get(key);
    if (prev) throw new StationConfigError(`${path}.ioa`, `CA ${c.ca} IOA ${c.ioa} already used by ${prev}`);
    seenCmd.set(key, path);
    const fb = c.behaviour?.feedback;
    if (fb) {
      const target = points.find((p) => p.ca === (fb.ca ?? c.ca) && p.ioa === fb.ioa);
      if (!target) throw new StationConfigError(`${path}.behaviour.feedback.ioa`, `no point CA ${fb.ca ?? c.ca} IOA ${fb.ioa} is configured`);
      const kind = resolvePointTypes(target.type, target.eventType).kind;
      if (fb.from === 'step' && kind !== 'step') throw new StationConfigError(`${path}.behaviour.feedback.from`, `'step' needs a step position point (M_ST_*), CA ${target.ca} IOA ${target.ioa} is ${kind}`);
      if (fb.value !== undefined) {
        try {
          fb.value = normalizeValue(kind, fb.value);
        } catch (e) {
          throw new StationConfigError(`${path}.behaviour.feedback.value`, (e as Error).message);
        }
      }
    }
    commands.push(c);
  });
  // point-level rules enforced by the database (cyclic types, groups, counters)
  points.forEach((p, i) => {
    try {
      const info = resolvePointTypes(p.type, p.eventType);
      const st = info.staticType === undefined ? undefined : typeInfo(info.staticType);
      if (p.cyclic && !st?.causes.has(1)) throw new PointError(`${typeInfo(p.type)!.name} points cannot be sent cyclically (only M_ME_NA/NB/NC/ND)`);
      if (p.counterGroup !== undefined && info.kind !== 'counter') throw new PointError('counterGroup is only for counter points');
      if (p.groups?.length && (info.kind === 'counter' || !st?.causes.has(20))) throw new PointError(`${typeInfo(p.type)!.name} points cannot be in interrogation groups`);
    } catch (e) {
      throw new StationConfigError(`points[${i}]`, (e as Error).message);
    }
  });
  return { station: { ...station, points, commands }, listen: listeners[0], listeners, ...(audit !== undefined ? { audit } : {}), ...(files !== undefined ? { files } : {}), simulations };
}

/**
 * Parse and validate a configuration text. `format` defaults to JSON when the text starts with
 * `{`, YAML otherwise (YAML is a superset of JSON anyway). Throws {@link StationConfigError}, also
 * when the text breaks a {@link DocumentLimits} limit (size 256 MiB, nesting depth 64, 10000 YAML
 * aliases by default; `limits` changes them): the message names the limit and the line.
 */
export function parseStationConfig(text: string, format?: 'yaml' | 'json', limits: Partial<DocumentLimits> = {}): StationFileConfig {
  let doc: unknown;
  const f = format ?? (text.trimStart().startsWith('{') ? 'json' : 'yaml');
  try {
    // size, nesting and aliases first: a hostile file gets this error, not a parser's stack overflow
    checkDocument(text, 'the configuration', limits);
  } catch (e) {
    if (e instanceof DocumentLimitError) throw new StationConfigError('', e.message);
    throw e;
  }
  try {
    doc = f === 'json' ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new StationConfigError('', `not valid ${f.toUpperCase()}: ${(e as Error).message}`);
  }
  return validateStationConfig(doc);
}
