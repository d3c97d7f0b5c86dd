/**
 * Policy: which masters may talk to the stations, and which commands each may send (types,
 * common addresses, IOA ranges, set-point value ranges, days and hours in UTC). Written in YAML,
 * validated with messages that name the path of the offending field. Anything the policy does not
 * allow becomes a `policy.*` alert.
 *
 * ```yaml
 * version: 1
 * masters:
 *   - name: scada-a
 *     addresses: [10.0.0.1, 10.0.1.0/24]
 *     certificateSubjects: ["CN=scada-a"]      # optional; checked when a TLS front end (the proxy)
 *                                               # passes the verified subject: see PolicyChecker
 *     allow:
 *       - types: [C_SC_NA_1, C_DC_NA_1]         # names, numbers, 45-51, commands, system, parameters, '*'
 *         ca: [1, 10-20]                         # default: any
 *         ioa: 100-200                           # default: any
 *         value: { min: 0, max: 100 }            # set-points / parameters (NaN, ±infinity never match)
 *         days: [mon-fri]                        # UTC
 *         hours: '06:00-18:00'                   # UTC
 *       - types: [system]
 * stations:                                      # optional: alert on stations not listed
 *   - addresses: [10.0.2.0/24]
 * baseline: ...                                  # optional, written by `baselineToYaml`
 * ```
 */
import { parse as parseYaml } from 'yaml';
import { checkDocument, DocumentLimitError, type DocumentLimits } from '../document-limits.js';
import { TypeId, allTypes, isParameterType, isProcessCommand, isSystemCommand, typeInfo, typeName } from '../codec/type-table.js';
import { float32Number, formatFloat32 } from '../codec/float32-text.js';
import { hasFloat32Value } from '../codec/json-view.js';
import { isTrackedCommandType } from './roles.js';
import { type Alert, type JsonValue, type Observation, hostOf, makeAlert } from './types.js';
import type { Baseline } from './baseline.js';
import { checkBaselineShape } from './baseline-shape.js';

/** One problem in a policy document. */
export interface PolicyIssue {
  /** Path of the field, e.g. `masters[1].allow[0].ioa`. */
  path: string;
  message: string;
}

/** A policy document that failed validation; `issues` lists every problem found. */
export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  /** Stable code for programs. */
  readonly code = 'E_POLICY' as const;
  constructor(readonly issues: PolicyIssue[]) {
    super(issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
  }
}

/** Inclusive integer range. */
export interface NumRange {
  lo: number;
  hi: number;
}

/** An address or network (`10.0.0.1`, `10.0.0.0/24`, `fd00::/64`). */
export interface AddressMatch {
  text: string;
  matches(host: string): boolean;
}

/** One `allow` entry, parsed. `null` means "any". */
export interface AllowRule {
  types: ReadonlySet<number> | null;
  ca: NumRange[] | null;
  ioa: NumRange[] | null;
  value: { min: number; max: number } | null;
  /** Days of week (0 = Sunday .. 6 = Saturday), UTC. */
  days: ReadonlySet<number> | null;
  /** Minutes since 00:00 UTC, inclusive from, exclusive to (wraps midnight when from > to). */
  hours: { from: number; to: number } | null;
}

/** One allowed master. */
export interface PolicyMaster {
  name: string;
  addresses: AddressMatch[];
  certificateSubjects: string[];
  allow: AllowRule[];
}

/** A parsed and validated policy. */
export interface Policy {
  masters: PolicyMaster[];
  /** Allowed stations; null = not restricted. */
  stations: AddressMatch[] | null;
  /** A learned baseline to enforce together with the policy. */
  baseline?: Baseline;
}

/** The YAML/JSON shape of one allow entry (what {@link inferPolicy} writes). */
export interface AllowDocument {
  types?: Array<string | number>;
  ca?: Array<string | number> | string | number;
  ioa?: Array<string | number> | string | number;
  value?: { min?: number; max?: number };
  days?: string[] | string;
  hours?: string;
}
/** The YAML/JSON shape of a policy. */
export interface PolicyDocument {
  version?: number;
  masters: Array<{ name?: string; addresses: string[]; certificateSubjects?: string[]; allow?: AllowDocument[] }>;
  stations?: Array<{ name?: string; addresses: string[] }>;
  baseline?: Baseline;
}

// ---------------------------------------------------------------------------------------------
// addresses

function ipv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const p = m.slice(1).map(Number);
  if (p.some((x) => x > 255)) return undefined;
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

function ipv6(s: string): bigint | undefined {
  if (!/^[0-9a-fA-F:]+$/.test(s) || !s.includes(':')) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  let v = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  return v;
}

/** Parse `a.b.c.d`, `a.b.c.d/n`, an IPv6 address or network; undefined when invalid. */
export function parseAddressMatch(text: string): AddressMatch | undefined {
  const [addr, bitsText, extra] = text.trim().split('/');
  if (extra !== undefined) return undefined;
  const v4 = ipv4(addr);
  if (v4 !== undefined) {
    const bits = bitsText === undefined ? 32 : Number(bitsText);
    if (!Number.isInteger(bits) || bits < 0 || bits > 32) return undefined;
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    return { text, matches: (h) => { const x = ipv4(h); return x !== undefined && ((x & mask) >>> 0) === ((v4 & mask) >>> 0); } };
  }
  const v6 = ipv6(addr);
  if (v6 !== undefined) {
    const bits = bitsText === undefined ? 128 : Number(bitsText);
    if (!Number.isInteger(bits) || bits < 0 || bits > 128) return undefined;
    const mask = bits === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - bits)) - 1n);
    return { text, matches: (h) => { const x = ipv6(h); return x !== undefined && (x & mask) === (v6 & mask); } };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// certificate subjects

/** One attribute of a distinguished name, e.g. `{ type: 'CN', value: 'scada-a' }`. */
export interface SubjectAttribute {
  /** Short name (`CN`, `O`, `OU`, `C`, `L`, `ST`, `emailAddress`, ...), or the type as written when unknown (e.g. a dotted OID). */
  type: string;
  /** The value, escapes (`\,`, `\2C`) resolved. */
  value: string;
}

// attribute names, long names and OIDs -> OpenSSL short name
const ATTRIBUTE_NAMES: Record<string, string> = {};
for (const [short, ...aliases] of [
  ['CN', 'commonName', '2.5.4.3'],
  ['SN', 'surname', '2.5.4.4'],
  ['serialNumber', '2.5.4.5'],
  ['C', 'countryName', '2.5.4.6'],
  ['L', 'localityName', '2.5.4.7'],
  ['ST', 'S', 'stateOrProvinceName', '2.5.4.8'],
  ['street', 'streetAddress', '2.5.4.9'],
  ['O', 'organizationName', '2.5.4.10'],
  ['OU', 'organizationalUnitName', '2.5.4.11'],
  ['title', '2.5.4.12'],
  ['GN', 'givenName', '2.5.4.42'],
  ['organizationIdentifier', '2.5.4.97'],
  ['UID', 'userId', '0.9.2342.19200300.100.1.1'],
  ['DC', 'domainComponent', '0.9.2342.19200300.100.1.25'],
  ['emailAddress', 'E', 'email', '1.2.840.113549.1.9.1'],
]) {
  for (const n of [short, ...aliases]) ATTRIBUTE_NAMES[n.toLowerCase()] = short;
}

/**
 * Parse a distinguished name as certificates print it: RDNs separated by `,`, `;` or line breaks
 * (Node's `X509Certificate.subject` uses line breaks, `PeerCertificateInfo.subject` `, `), the
 * attributes of a multi-valued RDN by `+`; values with RFC 4514 escapes (`\,`, `\+`, `\\`, `\2C`,
 * UTF-8 as `\C3\A9`) or in double quotes. Attribute names are given their short name (`commonName`
 * and `2.5.4.3` are `CN`). Returns the attributes in order (multi-valued RDNs flattened), or
 * undefined when the text is not a distinguished name (no `=`, an empty attribute name, a trailing
 * separator, ...).
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { parseDistinguishedName } from 'iec104';
 * assert.deepEqual(parseDistinguishedName('C=DE\nO=Utility\\, Inc.\nOU=a + OU=b\ncommonName=scada-a'), [
 *   { type: 'C', value: 'DE' }, { type: 'O', value: 'Utility, Inc.' },
 *   { type: 'OU', value: 'a' }, { type: 'OU', value: 'b' }, { type: 'CN', value: 'scada-a' },
 * ]);
 * assert.equal(parseDistinguishedName('scada-a'), undefined);
 * ```
 */
export function parseDistinguishedName(text: string): SubjectAttribute[] | undefined {
  const out: SubjectAttribute[] = [];
  const n = text.length;
  const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\r';
  const isSep = (c: string): boolean => c === ',' || c === ';' || c === '\n' || c === '+';
  let i = 0;
  while (i < n && (isSpace(text[i]) || text[i] === '\n')) i++;
  if (i === n) return undefined;
  for (;;) {
    const eq = text.indexOf('=', i);
    if (eq < 0) return undefined;
    const rawType = text.slice(i, eq).trim();
    if (!/^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)$/.test(rawType)) return undefined;
    i = eq + 1;
    while (i < n && isSpace(text[i])) i++;
    const bytes: number[] = [];
    const put = (s: string): void => {
      for (const b of Buffer.from(s, 'utf8')) bytes.push(b);
    };
    const escape = (): boolean => {
      // at a backslash: \HH (one octet) or \c (the character itself)
      const h = text.slice(i + 1, i + 3);
      if (/^[0-9A-Fa-f]{2}$/.test(h)) {
        bytes.push(parseInt(h, 16));
        i += 3;
        return true;
      }
      if (i + 1 >= n) return false;
      put(text[i + 1]);
      i += 2;
      return true;
    };
    if (text[i] === '"') {
      i++;
      while (i < n && text[i] !== '"') {
        if (text[i] === '\\') {
          if (!escape()) return undefined;
        } else put(text[i++]);
      }
      if (i >= n) return undefined;
      i++;
      while (i < n && isSpace(text[i])) i++;
      if (i < n && !isSep(text[i])) return undefined;
    } else {
      while (i < n && !isSep(text[i])) {
        if (text[i] === '\\') {
          if (!escape()) return undefined;
        } else put(text[i++]);
      }
    }
    const lower = rawType.toLowerCase();
    out.push({ type: ATTRIBUTE_NAMES[lower] ?? rawType, value: Buffer.from(bytes).toString('utf8').trim() });
    if (i >= n) return out;
    i++; // the separator
    while (i < n && (isSpace(text[i]) || text[i] === '\n')) i++;
    if (i >= n) return undefined; // trailing separator
  }
}

/** `type=value` keys of a DN for matching: names by short name, values case-folded with runs of white space as one space. */
function subjectKeys(text: string): Set<string> | undefined {
  const attrs = parseDistinguishedName(text);
  if (!attrs) return undefined;
  return new Set(attrs.map((a) => `${(ATTRIBUTE_NAMES[a.type.toLowerCase()] ?? a.type).toLowerCase()}=${a.value.normalize('NFC').replace(/\s+/g, ' ').trim().toLowerCase()}`));
}

/**
 * Whether a certificate `subject` satisfies one policy entry of `certificateSubjects`. The entry
 * and the subject are compared as **sets of attributes**, not as text: the subject matches when
 * it contains every attribute the entry names (any order, any RDN separator, multi-valued RDNs
 * taken as their attributes); attributes the entry does not name are not looked at. Attribute
 * names are compared by short name (`CN`, `commonName` and `2.5.4.3` are the same), values after
 * resolving escapes, ignoring case and leading, trailing and repeated white space (the X.520
 * `caseIgnoreMatch` that applies to CN, O, OU, C, L, ST, DC, serialNumber, emailAddress).
 * A subject or entry that is not a distinguished name matches nothing.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { certificateSubjectMatches as m } from 'iec104';
 * assert.ok(m('CN=scada-a', 'C=DE\nO=X\nCN=scada-a'));           // Node's X509Certificate.subject
 * assert.ok(m('CN=scada-a', 'CN=scada-a, O=X'));                 // PeerCertificateInfo.subject
 * assert.ok(m('O=X, CN=scada-a', 'CN=SCADA-A, O=X, C=DE'));      // order and case do not matter
 * assert.ok(!m('O=X, CN=scada-a', 'CN=scada-a, O=Y'));           // every named attribute must be there
 * assert.ok(!m('CN=scada-a', 'CN=scada-a2, O=X'));               // values are compared whole
 * assert.ok(m('O=Utility\\, Inc.', 'CN=a, O=Utility\\2C Inc.'));  // escapes resolved
 * assert.ok(!m('CN=scada-a', 'CN=other, OU=CN\\=scada-a'));       // no substring matching
 * ```
 */
export function certificateSubjectMatches(entry: string, subject: string): boolean {
  const want = subjectKeys(entry);
  const have = subjectKeys(subject);
  if (!want || !have) return false;
  for (const k of want) if (!have.has(k)) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// validation

const DAYS: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };
const typesWhere = (p: (typeId: number) => boolean): number[] => allTypes().map((t) => t.id).filter(p);
/** The type groups a policy may name: process commands (45–51, 58–64), system commands (100–107), parameters (110–113), as the table says. */
const TYPE_GROUPS: Record<string, number[]> = {
  commands: typesWhere(isProcessCommand),
  system: typesWhere(isSystemCommand),
  parameters: typesWhere(isParameterType),
};
TYPE_GROUPS['*'] = [...TYPE_GROUPS.commands, ...TYPE_GROUPS.system, ...TYPE_GROUPS.parameters];

class Validator {
  readonly issues: PolicyIssue[] = [];
  err(path: string, message: string): void {
    this.issues.push({ path, message });
  }
  obj(v: unknown, path: string): Record<string, unknown> | undefined {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
    this.err(path, `expected a mapping, found ${describe(v)}`);
    return undefined;
  }
  list(v: unknown, path: string): unknown[] | undefined {
    if (Array.isArray(v)) return v;
    this.err(path, `expected a list, found ${describe(v)}`);
    return undefined;
  }
  unknownKeys(o: Record<string, unknown>, allowed: string[], path: string): void {
    for (const k of Object.keys(o)) if (!allowed.includes(k)) this.err(path ? `${path}.${k}` : k, `unknown key (expected one of ${allowed.join(', ')})`);
  }
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function parseRanges(v: unknown, path: string, max: number, V: Validator): NumRange[] | null {
  if (v === undefined || v === '*' || v === 'any') return null;
  const items = Array.isArray(v) ? v : [v];
  const out: NumRange[] = [];
  items.forEach((it, i) => {
    const p = Array.isArray(v) ? `${path}[${i}]` : path;
    if (typeof it === 'number' && Number.isInteger(it) && it >= 0 && it <= max) {
      out.push({ lo: it, hi: it });
      return;
    }
    const m = typeof it === 'string' ? /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(it) : null;
    if (!m) {
      V.err(p, `expected a range like 100-200 (or a number, a list of them, or '*'), found ${describe(it)}`);
      return;
    }
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) V.err(p, `range ${it} ends before it starts`);
    else if (hi > max) V.err(p, `range ${it} exceeds the largest value ${max}`);
    else out.push({ lo, hi });
  });
  return out;
}

function parseTypes(v: unknown, path: string, V: Validator): Set<number> | null {
  if (v === undefined || v === '*') return null;
  const items = Array.isArray(v) ? v : [v];
  const out = new Set<number>();
  items.forEach((it, i) => {
    const p = Array.isArray(v) ? `${path}[${i}]` : path;
    if (typeof it === 'number') {
      if (Number.isInteger(it) && isTrackedCommandType(it)) out.add(it);
      else V.err(p, `type ${it} is not a command type (45-64, 100-107, 110-113)`);
      return;
    }
    if (typeof it !== 'string') {
      V.err(p, `expected a type name like C_SC_NA_1, a number, a range like 45-51, or one of commands/system/parameters/*, found ${describe(it)}`);
      return;
    }
    const g = TYPE_GROUPS[it];
    if (g) {
      g.forEach((t) => out.add(t));
      return;
    }
    const id = (TypeId as Record<string, number>)[it];
    if (id !== undefined) {
      if (isTrackedCommandType(id)) out.add(id);
      else V.err(p, `${it} is not a command type`);
      return;
    }
    const m = /^(\d+)-(\d+)$/.exec(it);
    if (m && Number(m[1]) <= Number(m[2])) {
      for (let t = Number(m[1]); t <= Number(m[2]); t++) if (isTrackedCommandType(t)) out.add(t);
      return;
    }
    V.err(p, `unknown type ${JSON.stringify(it)} (expected a name like C_SC_NA_1, a number, a range like 45-51, or commands/system/parameters/*)`);
  });
  return out;
}

function parseDays(v: unknown, path: string, V: Validator): Set<number> | null {
  if (v === undefined) return null;
  const items = Array.isArray(v) ? v : [v];
  const out = new Set<number>();
  items.forEach((it, i) => {
    const p = Array.isArray(v) ? `${path}[${i}]` : path;
    const m = typeof it === 'string' ? /^([a-z]{3})(?:-([a-z]{3}))?$/.exec(it.trim().toLowerCase()) : null;
    const a = m ? DAYS[m[1]] : undefined;
    const b = m ? (m[2] === undefined ? a : DAYS[m[2]]) : undefined;
    if (a === undefined || b === undefined) {
      V.err(p, `expected a day like mon or a span like mon-fri, found ${describe(it)}`);
      return;
    }
    for (let d = a; ; d = (d + 1) % 7) {
      out.add(d);
      if (d === b) break;
    }
  });
  return out;
}

function parseHours(v: unknown, path: string, V: Validator): { from: number; to: number } | null {
  if (v === undefined) return null;
  const m = typeof v === 'string' ? /^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$/.exec(v.trim()) : null;
  if (!m || Number(m[1]) > 24 || Number(m[3]) > 24 || Number(m[2]) > 59 || Number(m[4]) > 59) {
    V.err(path, `expected hours like '06:00-18:00' (UTC), found ${describe(v)}`);
    return null;
  }
  return { from: Number(m[1]) * 60 + Number(m[2]), to: Number(m[3]) * 60 + Number(m[4]) };
}

function parseAddresses(o: Record<string, unknown>, path: string, V: Validator): AddressMatch[] {
  const raw = o.addresses ?? o.address;
  const key = o.addresses !== undefined ? 'addresses' : 'address';
  if (raw === undefined) {
    V.err(`${path}.addresses`, 'required: a list of addresses or networks like 10.0.0.1 or 10.0.0.0/24');
    return [];
  }
  const items = Array.isArray(raw) ? raw : [raw];
  const out: AddressMatch[] = [];
  items.forEach((it, i) => {
    const p = Array.isArray(raw) ? `${path}.${key}[${i}]` : `${path}.${key}`;
    const m = typeof it === 'string' ? parseAddressMatch(it) : undefined;
    if (m) out.push(m);
    else V.err(p, `expected an IP address or network like 10.0.0.1 or 10.0.0.0/24, found ${describe(it)}`);
  });
  return out;
}

/**
 * Validate a policy document (already parsed from YAML/JSON). Returns the policy, or throws
 * {@link PolicyError} listing every problem with its path.
 */
export function validatePolicy(doc: unknown): Policy {
  const V = new Validator();
  const root = V.obj(doc, '(document)');
  if (!root) throw new PolicyError(V.issues);
  V.unknownKeys(root, ['version', 'masters', 'stations', 'baseline'], '');
  if (root.version !== undefined && root.version !== 1) V.err('version', `expected 1, found ${describe(root.version)}`);
  const masters: PolicyMaster[] = [];
  const ml = root.masters === undefined ? [] : V.list(root.masters, 'masters') ?? [];
  ml.forEach((mv, mi) => {
    const mp = `masters[${mi}]`;
    const m = V.obj(mv, mp);
    if (!m) return;
    V.unknownKeys(m, ['name', 'address', 'addresses', 'certificateSubjects', 'allow'], mp);
    if (m.name !== undefined && typeof m.name !== 'string') V.err(`${mp}.name`, `expected text, found ${describe(m.name)}`);
    const addresses = parseAddresses(m, mp, V);
    const subjects: string[] = [];
    if (m.certificateSubjects !== undefined) {
      (V.list(m.certificateSubjects, `${mp}.certificateSubjects`) ?? []).forEach((s, i) => {
        if (typeof s === 'string' && parseDistinguishedName(s)) subjects.push(s);
        else V.err(`${mp}.certificateSubjects[${i}]`, `expected a distinguished name like CN=scada-a or 'CN=scada-a, O=Utility', found ${describe(s)}`);
      });
    }
    const allow: AllowRule[] = [];
    const al = m.allow === undefined ? [] : V.list(m.allow, `${mp}.allow`) ?? [];
    al.forEach((av, ai) => {
      const ap = `${mp}.allow[${ai}]`;
      const a = V.obj(av, ap);
      if (!a) return;
      V.unknownKeys(a, ['types', 'ca', 'ioa', 'value', 'days', 'hours'], ap);
      let value: { min: number; max: number } | null = null;
      if (a.value !== undefined) {
        const vo = V.obj(a.value, `${ap}.value`);
        if (vo) {
          V.unknownKeys(vo, ['min', 'max'], `${ap}.value`);
          const min = vo.min === undefined ? -Infinity : vo.min;
          const max = vo.max === undefined ? Infinity : vo.max;
          if (typeof min !== 'number' || Number.isNaN(min)) V.err(`${ap}.value.min`, `expected a number, found ${describe(vo.min)}`);
          else if (typeof max !== 'number' || Number.isNaN(max)) V.err(`${ap}.value.max`, `expected a number, found ${describe(vo.max)}`);
          else if (max < min) V.err(`${ap}.value`, `max ${max} is below min ${min}`);
          else value = { min, max };
        }
      }
      allow.push({
        types: parseTypes(a.types, `${ap}.types`, V),
        ca: parseRanges(a.ca, `${ap}.ca`, 0xffff, V),
        ioa: parseRanges(a.ioa, `${ap}.ioa`, 0xffffff, V),
        value,
        days: parseDays(a.days, `${ap}.days`, V),
        hours: parseHours(a.hours, `${ap}.hours`, V),
      });
    });
    masters.push({ name: typeof m.name === 'string' ? m.name : `masters[${mi}]`, addresses, certificateSubjects: subjects, allow });
  });
  let stations: AddressMatch[] | null = null;
  if (root.stations !== undefined) {
    stations = [];
    (V.list(root.stations, 'stations') ?? []).forEach((sv, si) => {
      const s = V.obj(sv, `stations[${si}]`);
      if (!s) return;
      V.unknownKeys(s, ['name', 'address', 'addresses'], `stations[${si}]`);
      for (const a of parseAddresses(s, `stations[${si}]`, V)) stations!.push(a);
    });
  }
  let baseline: Baseline | undefined;
  if (root.baseline !== undefined) baseline = checkBaselineShape(root.baseline, 'baseline', V.issues);
  if (V.issues.length) throw new PolicyError(V.issues);
  const p: Policy = { masters, stations };
  if (baseline) p.baseline = baseline;
  return p;
}

/** Limits of a policy file: 4 MiB, nesting depth 64, 1000 aliases (a policy is small; its YAML tree is not). */
export const POLICY_DOCUMENT_LIMITS: Readonly<DocumentLimits> = Object.freeze({ maxBytes: 4 * 1024 * 1024, maxDepth: 64, maxAliases: 1000 });

/**
 * Parse and validate a YAML policy. Throws {@link PolicyError} (YAML syntax errors included, with
 * line; a text over a {@link POLICY_DOCUMENT_LIMITS} limit, or `limits`, as path `(document)`).
 */
export function parsePolicy(yamlText: string, limits: Partial<DocumentLimits> = {}): Policy {
  let doc: unknown;
  try {
    checkDocument(yamlText, 'the policy', { ...POLICY_DOCUMENT_LIMITS, ...limits });
  } catch (e) {
    if (e instanceof DocumentLimitError) throw new PolicyError([{ path: '(document)', message: e.message }]);
    throw e;
  }
  try {
    doc = parseYaml(yamlText);
  } catch (e) {
    throw new PolicyError([{ path: '(yaml)', message: e instanceof Error ? e.message : String(e) }]);
  }
  return validatePolicy(doc);
}

// ---------------------------------------------------------------------------------------------
// enforcement

type Stage = 'type' | 'ca' | 'ioa' | 'value' | 'time';
const STAGES: Stage[] = ['type', 'ca', 'ioa', 'value', 'time'];
const inRanges = (r: NumRange[] | null, v: number): boolean => r === null || r.some((x) => v >= x.lo && v <= x.hi);

/** The first check of `rule` that the command fails, or undefined when it is allowed. */
function failingStage(rule: AllowRule, typeId: number, ca: number, ioa: number, value: unknown, ts: number): Stage | undefined {
  if (rule.types && !rule.types.has(typeId)) return 'type';
  if (!inRanges(rule.ca, ca)) return 'ca';
  if (!inRanges(rule.ioa, ioa)) return 'ioa';
  if (rule.value) {
    const v = typeof value === 'number' ? value : typeof value === 'boolean' ? (value ? 1 : 0) : undefined;
    // NaN compares false with everything and infinities are no set-point: outside any range
    if (v !== undefined && (!Number.isFinite(v) || v < rule.value.min || v > rule.value.max)) return 'value';
  }
  const d = new Date(ts);
  if (rule.days && !rule.days.has(d.getUTCDay())) return 'time';
  if (rule.hours) {
    const m = d.getUTCHours() * 60 + d.getUTCMinutes();
    const { from, to } = rule.hours;
    const ok = from <= to ? m >= from && m < to : m >= from || m < to;
    if (!ok) return 'time';
  }
  return undefined;
}

const STAGE_RULE: Record<Stage, [string, string]> = {
  type: ['policy.command-not-allowed', 'T0855'],
  ca: ['policy.ca-not-allowed', 'T0855'],
  ioa: ['policy.ioa-not-allowed', 'T0855'],
  value: ['policy.value-out-of-range', 'T0836'],
  time: ['policy.time-window', 'T0855'],
};

/** What {@link PolicyChecker} decided about the identity of one flow. */
interface FlowIdentity {
  subject: string | null | undefined;
  /** The address-matching masters whose certificateSubjects the flow satisfies. */
  masters: PolicyMaster[];
}

const MAX_FLOWS = 100000;

/**
 * Enforces a {@link Policy} on observations (the baseline part is enforced by `BaselineEnforcer`).
 *
 * Masters are matched by address, and — for entries with `certificateSubjects` — by the
 * `peerSubject` of the observation (see {@link certificateSubjectMatches}). A flow's identity is
 * decided on its first master→station APDU (again only if its `peerSubject` changes):
 *
 * * the subject matches an entry of an address-matching master (or that master has no
 *   `certificateSubjects`): its commands are checked against the `allow` rules of those masters only;
 * * `peerSubject` is a subject that matches none of them, or `null` (no verified certificate):
 *   one `policy.certificate-subject` alert (high, T0859) for the flow, and every command of the
 *   flow is `policy.command-not-allowed` (reason `certificate subject not allowed`) — which the
 *   proxy blocks with `enforce`;
 * * `peerSubject` absent (offline capture, passive tap): subjects cannot be checked; commands are
 *   checked against every address-matching master as without `certificateSubjects`, and one
 *   `policy.certificate-unverified` alert (low) is raised per master host (not per flow or APDU).
 *
 * Without any `certificateSubjects` in the policy none of this runs (one field check per APDU).
 */
export class PolicyChecker {
  private readonly flowsReported = new Set<string>();
  /** Parsed `certificateSubjects` per master (empty list: not restricted; null: an entry that is no DN, matches nothing); undefined when no master has any. */
  private readonly subjectEntries: Map<PolicyMaster, Array<Set<string> | null>> | undefined;
  private readonly identities = new Map<string, FlowIdentity>();
  private readonly unverifiedHosts = new Set<string>();

  constructor(readonly policy: Policy) {
    if (policy.masters.some((m) => m.certificateSubjects.length > 0)) {
      this.subjectEntries = new Map(policy.masters.map((m) => [m, m.certificateSubjects.map((e) => subjectKeys(e) ?? null)]));
    }
  }

  /** Masters of the policy whose addresses match `host`. */
  mastersFor(host: string): PolicyMaster[] {
    return this.policy.masters.filter((m) => m.addresses.some((a) => a.matches(host)));
  }

  /** Evaluate one observation. */
  observe(o: Observation): Alert[] {
    const out: Alert[] = [];
    if (!o.dir || !o.master || !o.station) return out;
    const mh = hostOf(o.master);
    const sh = hostOf(o.station);
    const masters = this.mastersFor(mh);
    if (!this.flowsReported.has(o.flow)) {
      this.flowsReported.add(o.flow);
      if (this.flowsReported.size > 100000) this.flowsReported.delete(this.flowsReported.values().next().value as string);
      if (masters.length === 0) out.push(makeAlert(o, 'policy.unknown-master', 'high', `${mh} is not an allowed master (talking to ${o.station})`, { master: mh, station: o.station }, 'T0849'));
      if (this.policy.stations && !this.policy.stations.some((a) => a.matches(sh))) {
        out.push(makeAlert(o, 'policy.unknown-station', 'medium', `station ${o.station} is not listed in the policy`, { master: mh, station: o.station }, 'T0846'));
      }
    }
    if (o.dir !== 'master→station') return out;
    const identified = this.subjectEntries !== undefined && masters.length > 0 ? this.identify(o, mh, masters, out) : masters;
    const asdu = o.apdu?.asdu;
    // every command the master sends is checked, whatever its cause: a lenient station may act on
    // a command sent with cause 3 or 20 (odd causes are alerted by cmd.invalid-cause as well)
    if (!asdu || !isTrackedCommandType(asdu.typeId)) return out;
    const tn = typeName(asdu.typeId);
    for (const obj of asdu.objects) {
      const ev: { [k: string]: JsonValue } = { master: mh, station: o.station, typeId: asdu.typeId, type: tn, ca: asdu.ca, ioa: obj.ioa };
      // short floats as the shortest number that reads back (a set-point of 20.3, not 20.299999237060547)
      const f32 = typeof obj.value === 'number' && hasFloat32Value(asdu.typeId);
      if (typeof obj.value === 'number' || typeof obj.value === 'boolean') ev.value = f32 ? float32Number(obj.value as number) : obj.value;
      if (masters.length === 0) {
        out.push(makeAlert(o, 'policy.command-not-allowed', 'high', `${tn} to CA ${asdu.ca} IOA ${obj.ioa} from ${mh}, which is not an allowed master`, { ...ev, reason: 'unknown master' }, 'T0855'));
        continue;
      }
      if (identified.length === 0) {
        const who = o.peerSubject == null ? 'without a verified certificate' : `with certificate ${o.peerSubject}`;
        out.push(makeAlert(o, 'policy.command-not-allowed', 'high', `${tn} to CA ${asdu.ca} IOA ${obj.ioa} from ${mh} ${who}, which is not an allowed certificate subject for ${masters.map((m) => m.name).join(', ')}`, { ...ev, reason: 'certificate subject not allowed', peerSubject: o.peerSubject ?? null }, 'T0855'));
        continue;
      }
      let worst = -1;
      let allowed = false;
      for (const m of identified) {
        for (const r of m.allow) {
          const st = failingStage(r, asdu.typeId, asdu.ca, obj.ioa, obj.value, o.ts);
          if (st === undefined) {
            allowed = true;
            break;
          }
          worst = Math.max(worst, STAGES.indexOf(st));
        }
        if (allowed) break;
      }
      if (allowed) continue;
      const stage = STAGES[Math.max(0, worst)];
      const [rule, mitre] = STAGE_RULE[stage];
      const what: Record<Stage, string> = {
        type: `${tn} is not allowed for ${mh}`,
        ca: `${tn} to common address ${asdu.ca} is not allowed for ${mh}`,
        ioa: `${tn} to IOA ${obj.ioa} (CA ${asdu.ca}) is outside the ranges allowed for ${mh}`,
        value: `${tn} value ${f32 ? formatFloat32(obj.value as number) : String(obj.value)} for IOA ${obj.ioa} is outside the allowed range`,
        time: `${tn} from ${mh} at ${new Date(o.ts).toISOString()} is outside the allowed days/hours (UTC)`,
      };
      out.push(makeAlert(o, rule, rule === 'policy.time-window' ? 'medium' : 'high', what[stage], { ...ev, masters: identified.map((m) => m.name) }, mitre));
    }
    return out;
  }

  /**
   * The masters among `masters` (all matching the flow's master address) whose certificateSubjects
   * the flow's `peerSubject` satisfies; decided once per flow (and subject), alerts pushed to `out`.
   */
  private identify(o: Observation, mh: string, masters: PolicyMaster[], out: Alert[]): PolicyMaster[] {
    const subject = o.peerSubject;
    const known = this.identities.get(o.flow);
    if (known !== undefined && known.subject === subject) return known.masters;
    const entries = this.subjectEntries!;
    const constrained = masters.filter((m) => (entries.get(m)?.length ?? 0) > 0);
    let identified = masters;
    if (constrained.length > 0 && subject !== undefined) {
      const have = subject === null ? undefined : subjectKeys(subject);
      identified = masters.filter((m) => {
        const list = entries.get(m) ?? [];
        return list.length === 0 || (have !== undefined && list.some((want) => want !== null && [...want].every((k) => have.has(k))));
      });
    }
    if (known === undefined && this.identities.size >= MAX_FLOWS) this.identities.delete(this.identities.keys().next().value as string);
    this.identities.set(o.flow, { subject, masters: identified });
    if (constrained.length === 0) return identified;
    const names = constrained.map((m) => m.name);
    const allowedSubjects = [...new Set(constrained.flatMap((m) => m.certificateSubjects))];
    const ev: { [k: string]: JsonValue } = { master: mh, station: o.station ?? null, masters: names, allowedSubjects };
    if (subject === undefined) {
      if (!this.unverifiedHosts.has(mh)) {
        if (this.unverifiedHosts.size >= MAX_FLOWS) this.unverifiedHosts.delete(this.unverifiedHosts.values().next().value as string);
        this.unverifiedHosts.add(mh);
        out.push(makeAlert(o, 'policy.certificate-unverified', 'low', `${mh} talks to ${o.station ?? '?'} on a connection without a known certificate subject (offline capture or passive tap): the certificateSubjects of ${names.join(', ')} are not checked`, ev));
      }
    } else if (identified.length === 0) {
      const why = subject === null
        ? `${mh} connected without a verified client certificate, but ${names.join(', ')} require${names.length === 1 ? 's' : ''} one of ${allowedSubjects.join(' | ')}`
        : `${mh} connected with certificate subject ${subject}, which is not allowed for ${names.join(', ')} (allowed: ${allowedSubjects.join(' | ')})`;
      out.push(makeAlert(o, 'policy.certificate-subject', 'high', why, { ...ev, peerSubject: subject }, 'T0859'));
    }
    return identified;
  }
}

/** Type name or number as a policy token. */
export function typeToken(typeId: number): string | number {
  const info = typeInfo(typeId);
  return info ? info.name : typeId;
}
