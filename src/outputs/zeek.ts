/**
 * Zeek-style logs: `iec104.log` (one line per APDU) and `iec104_alerts.log` (one line per alert),
 * in Zeek's TSV form (`#separator`, `#fields`, `#types` header, `#close` footer) or Zeek's JSON
 * form (one object a line, dotted field names, `ts` as epoch seconds, unset fields left out).
 * Field names follow Zeek's conventions (`ts`, `uid`, `id.orig_h`, `id.orig_p`, `id.resp_h`,
 * `id.resp_p`; the master is the originator). Schemas with samples: docs/outputs.md.
 */
import type { ApduRecord } from '../capture/analyze.js';
import type { Alert } from '../monitor/types.js';
import { alertFields, recordFields } from './fields.js';

/** Zeek field types used here. */
export type ZeekType = 'time' | 'string' | 'addr' | 'port' | 'count' | 'bool' | 'vector[count]';

/** A value of a log line (`undefined` = unset, `-`). */
export type ZeekValue = string | number | boolean | number[] | undefined;

/** Columns of `iec104.log`. */
export const IEC104_LOG_FIELDS: ReadonlyArray<readonly [string, ZeekType]> = [
  ['ts', 'time'],
  ['uid', 'string'],
  ['id.orig_h', 'addr'],
  ['id.orig_p', 'port'],
  ['id.resp_h', 'addr'],
  ['id.resp_p', 'port'],
  ['frame', 'count'],
  ['is_orig', 'bool'],
  ['apdu_type', 'string'],
  ['u_function', 'string'],
  ['tx', 'count'],
  ['rx', 'count'],
  ['type_id', 'count'],
  ['type_name', 'string'],
  ['cot', 'count'],
  ['cot_name', 'string'],
  ['negative', 'bool'],
  ['test', 'bool'],
  ['oa', 'count'],
  ['ca', 'count'],
  ['objects', 'count'],
  ['ioas', 'vector[count]'],
  ['error', 'string'],
];

/** Columns of `iec104_alerts.log`. */
export const IEC104_ALERTS_LOG_FIELDS: ReadonlyArray<readonly [string, ZeekType]> = [
  ['ts', 'time'],
  ['uid', 'string'],
  ['id.orig_h', 'addr'],
  ['id.orig_p', 'port'],
  ['id.resp_h', 'addr'],
  ['id.resp_p', 'port'],
  ['frame', 'count'],
  ['rule', 'string'],
  ['severity', 'string'],
  ['mitre', 'string'],
  ['msg', 'string'],
  ['evidence', 'string'],
];

/** Connection id of a flow (`C` and the flow index; stable within one run). */
export function flowUid(flow: number | undefined): string | undefined {
  return flow === undefined ? undefined : `CIEC104F${flow}`;
}

/** Values of one `iec104.log` line, in {@link IEC104_LOG_FIELDS} order. */
export function iec104LogValues(r: ApduRecord): ZeekValue[] {
  const f = recordFields(r);
  return [f.tsSec, flowUid(f.flow), f.orig.ip, f.orig.port, f.resp.ip, f.resp.port, f.frame, f.isOrig, f.apduType, f.uFunction, f.sendSeq, f.recvSeq, f.typeId, f.typeName, f.cot, f.cotName, f.negative, f.test, f.originator, f.ca, f.objects, f.ioas, f.error];
}

/** Values of one `iec104_alerts.log` line. The alert's src is taken as the originator. */
export function alertLogValues(a: Alert): ZeekValue[] {
  const f = alertFields(a);
  return [f.tsSec, flowUid(f.flow), f.src.ip, f.src.port, f.dst.ip, f.dst.port, f.frame, f.rule, f.severity, f.mitre, f.message, f.evidenceJson];
}

/** Zeek's TSV escaping: backslash, tab, newline and non-printable octets as `\xHH`. */
export function zeekEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\x5c';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  if (out === '-' || out === '(empty)') out = `\\x${out.charCodeAt(0).toString(16)}${out.slice(1)}`;
  return out;
}

function tsvValue(v: ZeekValue, t: ZeekType): string {
  if (v === undefined) return '-';
  if (t === 'time') return (v as number).toFixed(6);
  if (t === 'bool') return v ? 'T' : 'F';
  if (Array.isArray(v)) return v.length === 0 ? '(empty)' : v.join(',');
  if (typeof v === 'string') return v === '' ? '(empty)' : zeekEscape(v);
  return String(v);
}

function zeekTime(ms: number): string {
  const d = new Date(ms).toISOString(); // 2026-12-03T17:05:00.000Z
  return `${d.slice(0, 10)}-${d.slice(11, 13)}-${d.slice(14, 16)}-${d.slice(17, 19)}`;
}

/** Text sink of a log. */
export interface LogSink {
  write(s: string): void;
}

/** One Zeek log (TSV or JSON). */
export class ZeekLog {
  private opened = false;
  constructor(
    private readonly sink: LogSink,
    private readonly path: string,
    private readonly fields: ReadonlyArray<readonly [string, ZeekType]>,
    private readonly json: boolean,
    private readonly now: () => number = Date.now,
  ) {}

  /** The TSV header (written before the first line, or by {@link close} for an empty log). */
  header(): string {
    return [
      '#separator \\x09',
      '#set_separator\t,',
      '#empty_field\t(empty)',
      '#unset_field\t-',
      `#path\t${this.path}`,
      `#open\t${zeekTime(this.now())}`,
      `#fields\t${this.fields.map((f) => f[0]).join('\t')}`,
      `#types\t${this.fields.map((f) => f[1]).join('\t')}`,
      '',
    ].join('\n');
  }

  /** Write one line. */
  write(values: readonly ZeekValue[]): void {
    if (!this.opened) this.open();
    if (this.json) {
      const o: Record<string, ZeekValue> = {};
      for (let i = 0; i < this.fields.length; i++) {
        const v = values[i];
        if (v !== undefined) o[this.fields[i][0]] = this.fields[i][1] === 'time' ? Number((v as number).toFixed(6)) : v;
      }
      this.sink.write(JSON.stringify(o) + '\n');
    } else this.sink.write(values.map((v, i) => tsvValue(v, this.fields[i][1])).join('\t') + '\n');
  }

  private open(): void {
    this.opened = true;
    if (!this.json) this.sink.write(this.header());
  }

  /** The `#close` footer (TSV). */
  close(): void {
    if (!this.opened) this.open();
    if (!this.json) this.sink.write(`#close\t${zeekTime(this.now())}\n`);
  }
}
