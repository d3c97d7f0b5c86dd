/**
 * Suricata EVE JSON: one object a line. Alerts are `event_type: "alert"` events that use only the
 * fields of Suricata's published EVE schema (etc/schema.json), so a pipeline built for Suricata
 * (Filebeat's suricata module, Logstash, Splunk TA) takes them as they are: the rule id is the
 * signature (with a stable numeric signature_id), the severity Suricata's 1 (highest) … 4, the
 * MITRE technique a metadata tag.
 *
 * APDU records are `event_type: "iec104"` events with an `iec104` object: Suricata has no IEC 104
 * logger, and its app-layer loggers each add one object named after the protocol (`dnp3`,
 * `modbus`); this is the same shape, an extension the published schema does not list.
 */
import type { ApduRecord } from '../capture/analyze.js';
import type { Alert } from '../monitor/types.js';
import { alertFields, EVE_SEVERITY, recordFields, ruleNumber } from './fields.js';

/** Suricata's timestamp form: `2026-12-03T17:05:00.123456+0000`. */
export function eveTimestamp(iso: string): string {
  const z = iso.endsWith('Z') ? iso.slice(0, -1) : iso;
  const dot = z.indexOf('.');
  const frac = dot < 0 ? '000000' : z.slice(dot + 1).padEnd(6, '0').slice(0, 6);
  return `${dot < 0 ? z : z.slice(0, dot)}.${frac}+0000`;
}

/**
 * Options shared by EVE events. (The capture interface is not written: `in_iface` is not among
 * the published schema's properties.)
 */
export interface EveOptions {
  iface?: string;
}

/** The EVE alert event of an alert. */
export function eveAlert(a: Alert, _o: EveOptions = {}): Record<string, unknown> {
  const f = alertFields(a);
  const e: Record<string, unknown> = { timestamp: eveTimestamp(f.iso) };
  if (f.flow !== undefined) e.flow_id = f.flow + 1;
  e.event_type = 'alert';
  e.src_ip = f.src.ip;
  e.src_port = f.src.port;
  e.dest_ip = f.dst.ip;
  e.dest_port = f.dst.port;
  e.proto = 'TCP';
  e.app_proto = 'iec104';
  if (f.frame > 0) e.pcap_cnt = f.frame;
  const tags = [f.rule];
  if (f.mitre) for (const t of f.techniques ?? [f.mitre]) tags.push(`mitre:${t}`);
  e.alert = {
    action: 'allowed',
    gid: 1,
    signature_id: ruleNumber(f.rule),
    rev: 1,
    signature: `IEC104 ${f.rule}: ${f.message}`,
    category: `iec104.${f.rule.split('.')[0]}`,
    severity: EVE_SEVERITY[f.severity],
    metadata: { tag: tags, signature_severity: [f.severity] },
  };
  return e;
}

/** The EVE event of one APDU record (`event_type: "iec104"`). */
export function eveRecord(r: ApduRecord, _o: EveOptions = {}): Record<string, unknown> {
  const f = recordFields(r);
  const e: Record<string, unknown> = { timestamp: eveTimestamp(f.iso), flow_id: f.flow + 1 };
  e.event_type = 'iec104';
  e.src_ip = f.src.ip;
  e.src_port = f.src.port;
  e.dest_ip = f.dst.ip;
  e.dest_port = f.dst.port;
  e.proto = 'TCP';
  e.app_proto = 'iec104';
  e.pcap_cnt = f.frame;
  const d: Record<string, unknown> = { direction: f.direction ?? null, apdu_type: f.apduType };
  if (f.uFunction !== undefined) d.u_function = f.uFunction;
  if (f.sendSeq !== undefined) d.tx = f.sendSeq;
  if (f.recvSeq !== undefined) d.rx = f.recvSeq;
  if (f.typeId !== undefined) {
    d.type_id = f.typeId;
    d.type_name = f.typeName;
    d.cot = f.cot;
    d.cot_name = f.cotName;
    d.negative = f.negative;
    d.test = f.test;
    d.oa = f.originator;
    d.ca = f.ca;
    d.objects = f.objects;
    d.ioas = f.ioas;
  }
  if (f.error !== undefined) {
    d.error = f.error;
    d.error_message = f.errorMessage;
  }
  e.iec104 = d;
  return e;
}
