/**
 * Elastic Common Schema (ECS) JSON documents, one a line, for Elasticsearch / OpenSearch ingest
 * without a mapping of our own. Only ECS fields (checked in the tests against ECS's published
 * field definitions, generated/ecs/ecs_flat.yml) and, for the protocol facts ECS has no field for,
 * one custom object `iec104` (ECS reserves no such field set; custom fields outside ECS names are
 * the documented way to extend it).
 */
import type { ApduRecord } from '../capture/analyze.js';
import type { Alert } from '../monitor/types.js';
import { alertFields, ECS_SEVERITY, recordFields } from './fields.js';

/** The ECS version the documents follow. */
export const ECS_VERSION = '9.4.0';

/** Options shared by ECS documents. */
export interface EcsOptions {
  /** Capture interface (`observer.ingress.interface.name`). */
  iface?: string;
  /** Package version (`observer.version`). */
  version?: string;
}

function observer(o: EcsOptions): Record<string, unknown> {
  const ob: Record<string, unknown> = { type: 'sensor', product: 'iec104', vendor: 'iec104' };
  if (o.version) ob.version = o.version;
  if (o.iface) ob.ingress = { interface: { name: o.iface } };
  return ob;
}

/** The ECS document of an alert (`event.kind: alert`). */
export function ecsAlert(a: Alert, o: EcsOptions = {}): Record<string, unknown> {
  const f = alertFields(a);
  const d: Record<string, unknown> = {
    '@timestamp': f.iso,
    ecs: { version: ECS_VERSION },
    message: f.message,
    event: {
      kind: 'alert',
      category: ['network', 'intrusion_detection'],
      type: ['info'],
      module: 'iec104',
      dataset: 'iec104.alert',
      severity: ECS_SEVERITY[f.severity],
      action: f.rule,
    },
    rule: { id: f.rule, name: f.rule, category: f.rule.split('.')[0], ruleset: 'iec104' },
    source: { ip: f.src.ip, port: f.src.port },
    destination: { ip: f.dst.ip, port: f.dst.port },
    network: { transport: 'tcp', protocol: 'iec104', type: f.src.ip.includes(':') ? 'ipv6' : 'ipv4' },
    observer: observer(o),
    iec104: { alert: { severity: f.severity, frame: f.frame, flow: f.flow ?? null, evidence: JSON.parse(f.evidenceJson) as unknown } },
  };
  if (f.mitre) d.threat = { framework: 'MITRE ATT&CK', technique: { id: f.techniques ?? [f.mitre] } };
  return d;
}

/** The ECS document of one APDU record (`event.kind: event`). */
export function ecsRecord(r: ApduRecord, o: EcsOptions = {}): Record<string, unknown> {
  const f = recordFields(r);
  const apdu: Record<string, unknown> = { type: f.apduType, frame: f.frame, flow: f.flow, direction: f.direction ?? null };
  if (f.uFunction !== undefined) apdu.u_function = f.uFunction;
  if (f.sendSeq !== undefined) apdu.tx = f.sendSeq;
  if (f.recvSeq !== undefined) apdu.rx = f.recvSeq;
  if (f.typeId !== undefined) {
    apdu.type_id = f.typeId;
    apdu.type_name = f.typeName;
    apdu.cot = f.cot;
    apdu.cot_name = f.cotName;
    apdu.negative = f.negative;
    apdu.test = f.test;
    apdu.oa = f.originator;
    apdu.ca = f.ca;
    apdu.objects = f.objects;
    apdu.ioas = f.ioas;
  }
  if (f.error !== undefined) {
    apdu.error = f.error;
    apdu.error_message = f.errorMessage;
  }
  const summary = f.typeName ? `${f.apduType} ${f.typeName} ${f.cotName} ca=${f.ca}` : f.uFunction ? `U ${f.uFunction}` : f.error ? `error ${f.error}` : `${f.apduType}`;
  return {
    '@timestamp': f.iso,
    ecs: { version: ECS_VERSION },
    message: summary,
    event: { kind: 'event', category: ['network'], type: ['protocol', 'info'], module: 'iec104', dataset: 'iec104.apdu', ...(f.error ? { outcome: 'failure' } : {}) },
    source: { ip: f.src.ip, port: f.src.port },
    destination: { ip: f.dst.ip, port: f.dst.port },
    network: { transport: 'tcp', protocol: 'iec104', type: f.src.ip.includes(':') ? 'ipv6' : 'ipv4' },
    observer: observer(o),
    iec104: { apdu },
  };
}
