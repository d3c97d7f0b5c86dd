/**
 * Reading back what the fleet publisher sent: every message of a JetStream stream, or an MQTT
 * subscriber (persistent session, QoS 1) that collects what arrives. For the fleet tests.
 */
import { decodeEnvelope, type FleetEnvelope } from '../../src/fleet/envelope.js';

/** One message as stored in the broker. */
export interface ReadBack {
  /** NATS subject or MQTT topic. */
  subject: string;
  /** NATS: the Nats-Msg-Id header. */
  msgId?: string;
  env: FleetEnvelope;
}

/** Every message of the JetStream stream, in stream order. */
export async function readNatsStream(url: string, stream = 'IEC104'): Promise<ReadBack[]> {
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const nc = await connect({ servers: url.replace(/^nats:\/\//, ''), reconnect: false });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(stream);
    const out: ReadBack[] = [];
    for (let s = info.state.first_seq; s <= info.state.last_seq && info.state.messages > 0; s++) {
      const m = await jsm.streams.getMessage(stream, { seq: s });
      if (!m) continue;
      out.push({ subject: m.subject, msgId: m.header?.get('Nats-Msg-Id'), env: decodeEnvelope(m.data) });
    }
    return out;
  } finally {
    await nc.close();
  }
}

/** An MQTT subscriber to `iec104/#` with QoS 1 and a persistent session (survives broker restarts). */
export interface MqttCollector {
  messages: ReadBack[];
  /** Resolves when `n` messages arrived (rejects after `ms` of real time with what arrived). */
  waitFor(n: number, ms?: number): Promise<void>;
  close(): Promise<void>;
}

/** Subscribes before the test publishes. */
export async function mqttCollector(url: string, clientId = `collector-${process.pid}-${Math.random().toString(36).slice(2)}`): Promise<MqttCollector> {
  const mqtt = await import('mqtt');
  const client = await mqtt.connectAsync(url, { clientId, clean: false, reconnectPeriod: 100, protocolVersion: 4 });
  const messages: ReadBack[] = [];
  const waiters: Array<() => void> = [];
  client.on('message', (topic, payload) => {
    messages.push({ subject: topic, env: decodeEnvelope(payload) });
    for (const w of waiters) w();
  });
  await client.subscribeAsync('iec104/#', { qos: 1 });
  return {
    messages,
    waitFor: (n, ms = 15_000) =>
      new Promise<void>((resolve, reject) => {
        if (messages.length >= n) return resolve();
        const t = setTimeout(() => reject(new Error(`MQTT: ${messages.length} of ${n} messages arrived`)), ms);
        waiters.push(() => {
          if (messages.length >= n) {
            clearTimeout(t);
            resolve();
          }
        });
      }),
    close: () => client.endAsync(true),
  };
}

/** The messages without repeats (first occurrence of each id kept, in arrival order). */
export function firstOccurrences(ms: readonly ReadBack[]): ReadBack[] {
  const seen = new Set<string>();
  return ms.filter((m) => (seen.has(m.env.id) ? false : (seen.add(m.env.id), true)));
}

/** Polls `cond` until true (I/O completion, not protocol time); throws after `ms`. */
export async function until(cond: () => boolean | Promise<boolean>, ms = 15_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
