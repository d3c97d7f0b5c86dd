/**
 * Deterministic fleet traffic for the collector tests: envelopes of every kind from several
 * sensors at two sites, in the shapes the CLI writes with `--json` (alert, alert-aggregate,
 * command record, point value, inventory, health, APDU record).
 */
import { makeEnvelope, type FleetEnvelope, type FleetKind } from '../../src/fleet/envelope.js';

const T0 = Date.UTC(2026, 0, 1);

/** The body of message `seq` of a sensor: a fixed rotation of kinds. */
export function bodyFor(site: string, sensorIndex: number, seq: number): { kind: FleetKind; body: unknown } {
  const station = `10.${site === 'north' ? 1 : 2}.0.${sensorIndex + 1}:2404`;
  const master = `10.9.0.${sensorIndex + 1}:50000`;
  const flow = `${master}-${station}`;
  switch (seq % 10) {
    case 1:
      return { kind: 'alert', body: { kind: 'alert', rule: 'cmd.toggle', severity: seq % 20 === 1 ? 'high' : 'medium', message: 'toggle', frame: seq, ts: new Date(T0 + seq * 1000).toISOString(), src: master, dst: station, evidence: { flow } } };
    case 2:
      return { kind: 'command', body: { kind: 'command', frame: seq, ts: new Date(T0 + seq * 1000).toISOString(), flow, source: master, station, ca: 1, ioa: 100 + (seq % 3), typeId: 45, typeName: 'C_SC_NA_1', cot: 6, value: seq % 4 === 2, select: false, qualifier: {}, outcome: seq % 6 === 2 ? 'negative' : 'confirmed', conLatencyMs: 12.5, termLatencyMs: 30 } };
    case 3:
    case 4:
      return { kind: 'point', body: { station, ca: 1, ioa: 200 + (seq % 4), typeId: 13, type: 'M_ME_NC_1', value: seq / 10, quality: { iv: false }, ts: T0 + seq * 1000 } };
    case 5:
      return {
        kind: 'inventory',
        body: {
          kind: 'inventory', frames: seq, start: null, end: null, unresolvedFlows: 0,
          masters: [{ host: master.split(':')[0], endpoints: [master], stations: [station], commands: 1, firstSeen: new Date(T0).toISOString(), lastSeen: new Date(T0 + seq * 1000).toISOString() }],
          stations: [{ address: station, commonAddresses: [1, 2], ioas: [{ ca: 1, ioa: 200, types: ['M_ME_NC_1'], count: seq, firstSeen: new Date(T0).toISOString(), lastSeen: new Date(T0 + seq * 1000).toISOString() }], firstSeen: new Date(T0).toISOString(), lastSeen: new Date(T0 + seq * 1000).toISOString() }],
        },
      };
    case 6:
      return { kind: 'health', body: { dropped: seq % 7, bufferDepth: seq % 5, published: seq } };
    case 7:
      return { kind: 'alert', body: { kind: 'alert-aggregate', rule: 'cmd.toggle', severity: 'medium', flow, src: master, dst: station, count: 3, firstSeen: new Date(T0 + seq * 1000).toISOString(), lastSeen: new Date(T0 + seq * 1000 + 500).toISOString(), firstFrame: 1, lastFrame: 3, windowMs: 60000, message: 'toggle', evidence: { flow } } };
    default:
      return { kind: 'record', body: { ts: new Date(T0 + seq * 1000).toISOString(), src: master, dst: station, type: 'I', typeName: 'M_ME_NC_1', seq } };
  }
}

/** Sensor name of index `i` at a site. */
export const sensorName = (site: string, i: number): string => `${site}-s${i}`;

/** Envelopes 1..count of sensor `i` at `site`. */
export function sensorEnvelopes(site: string, i: number, count: number, from = 1): FleetEnvelope[] {
  const out: FleetEnvelope[] = [];
  for (let seq = from; seq < from + count; seq++) {
    const { kind, body } = bodyFor(site, i, seq);
    out.push(makeEnvelope({ site, sensor: sensorName(site, i), seq, kind, ts: T0 + seq * 1000, body }));
  }
  return out;
}
