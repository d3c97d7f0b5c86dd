/**
 * The monitor on real public captures (test/fixtures/captures), read with src/capture.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CAPTURES_DIR } from '../helpers/captures.js';
import { analyzeBytes } from '../../src/capture/analyze.js';
import { monitorTraffic, type ObservedApdu } from '../../src/monitor/index.js';

const DIR = CAPTURES_DIR;

/** Capture record -> ObservedApdu (the adapter the CLI uses). */
function observe(file: string): ObservedApdu[] {
  const res = analyzeBytes(readFileSync(`${DIR}/${file}`));
  return res.records.map((r) => {
    const frac = /\.\d{3}(\d+)Z$/.exec(r.ts)?.[1];
    const o: ObservedApdu = {
      frame: r.frame, ts: Date.parse(r.ts) + (frac ? Number(`0.${frac}`) : 0),
      src: r.src, dst: r.dst, flow: String(r.flow), raw: r.raw ?? new Uint8Array(0),
    };
    if (r.direction) o.direction = r.direction;
    if (r.apdu) o.apdu = r.apdu;
    if (r.error) o.error = { code: r.error.code, offset: r.error.offset, field: r.error.field, message: r.error.message };
    return o;
  });
}


test('fkie sample: inventory, commands answered, no high-severity alert', () => {
  const r = monitorTraffic(observe('fkie_epf_iec104.pcap'));
  assert.deepEqual(r.inventory.masters.map((m) => m.host), ['10.20.102.1']);
  assert.deepEqual(r.inventory.stations.map((s) => [s.address, s.commonAddresses]), [['10.20.100.108:2404', [10]]]);
  const process = r.commands.filter((c) => c.typeId >= 45 && c.typeId <= 51);
  assert.equal(process.length, 14);
  assert.ok(process.every((c) => c.outcome === 'positive'), JSON.stringify(process.map((c) => c.outcome)));
  assert.deepEqual(r.alerts.filter((a) => a.severity === 'high' || a.severity === 'critical'), []);
});

test('nDPI sample starts mid-session: no alert, two common addresses', () => {
  const r = monitorTraffic(observe('nDPI_IEC104.pcap'));
  assert.deepEqual(r.alerts, []);
  const cas = r.inventory.stations.flatMap((s) => s.commonAddresses).sort((a, b) => a - b);
  assert.deepEqual(cas, [10516, 10772]);
});

test('ITI sample: time-tagged commands tracked to positive outcomes; year > 99 reported as a time field problem', () => {
  const r = monitorTraffic(observe('ITI_090813_diverse.pcap'));
  assert.ok(r.commands.filter((c) => c.typeId >= 58 && c.typeId <= 63).length >= 8);
  assert.ok(r.commands.every((c) => c.outcome === 'positive'));
  assert.deepEqual(Object.keys(r.alertCounts), ['valid.time-field']);
});
