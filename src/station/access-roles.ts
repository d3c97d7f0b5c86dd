/**
 * Per-client roles of a controlled station: which master may send which commands.
 *
 * A connection gets a role when it is accepted, from the first matching {@link RoleRule} (source
 * address CIDR, certificate subject, certificate fingerprint), else the default role:
 *
 * - `monitor`: interrogations, counter reads (FRZ 0), read and test commands only. Every command
 *   that changes state is refused (see {@link isStateChangingCommand}).
 * - `control`: every command, or, with `commands` scopes, only those within a scope (types, common
 *   addresses, IOA ranges).
 *
 * The station refuses a denied request with a negative confirmation (COT 7, or 9 for a
 * deactivation, P/N=1) before looking at its common address or object (a refused master learns
 * nothing about the configuration), records a security event `E_ACCESS_ROLE` and, with an audit
 * log, a command record with outcome `rejected`.
 */
import type { Asdu } from '../codec/asdu.js';
import { TypeId, familyOf, isParameterType, isTypeIdNumber, isProcessCommand, typeName, untimedVariantOf } from '../codec/type-table.js';
import { AddressAllowList, normalizeAddress } from '../transport/access-control.js';
import { normalizeFingerprint } from '../transport/tls-config.js';

/** What a connection may do. */
export type StationRole = 'monitor' | 'control';

/**
 * A set of commands a `control` role may send. Every given field must match; an absent field
 * matches everything. A time-tagged process command (58..64) matches its base type (45..51) too.
 */
export interface CommandScope {
  /** Type identifications (e.g. `[45, 46]`, `[103]`). */
  types?: readonly number[];
  /** Common addresses. */
  ca?: readonly number[];
  /** Inclusive IOA ranges `[from, to]`; every object of the request must lie in one. */
  ioa?: readonly (readonly [number, number])[];
}

/** Who a rule applies to. Every given field must match; an empty match applies to everyone. */
export interface RoleMatch {
  /** Source address CIDR rules (IPv4/IPv6, IPv4-mapped handled). */
  address?: readonly string[];
  /**
   * Certificate subject: `/regex/flags` is tested against the whole subject (`CN=.., O=..`) and the
   * CN; any other text must equal the CN or the whole subject.
   */
  subject?: string;
  /** SHA-256 certificate fingerprint(s) (`AA:BB:..` or 64 hex digits). */
  fingerprint256?: string | readonly string[];
}

/** One role rule (first match wins). */
export interface RoleRule {
  match: RoleMatch;
  role: StationRole;
  /** `control` only: allowed command scopes (default: every command). */
  commands?: readonly CommandScope[];
  /** A name for logs and the audit. */
  name?: string;
}

/** A default role: a role name, or a role with scopes. */
export type DefaultRole = StationRole | { role: StationRole; commands?: readonly CommandScope[] };

/** Identity of a connected master. */
export interface PeerIdentity {
  /** Source address (IPv4-mapped IPv6 shown as IPv4). */
  address?: string;
  port?: number;
  /** Certificate subject (`CN=.., O=..`), TLS only. */
  subject?: string;
  /** Certificate SHA-256 fingerprint, TLS only. */
  fingerprint256?: string;
}

/** The role a connection got. */
export interface AccessGrant {
  role: StationRole;
  commands?: readonly CommandScope[];
  /** Index of the matching rule, or `default`. */
  rule: number | 'default';
  name?: string;
}

/** An invalid role rule; `path` names it (`roles[2].match.address[0]`). */
export class AccessRoleError extends Error {
  override readonly name = 'AccessRoleError';
  readonly code = 'E_ACCESS_ROLE_CONFIG' as const;
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

/**
 * Whether a request changes state and so needs the `control` role: process commands (45..51,
 * 58..64, as the type table says; the private types 52..57 are refused by the station as unknown
 * types before any role check), clock synchronisation (103), reset process (105), delay
 * acquisition (106), parameters (110..113), and counter interrogations that freeze or reset (101
 * with FRZ 1..3).
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { isStateChangingCommand } from 'iec104';
 * const asdu = (typeId: number, obj: Record<string, unknown> = {}) => ({ typeId, sq: false, cot: 6, negative: false, test: false, originator: 0, ca: 1, objects: [{ ioa: 0, ...obj }] });
 * assert.equal(isStateChangingCommand(asdu(45, { value: true })), true);
 * assert.equal(isStateChangingCommand(asdu(105, { qrp: 1 })), true);
 * assert.equal(isStateChangingCommand(asdu(100, { qoi: 20 })), false);
 * assert.equal(isStateChangingCommand(asdu(101, { rqt: 5, frz: 0 })), false);
 * assert.equal(isStateChangingCommand(asdu(101, { rqt: 5, frz: 2 })), true);
 * ```
 */
export function isStateChangingCommand(asdu: Pick<Asdu, 'typeId' | 'objects'>): boolean {
  const t = asdu.typeId;
  if (isProcessCommand(t) || isParameterType(t)) return true;
  const family = familyOf(t);
  if (family === 'clock-sync' || family === 'reset-process' || family === 'delay-acquisition') return true;
  if (t === TypeId.C_CI_NA_1) return asdu.objects.some((o) => Number(o.frz ?? 0) !== 0);
  return false;
}

interface CompiledRule {
  rule: RoleRule;
  index: number;
  allow?: AddressAllowList;
  subject?: RegExp | string;
  fingerprints?: ReadonlySet<string>;
}

const ROLES: readonly StationRole[] = ['monitor', 'control'];

function cnOf(subject: string): string | undefined {
  return /(?:^|[,\n/]\s*)CN=([^,\n/]*)/.exec(subject)?.[1]?.trim();
}

function checkScopes(scopes: unknown, path: string): void {
  if (!Array.isArray(scopes)) throw new AccessRoleError(path, 'expected a list of command scopes');
  scopes.forEach((s: CommandScope, i) => {
    const p = `${path}[${i}]`;
    if (typeof s !== 'object' || s === null) throw new AccessRoleError(p, 'expected a mapping');
    s.types?.forEach((t, j) => {
      if (!isTypeIdNumber(t)) throw new AccessRoleError(`${p}.types[${j}]`, `expected a type identification 1..255, got ${JSON.stringify(t)}`);
    });
    s.ca?.forEach((c, j) => {
      if (!Number.isInteger(c) || c < 0 || c > 0xffff) throw new AccessRoleError(`${p}.ca[${j}]`, `expected a common address 0..65535, got ${JSON.stringify(c)}`);
    });
    s.ioa?.forEach((r, j) => {
      if (!Array.isArray(r) || r.length !== 2 || !r.every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffffff) || r[0] > r[1]) {
        throw new AccessRoleError(`${p}.ioa[${j}]`, `expected [from, to] with 0 <= from <= to <= 16777215, got ${JSON.stringify(r)}`);
      }
    });
  });
}

/**
 * Compiled role rules: {@link resolve} gives a connection its {@link AccessGrant}, {@link check}
 * says whether a request is allowed. Throws {@link AccessRoleError} for an invalid rule.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { AccessRoles } from 'iec104';
 * const roles = new AccessRoles([
 *   { match: { subject: 'scada-1' }, role: 'control', commands: [{ ca: [1], ioa: [[5000, 5099]] }] },
 *   { match: { address: ['10.0.0.0/8'] }, role: 'monitor' },
 * ], 'monitor');
 * const cmd = (ioa: number) => ({ typeId: 45, sq: false, cot: 6, negative: false, test: false, originator: 0, ca: 1, objects: [{ ioa, value: true }] });
 * const scada = roles.resolve({ address: '10.0.0.5', subject: 'CN=scada-1, O=utility' });
 * assert.equal(scada.role, 'control');
 * assert.equal(AccessRoles.check(scada, cmd(5001)), undefined);
 * assert.match(AccessRoles.check(scada, cmd(6001)) ?? '', /outside/);
 * assert.match(AccessRoles.check(roles.resolve({ address: '10.1.1.1' }), cmd(5001)) ?? '', /monitor/);
 * ```
 */
export class AccessRoles {
  private readonly rules: CompiledRule[];
  private readonly fallback: AccessGrant;

  constructor(rules: readonly RoleRule[], defaultRole: DefaultRole = 'monitor', path = 'roles') {
    if (!Array.isArray(rules)) throw new AccessRoleError(path, 'expected a list of rules');
    this.rules = rules.map((rule, index) => {
      const p = `${path}[${index}]`;
      if (typeof rule !== 'object' || rule === null) throw new AccessRoleError(p, 'expected a mapping');
      if (!ROLES.includes(rule.role)) throw new AccessRoleError(`${p}.role`, `expected monitor or control, got ${JSON.stringify(rule.role)}`);
      if (rule.commands !== undefined) {
        if (rule.role !== 'control') throw new AccessRoleError(`${p}.commands`, 'command scopes apply to the control role only');
        checkScopes(rule.commands, `${p}.commands`);
      }
      const m = rule.match ?? {};
      const c: CompiledRule = { rule, index };
      if (m.address !== undefined) {
        try {
          c.allow = new AddressAllowList(m.address);
        } catch (e) {
          throw new AccessRoleError(`${p}.match.address`, e instanceof Error ? e.message : String(e));
        }
      }
      if (m.subject !== undefined) {
        if (typeof m.subject !== 'string' || m.subject === '') throw new AccessRoleError(`${p}.match.subject`, 'expected a non-empty string');
        const re = /^\/(.+)\/([a-z]*)$/.exec(m.subject);
        try {
          c.subject = re ? new RegExp(re[1], re[2]) : m.subject;
        } catch (e) {
          throw new AccessRoleError(`${p}.match.subject`, `invalid regular expression: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      if (m.fingerprint256 !== undefined) {
        const list: readonly string[] = typeof m.fingerprint256 === 'string' ? [m.fingerprint256] : m.fingerprint256;
        c.fingerprints = new Set(list.map((f: string, j: number) => {
          const n = normalizeFingerprint(f);
          if (!n) throw new AccessRoleError(`${p}.match.fingerprint256${typeof m.fingerprint256 === 'string' ? '' : `[${j}]`}`, `not a SHA-256 fingerprint: ${JSON.stringify(f)}`);
          return n;
        }));
      }
      return c;
    });
    const d = typeof defaultRole === 'string' ? { role: defaultRole } : defaultRole;
    if (!ROLES.includes(d.role)) throw new AccessRoleError('defaultRole', `expected monitor or control, got ${JSON.stringify(d.role)}`);
    if (d.commands !== undefined) checkScopes(d.commands, 'defaultRole.commands');
    this.fallback = { role: d.role, ...(d.commands ? { commands: d.commands } : {}), rule: 'default' };
  }

  /** The grant of a connection: the first matching rule, else the default role. */
  resolve(peer: PeerIdentity): AccessGrant {
    for (const c of this.rules) {
      if (c.allow && (peer.address === undefined || !c.allow.has(peer.address))) continue;
      if (c.subject !== undefined) {
        if (peer.subject === undefined) continue;
        const cn = cnOf(peer.subject);
        const ok = typeof c.subject === 'string' ? c.subject === peer.subject || c.subject === cn : c.subject.test(peer.subject) || (cn !== undefined && c.subject.test(cn));
        if (!ok) continue;
      }
      if (c.fingerprints && (peer.fingerprint256 === undefined || !c.fingerprints.has(normalizeFingerprint(peer.fingerprint256) ?? ''))) continue;
      return { role: c.rule.role, ...(c.rule.commands ? { commands: c.rule.commands } : {}), rule: c.index, ...(c.rule.name ? { name: c.rule.name } : {}) };
    }
    return this.fallback;
  }

  /** Why `grant` may not send `asdu`, or undefined when it may. */
  static check(grant: AccessGrant, asdu: Pick<Asdu, 'typeId' | 'ca' | 'objects'>): string | undefined {
    if (!isStateChangingCommand(asdu)) return undefined;
    const who = grant.name ? `role ${grant.role} (${grant.name})` : `role ${grant.role}`;
    if (grant.role === 'monitor') return `${who} may not send ${typeName(asdu.typeId)}`;
    if (!grant.commands) return undefined;
    const t = asdu.typeId;
    // a grant naming the untimed command also covers its CP56Time2a variant
    const base = isProcessCommand(t) ? (untimedVariantOf(t) ?? t) : t;
    const ok = grant.commands.some((s) =>
      (!s.types || s.types.includes(t) || s.types.includes(base)) &&
      (!s.ca || s.ca.includes(asdu.ca)) &&
      (!s.ioa || asdu.objects.every((o) => s.ioa!.some(([from, to]) => o.ioa >= from && o.ioa <= to))));
    if (ok) return undefined;
    return `${who}: ${typeName(t)} CA ${asdu.ca} IOA ${asdu.objects.map((o) => o.ioa).join(',')} is outside the permitted command scope`;
  }
}

/** A peer identity from a `host:port` text or an address (for connections attached without listenTcp). */
export function identityOf(remote: string | undefined): PeerIdentity {
  if (!remote) return {};
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(remote) ?? /^([^:]+):(\d+)$/.exec(remote);
  const addr = m ? m[1] : remote;
  const n = normalizeAddress(addr);
  return { address: n?.address ?? addr, ...(m ? { port: Number(m[2]) } : {}) };
}
