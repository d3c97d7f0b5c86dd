import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeEnvelope, encodeEnvelope, decodeEnvelope, natsSubject, mqttTopic, checkFleetName, FleetEnvelopeError, FleetNameError } from '../../src/fleet/envelope.js';

test('an envelope round-trips and its id is <sensor>:<seq>', () => {
  const e = makeEnvelope({ site: 'north-1', sensor: 'tap_a', seq: 7, kind: 'alert', ts: 1_700_000_000_000, body: { rule: 'cmd.unauthorized' } });
  assert.equal(e.id, 'tap_a:7');
  assert.deepEqual(decodeEnvelope(encodeEnvelope(e)), e);
  assert.equal(natsSubject('north-1', 'alert'), 'iec104.north-1.alert');
  assert.equal(mqttTopic('north-1', 'point'), 'iec104/north-1/point');
});

test('bad envelopes are refused with the field that was wrong', () => {
  const good = makeEnvelope({ site: 's', sensor: 'x', seq: 1, kind: 'record', ts: 0, body: null });
  const cases: Array<[unknown, string]> = [
    ['{', 'payload'], ['[1]', 'payload'],
    [{ ...good, v: 2 }, 'v'], [{ ...good, site: 'a.b' }, 'site'], [{ ...good, sensor: '' }, 'sensor'],
    [{ ...good, seq: 0 }, 'seq'], [{ ...good, id: 'x:2' }, 'id'], [{ ...good, kind: 'nope' }, 'kind'],
    [{ ...good, ts: 'now' }, 'ts'],
  ];
  for (const [input, field] of cases) {
    assert.throws(() => decodeEnvelope(typeof input === 'string' ? input : JSON.stringify(input)),
      (e: unknown) => e instanceof FleetEnvelopeError && e.field === field && e.code === 'E_FLEET_ENVELOPE', `field ${field}`);
  }
  const { body: _b, ...noBody } = good;
  assert.throws(() => decodeEnvelope(JSON.stringify(noBody)), (e: unknown) => e instanceof FleetEnvelopeError && e.field === 'body');
});

test('site and sensor names must be one subject token and one topic level', () => {
  assert.equal(checkFleetName('site', 'Sub_7-a'), 'Sub_7-a');
  for (const bad of ['', 'a.b', 'a/b', 'a b', '*', '>', '#', '+', 'x'.repeat(65)]) {
    assert.throws(() => checkFleetName('site', bad), FleetNameError, bad);
  }
});
