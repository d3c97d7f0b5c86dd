import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPublishArgs, defaultSensorName, publishArgs } from '../../src/cli/publish.js';

// Two sensors on one host (the README's two proxies, one per site) once both defaulted to
// `<host>-proxy`: their ids `<sensor>:<seq>` collided and the second site's messages were dropped
// as repeats by JetStream and the collector.
test('default sensor names differ per site and per buffer directory, and stay valid names', async () => {
  assert.equal(defaultSensorName('proxy', 'north', undefined, 'scada1'), 'scada1-proxy-north');
  assert.notEqual(defaultSensorName('proxy', 'north', undefined, 'h'), defaultSensorName('proxy', 'south', undefined, 'h'));
  const a = defaultSensorName('proxy', 'north', '/tmp/buf-a', 'h');
  const b = defaultSensorName('proxy', 'north', '/tmp/buf-b', 'h');
  assert.notEqual(a, b);
  assert.match(a, /^h-proxy-north-[0-9a-f]{6}$/);
  assert.equal(defaultSensorName('proxy', 'north', '/tmp/buf-a', 'h'), a, 'stable across restarts');
  const long = defaultSensorName('analyze', 'x'.repeat(64), '/d', 'host.example.org');
  assert.ok(long.length <= 64 && /^[A-Za-z0-9_-]+$/.test(long), long);
  const s1 = { ...publishArgs(), urls: ['nats://127.0.0.1:4222'], site: 'north', bufferDir: '/tmp/x1' };
  const s2 = { ...publishArgs(), urls: ['nats://127.0.0.1:4222'], site: 'south', bufferDir: '/tmp/x2' };
  assert.equal(await checkPublishArgs(s1, 'proxy'), undefined);
  assert.equal(await checkPublishArgs(s2, 'proxy'), undefined);
  assert.notEqual(s1.sensor, s2.sensor);
});
