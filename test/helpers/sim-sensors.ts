/**
 * Simulated fleet sensors for the collector tests and the fleet benchmark: each publishes its
 * envelopes (test/helpers/fleet-envelopes.ts) in order, at-least-once — a publish that gets no
 * acknowledgement (broker down, timeout) is sent again until it does, the way the real publisher
 * delivers from its buffer — so a broker restart can duplicate but never lose.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import mqtt from 'mqtt';
import { encodeEnvelope, mqttTopic, natsSubject, type FleetEnvelope } from '../../src/fleet/envelope.js';

/** Ensures the IEC104 stream (subjects `iec104.>`) exists. */
export async function ensureStream(nc: NatsConnection, name = 'IEC104'): Promise<void> {
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.streams.info(name);
  } catch {
    await jsm.streams.add({ name, subjects: ['iec104.>'] });
  }
}

/** Connects to NATS with endless reconnects. */
export function natsConnect(url: string): Promise<NatsConnection> {
  return connect({ servers: url, maxReconnectAttempts: -1, reconnectTimeWait: 200, waitOnFirstConnect: true });
}

/**
 * Publishes `envs` to JetStream in order, each acknowledged by the stream before the next
 * (`window` > 1 keeps that many in flight); retries what fails. `stamp` sets `ts` to now when sent.
 */
export async function publishNats(nc: NatsConnection, envs: readonly FleetEnvelope[], o: { window?: number; stamp?: boolean } = {}): Promise<{ retries: number }> {
  const js = jetstream(nc, { timeout: 2000 });
  let retries = 0;
  const one = async (e: FleetEnvelope): Promise<void> => {
    for (;;) {
      try {
        const m = o.stamp ? { ...e, ts: Date.now() } : e;
        await js.publish(natsSubject(e.site, e.kind), encodeEnvelope(m));
        return;
      } catch {
        retries++;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const window = o.window ?? 1;
  for (let i = 0; i < envs.length; i += window) await Promise.all(envs.slice(i, i + window).map(one));
  return { retries };
}

/** Publishes `envs` with MQTT QoS 1 from a persistent session `clientId`. */
export async function publishMqtt(url: string, clientId: string, envs: readonly FleetEnvelope[]): Promise<void> {
  const c = await mqtt.connectAsync(url, { clientId, clean: false, protocolVersion: 4, reconnectPeriod: 200 });
  try {
    for (const e of envs) await c.publishAsync(mqttTopic(e.site, e.kind), Buffer.from(encodeEnvelope(e)), { qos: 1 });
  } finally {
    await c.endAsync();
  }
}
