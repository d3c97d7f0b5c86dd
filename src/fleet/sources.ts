/**
 * Broker sources of the collector: a NATS JetStream durable pull consumer and an MQTT persistent
 * session. Each hands every message to `deliver(payload, ack)`; `ack` is called by the collector
 * after the commit. The broker clients are loaded lazily (dynamic import). A source that cannot
 * connect keeps retrying in the background (logged), so a collector started before its broker
 * begins when the broker does.
 */

/** A running source. */
export interface FleetSource {
  readonly url: string;
  connected(): boolean;
  /** Stop handing over new messages (before the final commit). */
  pause(): void;
  close(): Promise<void>;
}

type Deliver = (payload: Uint8Array, ack: () => void) => void;
type Log = (event: Record<string, unknown>) => void;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** NATS JetStream: ensures the stream and the durable consumer, then consumes with explicit acks. */
export async function startNatsSource(url: string, o: { durable: string; stream: string; deliver: Deliver; log: Log }): Promise<FleetSource> {
  const { connect } = await import('@nats-io/transport-node');
  const { jetstream, jetstreamManager, AckPolicy, DeliverPolicy } = await import('@nats-io/jetstream');
  type Conn = Awaited<ReturnType<typeof connect>>;
  let nc: Conn | undefined;
  let up = false;
  let paused = false;
  let stopped = false;
  let stopConsume: (() => void) | undefined;

  const run = async (): Promise<void> => {
    for (let attempt = 0; !stopped; attempt++) {
      try {
        nc = await connect({ servers: url, name: `iec104-collect-${o.durable}`, maxReconnectAttempts: -1, reconnectTimeWait: 500, waitOnFirstConnect: false });
        up = true;
        void (async () => {
          for await (const st of nc.status()) {
            if (st.type === 'disconnect') up = false;
            if (st.type === 'reconnect') up = true;
          }
        })().catch(() => undefined);
        const jsm = await jetstreamManager(nc);
        try {
          await jsm.streams.info(o.stream);
        } catch {
          await jsm.streams.add({ name: o.stream, subjects: ['iec104.>'] });
        }
        try {
          await jsm.consumers.info(o.stream, o.durable);
        } catch {
          await jsm.consumers.add(o.stream, { durable_name: o.durable, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, max_ack_pending: 20000, ack_wait: 30_000_000_000 });
        }
        const consumer = await jetstream(nc).consumers.get(o.stream, o.durable);
        const messages = await consumer.consume({
          max_messages: 2000,
          callback: (m) => {
            if (!paused) o.deliver(m.data, () => m.ack());
          },
        });
        stopConsume = () => void messages.stop();
        o.log({ event: 'source-up', url, stream: o.stream, durable: o.durable });
        const closed = await messages.closed();
        if (stopped) return;
        o.log({ event: 'source-down', url, error: closed instanceof Error ? closed.message : 'consumer closed' });
        await nc.close().catch(() => undefined);
      } catch (e) {
        up = false;
        if (stopped) return;
        if (attempt < 3 || attempt % 30 === 0) o.log({ event: 'source-error', url, error: (e as Error).message, attempt });
        await nc?.close().catch(() => undefined);
        await sleep(500);
      }
    }
  };
  const loop = run();
  return {
    url,
    connected: () => up,
    pause: () => {
      paused = true;
    },
    async close() {
      stopped = true;
      stopConsume?.();
      await nc?.drain().catch(() => undefined);
      await nc?.close().catch(() => undefined);
      await loop.catch(() => undefined);
    },
  };
}

/** MQTT 5: persistent session (clean=false, fixed client id, one-week expiry), QoS 1 on `iec104/+/+`, PUBACK after the commit. */
export async function startMqttSource(url: string, o: { clientId: string; deliver: Deliver; log: Log }): Promise<FleetSource> {
  const mqtt = (await import('mqtt')).default;
  let paused = false;
  const client = mqtt.connect(url, {
    clientId: o.clientId,
    clean: false,
    // MQTT 5: mqtt.js hands the PUBACK to the application (customHandleAcks) only on v5, and a v5
    // session outlives the connection only with a session expiry (one week here)
    protocolVersion: 5,
    properties: { sessionExpiryInterval: 7 * 24 * 3600 },
    reconnectPeriod: 500,
    connectTimeout: 10000,
    customHandleAcks: (_topic, message, _packet, done) => {
      if (paused) return; // no PUBACK: the broker keeps it for the next session
      o.deliver(new Uint8Array(message.buffer, message.byteOffset, message.byteLength), () => done(0));
    },
  });
  client.on('connect', () => {
    o.log({ event: 'source-up', url, clientId: o.clientId });
    client.subscribe('iec104/+/+', { qos: 1 }, (err) => {
      if (err) o.log({ event: 'source-error', url, error: err.message });
    });
  });
  let errors = 0;
  client.on('error', (e) => {
    if (errors++ < 3 || errors % 30 === 0) o.log({ event: 'source-error', url, error: e.message });
  });
  return {
    url,
    connected: () => client.connected,
    pause: () => {
      paused = true;
    },
    async close() {
      await client.endAsync(true).catch(() => undefined);
    },
  };
}
