/**
 * Access control at the transport level: a source-address allow-list (IPv4/IPv6 CIDR, IPv4-mapped
 * IPv6 addresses handled as IPv4), a maximum number of open connections, and the "no STARTDT"
 * time-out. {@link ConnectionGate} bundles them; `listenTcp` applies it to every TCP connection
 * before any TLS handshake (options `allow`, `maxConnections`, `startTimeout`, `onRefused`), and
 * {@link ConnectionSlots}: protected slots for started/authenticated connections, a smaller pending
 * pool for the others (`maxPending`, `maxPendingPerSource`), oldest evicted first.
 */
import net from 'node:net';
import type { AccessRefusalCode } from './security-events.js';

/** An invalid allow-list rule. */
export class AccessRuleError extends Error {
  override readonly name = 'AccessRuleError';
  readonly code = 'E_ACCESS_RULE' as const;
  constructor(
    readonly rule: string,
    message: string,
  ) {
    super(`allow rule '${rule}': ${message}`);
  }
}

/**
 * Normalise an address: strip a zone (`%eth0`), turn IPv4-mapped IPv6 (`::ffff:10.0.0.1`,
 * `::ffff:a00:1`) into IPv4. Returns the address and its family, or undefined if it is not an IP.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { normalizeAddress } from 'iec104';
 * assert.deepEqual(normalizeAddress('::ffff:127.0.0.1'), { address: '127.0.0.1', family: 'ipv4' });
 * assert.deepEqual(normalizeAddress('::ffff:7f00:1'), { address: '127.0.0.1', family: 'ipv4' });
 * assert.equal(normalizeAddress('not-an-ip'), undefined);
 * ```
 */
export function normalizeAddress(addr: string): { address: string; family: 'ipv4' | 'ipv6' } | undefined {
  const a = addr.replace(/%.*$/, '').replace(/^\[|\]$/g, '');
  const kind = net.isIP(a);
  if (kind === 4) return { address: a, family: 'ipv4' };
  if (kind !== 6) return undefined;
  const lower = a.toLowerCase();
  const dotted = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower) ?? /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted && net.isIPv4(dotted[1])) return { address: dotted[1], family: 'ipv4' };
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const hi = parseInt(hex[1], 16);
    const lo = parseInt(hex[2], 16);
    return { address: `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, family: 'ipv4' };
  }
  return { address: a, family: 'ipv6' };
}

/**
 * A source-address allow-list of CIDR rules (`10.0.0.0/8`, `192.168.1.7`, `fd00::/8`, `::1`,
 * `::ffff:10.0.0.0/104` = `10.0.0.0/8`). An empty list allows nothing.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { AddressAllowList } from 'iec104';
 * const allow = new AddressAllowList(['10.0.0.0/8', 'fd00::/8']);
 * assert.equal(allow.has('10.1.2.3'), true);
 * assert.equal(allow.has('::ffff:10.1.2.3'), true);
 * assert.equal(allow.has('127.0.0.1'), false);
 * assert.equal(allow.has('fd12::1'), true);
 * ```
 */
export class AddressAllowList {
  private readonly list = new net.BlockList();
  /** The rules as given. */
  readonly rules: readonly string[];

  constructor(rules: readonly string[]) {
    this.rules = [...rules];
    for (const rule of rules) {
      const [addrPart, prefixPart, extra] = rule.trim().split('/');
      if (extra !== undefined) throw new AccessRuleError(rule, 'more than one /');
      const raw = addrPart.replace(/%.*$/, '');
      const kind = net.isIP(raw);
      if (kind === 0) throw new AccessRuleError(rule, 'not an IPv4 or IPv6 address');
      const max = kind === 4 ? 32 : 128;
      let prefix = max;
      if (prefixPart !== undefined) {
        if (!/^\d{1,3}$/.test(prefixPart) || Number(prefixPart) > max) throw new AccessRuleError(rule, `prefix must be 0..${max}`);
        prefix = Number(prefixPart);
      }
      const n = normalizeAddress(raw)!;
      if (kind === 6 && n.family === 'ipv4') {
        // ::ffff:a.b.c.d/p (p >= 96) is the IPv4 rule a.b.c.d/(p-96)
        if (prefix < 96) throw new AccessRuleError(rule, 'an IPv4-mapped rule needs a prefix of at least 96');
        this.list.addSubnet(n.address, prefix - 96, 'ipv4');
      } else {
        this.list.addSubnet(n.address, prefix, n.family);
      }
    }
  }

  /** Whether `address` (IPv4, IPv6, IPv4-mapped IPv6) matches a rule. */
  has(address: string): boolean {
    const n = normalizeAddress(address);
    if (!n) return false;
    return this.list.check(n.address, n.family);
  }
}

/** Options of {@link ConnectionGate} (the same names as on `listenTcp`). */
export interface AccessControlOptions {
  /** Source-address allow-list (CIDR rules); default: every address. */
  allow?: readonly string[] | AddressAllowList;
  /** Refuse connections while this many are open (counting those still in the TLS handshake). */
  maxConnections?: number;
}

/** A refusal of the gate. */
export interface GateRefusal {
  code: AccessRefusalCode;
  reason: string;
}

/**
 * Decides whether a new TCP connection may proceed (before any TLS byte): address allow-list, then
 * connection limit.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { ConnectionGate } from 'iec104';
 * const gate = new ConnectionGate({ allow: ['192.168.0.0/16'], maxConnections: 2 });
 * assert.equal(gate.check('192.168.1.10', 0), undefined);
 * assert.equal(gate.check('192.168.1.10', 2)?.code, 'E_ACCESS_LIMIT');
 * assert.equal(gate.check('10.0.0.1', 0)?.code, 'E_ACCESS_SOURCE');
 * ```
 */
export class ConnectionGate {
  private readonly allow?: AddressAllowList;
  private readonly max?: number;

  constructor(opts: AccessControlOptions) {
    if (opts.allow !== undefined) this.allow = opts.allow instanceof AddressAllowList ? opts.allow : new AddressAllowList(opts.allow);
    if (opts.maxConnections !== undefined) {
      if (!Number.isInteger(opts.maxConnections) || opts.maxConnections < 0) throw new RangeError(`maxConnections must be a non-negative integer, got ${opts.maxConnections}`);
      this.max = opts.maxConnections;
    }
  }

  /** Refusal for a connection from `remoteAddress` while `open` connections are open, or undefined to admit. */
  check(remoteAddress: string, open: number): GateRefusal | undefined {
    if (this.allow && !this.allow.has(remoteAddress)) {
      return { code: 'E_ACCESS_SOURCE', reason: `source address ${remoteAddress} is not on the allow-list` };
    }
    if (this.max !== undefined && open >= this.max) {
      return { code: 'E_ACCESS_LIMIT', reason: `connection limit reached (${open} of maxConnections ${this.max} open)` };
    }
    return undefined;
  }
}

/** Options of {@link ConnectionSlots} (the same names as on `listenTcp`). */
export interface ConnectionSlotOptions {
  /** Protected slots: started (or, on a verifying TLS listener, authenticated) connections. Default unlimited. */
  maxConnections?: number;
  /**
   * Pending slots: connections not yet started (plain TCP: no STARTDT yet) or not yet authenticated
   * (TLS: handshake or verification not finished). Default: half of `maxConnections` rounded up
   * (at least 1), unlimited when `maxConnections` is.
   */
  maxPending?: number;
  /** Pending slots one source address may hold. Default: half of `maxPending` rounded up (at least 1). */
  maxPendingPerSource?: number;
}

/** What {@link ConnectionSlots.admit} decided. */
export interface SlotAdmission<T> {
  /** Set when the connection is refused (`E_ACCESS_LIMIT`: every protected slot is taken). */
  refusal?: GateRefusal;
  /** Pending connections to close (`E_ACCESS_EVICTED`) so that this one has a slot, with the reason. */
  evict: Array<{ conn: T; reason: string }>;
}

/**
 * Two pools of connection slots (issue 11: idle or unauthenticated peers must not lock out
 * masters). A new connection takes a **pending** slot; it moves to a **protected** slot when it
 * starts data transfer (plain TCP) or authenticates (verifying TLS). Protected connections are never
 * evicted. The pending pool is smaller and limited per source address; when it (or the source's
 * share) is full, the **oldest** pending connection (of that source, first) is evicted for the new
 * one. A connection is refused outright only when every protected slot is taken.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { ConnectionSlots } from 'iec104';
 * const slots = new ConnectionSlots<string>({ maxConnections: 2, maxPending: 2, maxPendingPerSource: 1 });
 * assert.deepEqual(slots.admit('a1', '10.0.0.1'), { evict: [] });
 * assert.deepEqual(slots.admit('b1', '10.0.0.2'), { evict: [] });
 * // a second pending connection of 10.0.0.1 evicts its first one
 * assert.deepEqual(slots.admit('a2', '10.0.0.1').evict.map((e) => e.conn), ['a1']);
 * assert.equal(slots.promote('b1'), undefined); // b1 started: protected
 * assert.equal(slots.admit('c1', '10.0.0.3').evict.length, 0);
 * assert.equal(slots.promote('c1'), undefined);
 * assert.equal(slots.admit('d1', '10.0.0.4').refusal?.code, 'E_ACCESS_LIMIT'); // both protected slots taken
 * assert.deepEqual(slots.counts(), { protected: 2, pending: 1 });
 * ```
 */
export class ConnectionSlots<T> {
  private readonly pending = new Map<T, string>();
  private readonly held = new Set<T>();
  /** Protected slots (undefined = unlimited). */
  readonly maxConnections: number | undefined;
  /** Pending slots (undefined = unlimited). */
  readonly maxPending: number | undefined;
  /** Pending slots per source (undefined = unlimited). */
  readonly maxPendingPerSource: number | undefined;

  constructor(opts: ConnectionSlotOptions = {}) {
    const check = (v: number | undefined, name: string, min: number): number | undefined => {
      if (v !== undefined && (!Number.isInteger(v) || v < min)) throw new RangeError(`${name} must be an integer >= ${min}, got ${v}`);
      return v;
    };
    this.maxConnections = check(opts.maxConnections, 'maxConnections', 0);
    this.maxPending = check(opts.maxPending, 'maxPending', 1) ?? (this.maxConnections === undefined ? undefined : Math.max(1, Math.ceil(this.maxConnections / 2)));
    this.maxPendingPerSource = check(opts.maxPendingPerSource, 'maxPendingPerSource', 1) ?? (this.maxPending === undefined ? undefined : Math.max(1, Math.ceil(this.maxPending / 2)));
  }

  /** A new connection from `source`: refused, or admitted to the pending pool (evicting the oldest when it is full). */
  admit(conn: T, source: string): SlotAdmission<T> {
    if (this.maxConnections !== undefined && this.held.size >= this.maxConnections) {
      return { refusal: { code: 'E_ACCESS_LIMIT', reason: `connection limit reached (${this.held.size} of maxConnections ${this.maxConnections} started or authenticated connections open)` }, evict: [] };
    }
    const evict: Array<{ conn: T; reason: string }> = [];
    if (this.maxPendingPerSource !== undefined) {
      const mine = [...this.pending].filter(([, s]) => s === source);
      for (let i = 0; i <= mine.length - this.maxPendingPerSource; i++) {
        evict.push({ conn: mine[i][0], reason: `source ${source} holds maxPendingPerSource (${this.maxPendingPerSource}) connections that have not started or authenticated: the oldest is evicted for a new one` });
        this.pending.delete(mine[i][0]);
      }
    }
    if (this.maxPending !== undefined) {
      for (const [old] of this.pending) {
        if (this.pending.size < this.maxPending) break;
        evict.push({ conn: old, reason: `maxPending (${this.maxPending}) connections have not started or authenticated: the oldest is evicted for a new one` });
        this.pending.delete(old);
      }
    }
    this.pending.set(conn, source);
    return { evict };
  }

  /** The connection started or authenticated: move it to a protected slot. Refusal when all are taken (close it). */
  promote(conn: T): GateRefusal | undefined {
    if (this.held.has(conn)) return undefined;
    this.pending.delete(conn);
    if (this.maxConnections !== undefined && this.held.size >= this.maxConnections) {
      return { code: 'E_ACCESS_LIMIT', reason: `connection limit reached (${this.held.size} of maxConnections ${this.maxConnections} started or authenticated connections open)` };
    }
    this.held.add(conn);
    return undefined;
  }

  /** The connection is gone: free its slot. */
  release(conn: T): void {
    this.pending.delete(conn);
    this.held.delete(conn);
  }

  /** Whether the connection holds a protected slot. */
  isProtected(conn: T): boolean {
    return this.held.has(conn);
  }

  /** Slots taken in each pool. */
  counts(): { protected: number; pending: number } {
    return { protected: this.held.size, pending: this.pending.size };
  }
}
