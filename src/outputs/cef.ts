/**
 * ArcSight Common Event Format (CEF) lines:
 * `CEF:0|Vendor|Product|Version|SignatureID|Name|Severity|Extension`.
 * Header fields escape `\` and `|`; extension values escape `\`, `=` and line breaks (`\n`, `\r`),
 * as the CEF specification says. Alerts carry the rule as the signature id; APDU records the
 * APDU kind (`apdu.I`, `apdu.U`, ...).
 */
import type { ApduRecord } from '../capture/analyze.js';
import type { Alert } from '../monitor/types.js';
import { alertFields, CEF_SEVERITY, recordFields } from './fields.js';

/** Escape a CEF header field. */
export function cefHeader(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');
}

/** Escape a CEF extension value. */
export function cefValue(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/=/g, '\\=').replace(/\r/g, '\\r').replace(/\n/g, '\\n');
}

function ext(pairs: Array<[string, string | number | undefined]>): string {
  return pairs
    .filter((p): p is [string, string | number] => p[1] !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? String(v) : cefValue(v)}`)
    .join(' ');
}

/** Options of CEF lines. */
export interface CefOptions {
  version?: string;
  iface?: string;
}

/** The CEF line of an alert. */
export function cefAlert(a: Alert, o: CefOptions = {}): string {
  const f = alertFields(a);
  const head = ['CEF:0', 'iec104', 'iec104', o.version ?? '0', f.rule, f.message, String(CEF_SEVERITY[f.severity])].map((x, i) => (i === 0 ? x : cefHeader(x))).join('|');
  return `${head}|${ext([
    ['rt', Math.round(a.ts)],
    ['src', f.src.ip],
    ['spt', f.src.port],
    ['dst', f.dst.ip],
    ['dpt', f.dst.port],
    ['proto', 'TCP'],
    ['app', 'iec104'],
    ['deviceInboundInterface', o.iface],
    ['cat', f.rule.split('.')[0]],
    ['cs1Label', 'flow'],
    ['cs1', f.flow === undefined ? undefined : String(f.flow)],
    ['cs2Label', f.mitre ? 'mitre' : undefined],
    ['cs2', f.mitre],
    ['cs3Label', 'evidence'],
    ['cs3', f.evidenceJson],
    ['cn1Label', 'frame'],
    ['cn1', f.frame],
    ['msg', f.message],
  ])}`;
}

/** The CEF line of an APDU record (severity 0, or 3 for an undecodable APDU). */
export function cefRecord(r: ApduRecord, o: CefOptions = {}): string {
  const f = recordFields(r);
  const sig = `apdu.${f.apduType}`;
  const name = f.typeName ? `${f.typeName} ${f.cotName}` : f.uFunction ? f.uFunction : f.error ? `undecodable APDU ${f.error}` : `${f.apduType} frame`;
  const head = ['CEF:0', 'iec104', 'iec104', o.version ?? '0', sig, name, f.error ? '3' : '0'].map((x, i) => (i === 0 ? x : cefHeader(x))).join('|');
  return `${head}|${ext([
    ['rt', Math.round(r.tsMs)],
    ['src', f.src.ip],
    ['spt', f.src.port],
    ['dst', f.dst.ip],
    ['dpt', f.dst.port],
    ['proto', 'TCP'],
    ['app', 'iec104'],
    ['deviceInboundInterface', o.iface],
    ['cs1Label', 'flow'],
    ['cs1', String(f.flow)],
    ['cn1Label', 'frame'],
    ['cn1', f.frame],
    ['cn2Label', f.typeId === undefined ? undefined : 'typeId'],
    ['cn2', f.typeId],
    ['cn3Label', f.ca === undefined ? undefined : 'ca'],
    ['cn3', f.ca],
    ['cs2Label', f.cotName === undefined ? undefined : 'cot'],
    ['cs2', f.cotName],
    ['cs4Label', f.error === undefined ? undefined : 'error'],
    ['cs4', f.error],
  ])}`;
}
