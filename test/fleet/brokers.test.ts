/**
 * The broker helper the fleet tests use: real nats-server and mosquitto on loopback ports,
 * restartable on the same port and data directory, cleaned up after.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { BrokerMissingError, startMosquitto, startNats } from '../helpers/brokers.js';

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ host: '127.0.0.1', port });
    c.once('connect', () => (c.destroy(), resolve(true)));
    c.once('error', () => resolve(false));
  });
}

for (const [name, start] of [['nats-server', startNats], ['mosquitto', startMosquitto]] as const) {
  test(`${name}: starts on a loopback port, survives kill and restart on the same port and data dir, cleans up`, async (t) => {
    const b = await start();
    t.after(() => b.close());
    assert.match(b.url, /^(nats|mqtt):\/\/127\.0\.0\.1:\d+$/);
    assert.ok(b.running);
    assert.ok(await accepts(b.port));
    await b.stop('SIGKILL');
    assert.equal(b.running, false);
    assert.equal(await accepts(b.port), false);
    assert.ok(existsSync(b.dataDir), 'the data directory survives a stop');
    await b.start();
    assert.ok(b.running);
    assert.ok(await accepts(b.port));
    await b.close();
    assert.equal(existsSync(b.dataDir), false);
    await assert.rejects(b.start(), /after close/);
  });
}

test('a missing broker binary is a clear error that names .ci/run', () => {
  const e = new BrokerMissingError('nats-server', ['/usr/sbin']);
  assert.match(e.message, /nats-server is not installed/);
  assert.match(e.message, /\.ci\/run installs it/);
});
