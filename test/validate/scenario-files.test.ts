/**
 * Scenarios can script file services (F_SC_NA_1, F_AF_NA_1, F_FR_NA_1, ...): a download step by
 * step against our station, and an F_* ASDU built from the spec fields.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildAsdu } from '../../src/validate/asdu-tools.js';
import { parseScenario } from '../../src/validate/scenario.js';
import { runScenario } from '../../src/validate/scenario-runner.js';
import { formatResults } from '../../src/validate/report.js';
import { createStation } from '../../src/station/station.js';

test('buildAsdu: file services from spec fields (NOF, section, action by name, segment octets), cause 13 (5 for the directory call)', () => {
  const sel = buildAsdu({ type: 'F_SC_NA_1', ca: 1, ioa: 30000, action: 'select' });
  assert.deepEqual([sel.cot, sel.objects[0]], [13, { ioa: 30000, file: 1, section: 0, action: 1, error: 0 }]);
  assert.equal(buildAsdu({ type: 'F_SC_NA_1', ca: 1 }).cot, 5);
  const seg = buildAsdu({ type: 'F_SG_NA_1', ca: 1, ioa: 7, section: 2, segment: '01 02 ff' });
  assert.deepEqual(seg.objects[0].segment, Uint8Array.from([1, 2, 255]));
  assert.deepEqual(buildAsdu({ type: 124, ca: 1, ioa: 7, section: 1, ack: 3 }).objects[0], { ioa: 7, file: 1, section: 1, ack: 3, error: 0 });
});

test('a scenario downloads a two-section file from our station step by step', async () => {
  const data = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
  const station = createStation({ endOfInitialization: 'none', files: { commonAddresses: [1], sectionSize: 200, provider: { list: () => [{ ca: 1, ioa: 30000, length: 300 }], read: () => data } } });
  const l = await station.listen({ host: '127.0.0.1', port: 0 });
  try {
    const sc = parseScenario(`name: file download
steps:
  - connect
  - startdt
  - send: { type: F_SC_NA_1, ca: 1 }
  - expect: { type: F_DR_TA_1, cot: 5, ioa: 30000 }
  - send: { type: F_SC_NA_1, ca: 1, ioa: 30000, action: select }
  - expect: { type: F_FR_NA_1, cot: 13, ioa: 30000 }
  - send: { type: F_SC_NA_1, ca: 1, ioa: 30000, action: call }
  - expect: { type: F_SR_NA_1, ioa: 30000 }
  - send: { type: F_SC_NA_1, ca: 1, ioa: 30000, action: call-section, section: 1 }
  - expect: { type: F_SG_NA_1, ioa: 30000 }
  - expect: { type: F_LS_NA_1, ioa: 30000 }
  - send: { type: F_AF_NA_1, ca: 1, ioa: 30000, section: 1, ack: 3 }
  - expect: { type: F_SR_NA_1, ioa: 30000 }
  - send: { type: F_SC_NA_1, ca: 1, ioa: 30000, action: call-section, section: 2 }
  - expect: { type: F_SG_NA_1, ioa: 30000 }
  - expect: { type: F_LS_NA_1, ioa: 30000 }
  - send: { type: F_AF_NA_1, ca: 1, ioa: 30000, section: 2, ack: 3 }
  - expect: { type: F_LS_NA_1, ioa: 30000 }
  - send: { type: F_AF_NA_1, ca: 1, ioa: 30000, section: 2, ack: 1 }
  - send: { type: F_SC_NA_1, ca: 1, ioa: 4, action: select }
  - expect: { type: F_FR_NA_1, ioa: 4 }
  - disconnect
`, 'files.yaml');
    const r = await runScenario(sc, { target: { host: '127.0.0.1', port: l.port }, t0: 2000 });
    assert.deepEqual(r.cases.filter((c) => c.status !== 'pass'), [], formatResults([r]));
  } finally {
    await station.close();
  }
});
