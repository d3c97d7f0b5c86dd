/**
 * Display-filter expressions over APDU records, with Wireshark's field names:
 *
 *     iec60870_asdu.typeid == 45 && ip.src == 10.0.0.0/8
 *     iec60870_104.type == 3 or not tcp.port == 2404
 *     iec60870_asdu.ioa in {100 200 300} and iec60870_asdu.causetx != 3
 *
 * Fields (a field may have several values, e.g. one `ioa` per object):
 * `frame.number`, `ip.src`, `ip.dst`, `ip.addr` (also `ipv6.*`), `tcp.srcport`, `tcp.dstport`, `tcp.port`,
 * `iec60870_104.type` (0 I, 1 S, 3 U), `iec60870_104.utype` (1 STARTDT act, 2 STARTDT con, 4 STOPDT act,
 * 8 STOPDT con, 0x10 TESTFR act, 0x20 TESTFR con), `iec60870_104.tx`, `iec60870_104.rx`,
 * `iec60870_asdu.typeid`, `.sq`, `.numix`, `.causetx`, `.nega`, `.test`, `.oa`, `.addr`, `.ioa`,
 * and the protocol names `iec60870_104`, `iec60870_asdu` (present / I-frame).
 *
 * Operators: `== != < <= > >=` (also `eq ne lt le gt ge`), `in {a b c}` (commas optional),
 * `&& || !` (also `and or not`), parentheses; a bare field tests presence. As in Wireshark 4,
 * `a == x` holds when any value of `a` equals x and `a != x` when `a` is present and no value equals x;
 * a comparison on an absent field is false. Values: decimal / 0x hex numbers, IPv4 / IPv6 addresses
 * with optional `/prefix`, `true`/`false`, type mnemonics (`C_SC_NA_1`), cause short names (`act`,
 * `spont`), U-function names (`STARTDT_ACT`).
 *
 * Unlike Wireshark's `-Y`, which keeps or drops whole frames, the filter applies to each APDU.
 */
import { TypeId } from '../codec/type-table.js';
import { cotShortName } from '../codec/cause.js';
import { U_FUNCTIONS, type UFunction } from '../codec/apci.js';
import type { ApduRecord } from './analyze.js';
import { parseIp } from './packet.js';

export { parseIp };

/** A filter expression that cannot be parsed. `column` is 1-based. */
export class FilterSyntaxError extends Error {
  override readonly name = 'FilterSyntaxError';
  /** Stable code for programs. */
  readonly code = 'E_FILTER_SYNTAX' as const;
  constructor(
    message: string,
    /** 1-based column of the offending token. */
    readonly column: number,
  ) {
    super(`${message} (column ${column})`);
  }
}

/** A compiled filter. */
export type RecordFilter = (r: ApduRecord) => boolean;

type Kind = 'number' | 'ip' | 'bool';
type Val = number | Uint8Array;

interface FieldDef {
  kind: Kind;
  /** Push the field's values for a record into `out`. */
  get(r: ApduRecord, out: Val[]): void;
  /** Named values the field accepts besides numbers. */
  names?: Record<string, number>;
}

const ipCache = new Map<string, Uint8Array>();
function ipBytes(s: string): Uint8Array {
  let b = ipCache.get(s);
  if (b === undefined) {
    b = parseIp(s) ?? new Uint8Array(0);
    if (ipCache.size > 10000) ipCache.clear();
    ipCache.set(s, b);
  }
  return b;
}

const TYPE_NAMES: Record<string, number> = { ...TypeId };
const COT_NAMES: Record<string, number> = {};
for (let c = 1; c < 64; c++) {
  const n = cotShortName(c);
  if (!n.includes('(')) COT_NAMES[n] = c;
}
const UTYPE_NAMES: Record<string, number> = {};
for (const [k, v] of Object.entries(U_FUNCTIONS)) UTYPE_NAMES[k] = v >> 2;
const FORMAT_NAMES: Record<string, number> = { I: 0, S: 1, U: 3 };

const num = (get: (r: ApduRecord, out: Val[]) => void, names?: Record<string, number>): FieldDef => ({ kind: 'number', get, names });
const bool = (get: (r: ApduRecord, out: Val[]) => void): FieldDef => ({ kind: 'bool', get });
const v4 = (s: string): boolean => !s.includes(':');

/** The fields a filter can use. */
const FIELDS: Record<string, FieldDef> = {
  'frame.number': num((r, o) => o.push(r.frame)),
  'ip.src': { kind: 'ip', get: (r, o) => v4(r.from.ip) && o.push(ipBytes(r.from.ip)) },
  'ip.dst': { kind: 'ip', get: (r, o) => v4(r.to.ip) && o.push(ipBytes(r.to.ip)) },
  'ip.addr': { kind: 'ip', get: (r, o) => v4(r.from.ip) && o.push(ipBytes(r.from.ip), ipBytes(r.to.ip)) },
  'ipv6.src': { kind: 'ip', get: (r, o) => !v4(r.from.ip) && o.push(ipBytes(r.from.ip)) },
  'ipv6.dst': { kind: 'ip', get: (r, o) => !v4(r.to.ip) && o.push(ipBytes(r.to.ip)) },
  'ipv6.addr': { kind: 'ip', get: (r, o) => !v4(r.from.ip) && o.push(ipBytes(r.from.ip), ipBytes(r.to.ip)) },
  'tcp.srcport': num((r, o) => o.push(r.from.port)),
  'tcp.dstport': num((r, o) => o.push(r.to.port)),
  'tcp.port': num((r, o) => o.push(r.from.port, r.to.port)),
  iec60870_104: bool((r, o) => r.apdu && o.push(1)),
  'iec60870_104.type': num((r, o) => r.apdu && o.push(FORMAT_NAMES[r.apdu.apci.format]), FORMAT_NAMES),
  'iec60870_104.utype': num((r, o) => r.apdu?.apci.format === 'U' && o.push(U_FUNCTIONS[r.apdu.apci.uFunction as UFunction] >> 2), UTYPE_NAMES),
  'iec60870_104.tx': num((r, o) => r.apdu?.apci.format === 'I' && o.push(r.apdu.apci.sendSeq)),
  'iec60870_104.rx': num((r, o) => r.apdu && r.apdu.apci.format !== 'U' && o.push(r.apdu.apci.recvSeq)),
  iec60870_asdu: bool((r, o) => r.apdu?.asdu && o.push(1)),
  'iec60870_asdu.typeid': num((r, o) => r.apdu?.asdu && o.push(r.apdu.asdu.typeId), TYPE_NAMES),
  'iec60870_asdu.sq': bool((r, o) => r.apdu?.asdu && o.push(r.apdu.asdu.sq ? 1 : 0)),
  'iec60870_asdu.numix': num((r, o) => r.apdu?.asdu && o.push(r.apdu.asdu.rawCount ?? r.apdu.asdu.objects.length)),
  'iec60870_asdu.causetx': num((r, o) => r.apdu?.asdu && o.push(r.apdu.asdu.cot), COT_NAMES),
  'iec60870_asdu.nega': bool((r, o) => r.apdu?.asdu && o.push(r.apdu.asdu.negative ? 1 : 0)),
  'iec60870_asdu.test': bool((r, o) => r.apdu?.asdu && o.push(r.apdu.asdu.test ? 1 : 0)),
  'iec60870_asdu.oa': num((r, o) => r.apdu?.asdu && o.push(r.apdu.asdu.originator)),
  'iec60870_asdu.addr': num((r, o) => r.apdu?.asdu && o.push(r.apdu.asdu.ca)),
  'iec60870_asdu.ioa': num((r, o) => {
    const a = r.apdu?.asdu;
    if (a) for (const x of a.objects) o.push(x.ioa);
  }),
};

/** Names of the fields a filter can use. */
export const FILTER_FIELDS: readonly string[] = Object.keys(FIELDS);

type Tok = { t: 'word' | 'op' | 'str'; v: string; col: number };

function tokenize(s: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const two = s.slice(i, i + 2);
    if (['==', '!=', '<=', '>=', '&&', '||'].includes(two)) {
      out.push({ t: 'op', v: two, col: i + 1 });
      i += 2;
      continue;
    }
    if ('<>!(){},'.includes(c)) {
      out.push({ t: 'op', v: c, col: i + 1 });
      i++;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      while (j < s.length && s[j] !== '"') j++;
      if (j >= s.length) throw new FilterSyntaxError('unterminated string', i + 1);
      out.push({ t: 'str', v: s.slice(i + 1, j), col: i + 1 });
      i = j + 1;
      continue;
    }
    const m = /^[A-Za-z0-9_.:/-]+/.exec(s.slice(i));
    if (!m) throw new FilterSyntaxError(`unexpected character '${c}'`, i + 1);
    out.push({ t: 'word', v: m[0], col: i + 1 });
    i += m[0].length;
  }
  return out;
}

const WORD_OPS: Record<string, string> = { eq: '==', ne: '!=', lt: '<', le: '<=', gt: '>', ge: '>=', and: '&&', or: '||', not: '!' };
const CMP = new Set(['==', '!=', '<', '<=', '>', '>=']);

interface Operand {
  /** Numeric value, or IP octets with a prefix length. */
  n?: number;
  ip?: Uint8Array;
  prefix?: number;
}

function cmpIp(v: Uint8Array, x: Operand): number {
  // returns <0, 0, >0 comparing v with x under x's prefix; NaN when families differ
  const ip = x.ip!;
  if (v.length !== ip.length) return NaN;
  const bits = x.prefix ?? ip.length * 8;
  for (let i = 0; i < ip.length; i++) {
    const left = bits - i * 8;
    if (left <= 0) return 0;
    const mask = left >= 8 ? 0xff : (0xff << (8 - left)) & 0xff;
    const a = v[i] & mask;
    const b = ip[i] & mask;
    if (a !== b) return a - b;
  }
  return 0;
}

class Parser {
  private i = 0;
  constructor(
    private readonly toks: Tok[],
    private readonly len: number,
  ) {}

  private peek(): Tok | undefined {
    return this.toks[this.i];
  }
  private opOf(t: Tok | undefined): string | undefined {
    if (!t) return undefined;
    if (t.t === 'op') return t.v;
    if (t.t === 'word') return WORD_OPS[t.v.toLowerCase()];
    return undefined;
  }
  private col(): number {
    return this.peek()?.col ?? this.len + 1;
  }

  parse(): RecordFilter {
    if (this.toks.length === 0) throw new FilterSyntaxError('empty filter', 1);
    const f = this.or();
    if (this.i < this.toks.length) throw new FilterSyntaxError(`unexpected '${this.peek()!.v}'`, this.col());
    return f;
  }

  private or(): RecordFilter {
    let l = this.and();
    while (this.opOf(this.peek()) === '||') {
      this.i++;
      const a = l;
      const b = this.and();
      l = (r) => a(r) || b(r);
    }
    return l;
  }

  private and(): RecordFilter {
    let l = this.unary();
    while (this.opOf(this.peek()) === '&&') {
      this.i++;
      const a = l;
      const b = this.unary();
      l = (r) => a(r) && b(r);
    }
    return l;
  }

  private unary(): RecordFilter {
    if (this.opOf(this.peek()) === '!') {
      this.i++;
      const a = this.unary();
      return (r) => !a(r);
    }
    return this.primary();
  }

  private primary(): RecordFilter {
    const t = this.peek();
    if (!t) throw new FilterSyntaxError('expression expected', this.col());
    if (t.t === 'op' && t.v === '(') {
      this.i++;
      const e = this.or();
      if (this.peek()?.v !== ')' || this.peek()?.t !== 'op') throw new FilterSyntaxError("')' expected", this.col());
      this.i++;
      return e;
    }
    if (t.t !== 'word' || WORD_OPS[t.v.toLowerCase()] !== undefined) throw new FilterSyntaxError(`field name expected, found '${t.v}'`, t.col);
    const def = FIELDS[t.v];
    if (!def) throw new FilterSyntaxError(`unknown field '${t.v}'`, t.col);
    this.i++;
    const buf: Val[] = [];
    const values = (r: ApduRecord): Val[] => {
      buf.length = 0;
      def.get(r, buf);
      return buf;
    };
    const next = this.peek();
    const op = this.opOf(next);
    if (op !== undefined && CMP.has(op)) {
      this.i++;
      const x = this.operand(def);
      return this.comparison(op, x, values, def.kind);
    }
    if (next?.t === 'word' && next.v.toLowerCase() === 'in') {
      this.i++;
      if (this.peek()?.v !== '{') throw new FilterSyntaxError("'{' expected after 'in'", this.col());
      this.i++;
      const set: Operand[] = [];
      while (this.peek() && this.peek()!.v !== '}') {
        if (this.peek()!.v === ',') {
          this.i++;
          continue;
        }
        set.push(this.operand(def));
      }
      if (!this.peek()) throw new FilterSyntaxError("'}' expected", this.col());
      this.i++;
      if (set.length === 0) throw new FilterSyntaxError('empty set', next.col);
      const eqs = set.map((x) => this.comparison('==', x, values, def.kind));
      return (r) => eqs.some((e) => e(r));
    }
    return (r) => values(r).length > 0;
  }

  private operand(def: FieldDef): Operand {
    const t = this.peek();
    if (!t || t.t === 'op') throw new FilterSyntaxError('value expected', this.col());
    this.i++;
    const v = t.v;
    if (def.kind === 'ip') {
      const [addr, pfx, extra] = v.split('/');
      const ip = extra === undefined ? parseIp(addr) : undefined;
      if (!ip) throw new FilterSyntaxError(`'${v}' is not an IP address`, t.col);
      let prefix: number | undefined;
      if (pfx !== undefined) {
        prefix = Number(pfx);
        if (!/^\d+$/.test(pfx) || prefix > ip.length * 8) throw new FilterSyntaxError(`bad prefix length '/${pfx}'`, t.col);
      }
      return { ip, prefix };
    }
    if (def.kind === 'bool') {
      const l = v.toLowerCase();
      if (l === 'true' || l === '1') return { n: 1 };
      if (l === 'false' || l === '0') return { n: 0 };
      throw new FilterSyntaxError(`'${v}' is not a boolean (true, false, 1, 0)`, t.col);
    }
    if (/^(0x[0-9a-fA-F]+|\d+)$/.test(v)) return { n: Number(v) };
    const named = def.names?.[v] ?? def.names?.[v.toUpperCase()] ?? def.names?.[v.toLowerCase()];
    if (named !== undefined) return { n: named };
    throw new FilterSyntaxError(`'${v}' is not a valid value for this field`, t.col);
  }

  private comparison(op: string, x: Operand, values: (r: ApduRecord) => Val[], kind: Kind): RecordFilter {
    const c = (v: Val): number => (kind === 'ip' ? cmpIp(v as Uint8Array, x) : (v as number) - x.n!);
    switch (op) {
      case '==':
        return (r) => values(r).some((v) => c(v) === 0);
      case '!=':
        return (r) => {
          const vs = values(r);
          return vs.length > 0 && vs.every((v) => c(v) !== 0);
        };
      case '<':
        return (r) => values(r).some((v) => c(v) < 0);
      case '<=':
        return (r) => values(r).some((v) => c(v) <= 0);
      case '>':
        return (r) => values(r).some((v) => c(v) > 0);
      default:
        return (r) => values(r).some((v) => c(v) >= 0);
    }
  }
}

/**
 * Compile a filter expression. Throws {@link FilterSyntaxError} (with the 1-based column) when it
 * does not parse or names an unknown field.
 */
export function compileFilter(expr: string): RecordFilter {
  return new Parser(tokenize(expr), expr.length).parse();
}
