/**
 * Broker transports of the fleet publisher: NATS JetStream (`@nats-io/transport-node` and
 * `@nats-io/jetstream`, the official clients) and MQTT 3.1.1/5 (`mqtt`, mqtt.js). The clients are
 * loaded on first connect (dynamic import), so commands without `--publish` do not load them.
 *
 * A transport does one thing: deliver a message and say when the broker has it (JetStream PubAck,
 * MQTT PUBACK of QoS 1). It does not reconnect on its own: the publisher closes a failed transport
 * and connects again, resending from the first unacknowledged envelope of its disk buffer.
 *
 * @packageDocumentation
 */
import { hostname } from 'node:os';
import type { BrokerUrl } from './broker-url.js';
import { type FleetKind, mqttTopic, natsSubject } from './envelope.js';

/** One connection to one broker. */
export interface FleetTransport {
  /** The broker URL key (`nats://host:port`, `mqtt://host:port[?protocol=5]`). */
  readonly key: string;
  /** Connects (and, for NATS, makes sure the stream exists); rejects when the broker is not reachable. */
  connect(): Promise<void>;
  /**
   * Sends one envelope; resolves when the broker acknowledged it (stored in the stream / PUBACK).
   * Rejects when the connection failed; `onDown` has then been called.
   */
  send(site: string, kind: FleetKind, id: string, payload: Uint8Array): Promise<void>;
  /** Called once when the connection is lost after connect(). */
  onDown?: (reason: string) => void;
  /** Closes the connection (pending sends reject). */
  close(): Promise<void>;
}

/** Options of the transports. */
export interface TransportOptions {
  /** JetStream stream name (default `IEC104`, subjects `iec104.>`). */
  stream?: string;
  /** MQTT client id (default `iec104-<sensor>`: a persistent name per sensor). */
  clientId?: string;
  /** Milliseconds to wait for a connection or an acknowledgement (default 5000). */
  timeoutMs?: number;
}

/** Default JetStream stream. */
export const DEFAULT_STREAM = 'IEC104';

/** The stream's de-duplication window: a resend within it is stored once (JetStream `duplicate_window`). */
export const DUPLICATE_WINDOW_MS = 10 * 60_000;

/** A transport for the URL. */
export function openTransport(url: BrokerUrl, o: TransportOptions = {}): FleetTransport {
  return url.scheme === 'nats' ? new NatsTransport(url, o) : new MqttTransport(url, o);
}

type NatsConn = Awaited<ReturnType<(typeof import('@nats-io/transport-node'))['connect']>>;
type JetStream = ReturnType<(typeof import('@nats-io/jetstream'))['jetstream']>;

/** NATS JetStream: publish with `Nats-Msg-Id` = envelope id, wait for the PubAck. */
export class NatsTransport implements FleetTransport {
  readonly key: string;
  onDown?: (reason: string) => void;
  private nc: NatsConn | undefined;
  private js: JetStream | undefined;
  private down = false;

  constructor(
    private readonly url: BrokerUrl,
    private readonly o: TransportOptions,
  ) {
    this.key = url.key;
  }

  async connect(): Promise<void> {
    const [{ connect }, { jetstream, jetstreamManager }] = await Promise.all([import('@nats-io/transport-node'), import('@nats-io/jetstream')]);
    const timeout = this.o.timeoutMs ?? 5000;
    const host = this.url.host.includes(':') ? `[${this.url.host}]` : this.url.host;
    const nc = await connect({ servers: `${host}:${this.url.port}`, reconnect: false, timeout, name: `iec104 sensor on ${hostname()}` });
    this.nc = nc;
    this.down = false;
    void nc.closed().then((err) => this.lost(err ? err.message : 'connection closed'));
    try {
      const jsm = await jetstreamManager(nc, { timeout });
      const name = this.o.stream ?? DEFAULT_STREAM;
      try {
        await jsm.streams.info(name);
      } catch (e) {
        if (!/not found/i.test((e as Error).message)) throw e;
        await jsm.streams.add({ name, subjects: ['iec104.>'], duplicate_window: DUPLICATE_WINDOW_MS * 1e6 });
      }
      this.js = jetstream(nc, { timeout });
    } catch (e) {
      await nc.close().catch(() => {});
      throw e;
    }
  }

  private lost(reason: string): void {
    if (this.down) return;
    this.down = true;
    this.onDown?.(reason);
  }

  async send(site: string, kind: FleetKind, id: string, payload: Uint8Array): Promise<void> {
    if (!this.js || this.down) throw new Error('not connected');
    await this.js.publish(natsSubject(site, kind), payload, { msgID: id, timeout: this.o.timeoutMs ?? 5000 });
  }

  async close(): Promise<void> {
    this.down = true;
    const nc = this.nc;
    this.nc = undefined;
    this.js = undefined;
    await nc?.close().catch(() => {});
  }
}

type MqttClient = Awaited<ReturnType<(typeof import('mqtt'))['connectAsync']>>;

/** MQTT 3.1.1 or 5: publish with QoS 1 to `iec104/<site>/<kind>`, resolve on PUBACK. */
export class MqttTransport implements FleetTransport {
  readonly key: string;
  onDown?: (reason: string) => void;
  private client: MqttClient | undefined;
  private down = false;
  private readonly pending = new Set<(e: Error) => void>();

  constructor(
    private readonly url: BrokerUrl,
    private readonly o: TransportOptions,
  ) {
    this.key = url.key;
  }

  async connect(): Promise<void> {
    const mqtt = await import('mqtt');
    const host = this.url.host.includes(':') ? `[${this.url.host}]` : this.url.host;
    const client = await mqtt.connectAsync(
      `mqtt://${host}:${this.url.port}`,
      {
        protocolVersion: this.url.mqttVersion ?? 4,
        clientId: this.o.clientId ?? `iec104-${hostname()}-${process.pid}`,
        clean: true,
        // the publisher reconnects and resends from its disk buffer: no in-memory queue here
        reconnectPeriod: 0,
        connectTimeout: this.o.timeoutMs ?? 5000,
        queueQoSZero: false,
      },
      false,
    );
    this.client = client;
    this.down = false;
    const lost = (reason: string): void => {
      if (this.down) return;
      this.down = true;
      const err = new Error(`MQTT connection lost: ${reason}`);
      for (const r of this.pending) r(err);
      this.pending.clear();
      this.onDown?.(reason);
    };
    client.on('close', () => lost('connection closed'));
    client.on('error', (e) => lost(e.message));
    client.on('offline', () => lost('offline'));
  }

  send(site: string, kind: FleetKind, _id: string, payload: Uint8Array): Promise<void> {
    const c = this.client;
    if (!c || this.down) return Promise.reject(new Error('not connected'));
    return new Promise<void>((resolve, reject) => {
      this.pending.add(reject);
      c.publish(mqttTopic(site, kind), Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), { qos: 1 }, (err) => {
        this.pending.delete(reject);
        if (err) reject(err);
        else resolve();
      });
    });
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (!this.down) {
      this.down = true;
      const err = new Error('closed');
      for (const r of this.pending) r(err);
      this.pending.clear();
    }
    if (c) await c.endAsync(true).catch(() => {});
  }
}
