/**
 * The fleet publisher: what a sensor (`analyze`, `proxy`, `serve`, `connect` with `--publish`)
 * uses to send its envelopes to one or more brokers, at least once and in order.
 *
 * Every envelope is appended to the {@link DiskBuffer} first (that assigns `seq`), then each
 * destination's delivery loop reads the buffer in order and sends a window of envelopes, waits for
 * the broker's acknowledgements and advances its position; the buffer deletes what every
 * destination has. While a broker is down its loop reconnects with a back-off (the injectable
 * clock's timers) and the buffer grows up to its maximum; then the OLDEST envelopes are dropped,
 * counted in the health message and reported once per drop as a `fleet.buffer-drop` alert. After a
 * reconnect the loop resends from its first unacknowledged envelope: a message may arrive twice,
 * always with the same `id` (JetStream drops the copy by its `Nats-Msg-Id`; a collector stores it
 * once).
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * import { FleetPublisher, parseBrokerUrl } from 'iec104';
 * const pub = FleetPublisher.open({
 *   site: 'north', sensor: 'tap1', bufferDir: mkdtempSync(join(tmpdir(), 'fleet-')), healthIntervalMs: 0,
 *   urls: [parseBrokerUrl('nats://127.0.0.1:1', '--publish')], // no broker listens there
 * });
 * assert.equal(pub.publish('alert', { rule: 'policy.command', severity: 'high' }), 1);
 * const health = await pub.close(); // the alert and the last health message wait on disk
 * assert.equal(health.destinations[0].pending, 2);
 * ```
 *
 * @packageDocumentation
 */
import { type Clock, systemClock, type TimerHandle } from '../clock.js';
import type { BrokerUrl } from './broker-url.js';
import { DiskBuffer } from './disk-buffer.js';
import { checkFleetName, type FleetKind, makeEnvelope } from './envelope.js';
import { type FleetTransport, openTransport, type TransportOptions } from './transports.js';

/** Default `--buffer-size`: 256 MiB. */
export const DEFAULT_BUFFER_BYTES = 256 * 1024 * 1024;

/** Default period of the health message, ms. */
export const DEFAULT_HEALTH_INTERVAL_MS = 10_000;

/** Options of {@link FleetPublisher.open}. */
export interface FleetPublisherOptions {
  site: string;
  sensor: string;
  /** Brokers (parsed with `parseBrokerUrl`). */
  urls: readonly BrokerUrl[];
  /** Directory of the disk buffer (one per sensor). */
  bufferDir: string;
  /** Most octets on disk (default {@link DEFAULT_BUFFER_BYTES}). */
  bufferBytes?: number;
  /** Segment size (default bufferBytes/8; tests use small ones). */
  segmentBytes?: number;
  /** JetStream stream, MQTT client id, timeouts. */
  transport?: TransportOptions;
  /** Timers (reconnect back-off, health period; default the system clock). */
  clock?: Clock;
  /** Wall clock for the envelopes' `ts` (ms since the epoch; default Date.now). */
  wallClock?: () => number;
  /** Health message period, ms (default 10 s; 0: none but the last one at close). */
  healthIntervalMs?: number;
  /** Envelopes sent before waiting for their acknowledgements (default 256). */
  window?: number;
  /** Reconnect back-off, ms: first and longest wait (default 250 and 5000). */
  retryMs?: { min: number; max: number };
  /** Log line sink (connection changes, drops). */
  log?: (message: string) => void;
  /** Transport factory (default {@link openTransport}). */
  openTransport?: (url: BrokerUrl, o: TransportOptions) => FleetTransport;
}

/** The body of a `health` message. */
export interface FleetHealth {
  /** Envelopes made, by kind (this run). */
  published: Partial<Record<FleetKind, number>>;
  /** Envelopes dropped because the disk buffer was full (this run). */
  dropped: number;
  buffer: { bytes: number; maxBytes: number; segments: number; nextSeq: number };
  destinations: Array<{
    url: string;
    connected: boolean;
    /** Last sequence number the broker acknowledged. */
    acked: number;
    /** Envelopes waiting for this broker. */
    pending: number;
    /** Envelopes this broker acknowledged (this run). */
    delivered: number;
    /** Milliseconds since the oldest envelope still waiting was made (0 when none waits). */
    lagMs: number;
    lastError?: string;
  }>;
  /** Sensor-specific counters added by the caller (APDUs, flows, ...). */
  counters?: Record<string, number>;
}

interface Dest {
  url: BrokerUrl;
  t: FleetTransport | undefined;
  connected: boolean;
  delivered: number;
  lastError?: string;
  /** First envelope not yet acknowledged: its wall time (for the lag). */
  oldestTs?: number;
  wake?: () => void;
  timer?: TimerHandle;
  retry: number;
  loop?: Promise<void>;
}

/** See the module comment. */
export class FleetPublisher {
  private readonly buffer: DiskBuffer;
  private readonly dests: Dest[];
  private readonly clock: Clock;
  private readonly wall: () => number;
  private readonly published: Partial<Record<FleetKind, number>> = {};
  private closed = false;
  private healthTimer: TimerHandle | undefined;
  private counters: (() => Record<string, number>) | undefined;
  private tick: (() => void) | undefined;
  private readonly drainWaiters = new Set<() => void>();
  private lastSave = 0;

  private constructor(
    private readonly o: FleetPublisherOptions,
    buffer: DiskBuffer,
  ) {
    this.buffer = buffer;
    this.clock = o.clock ?? systemClock;
    this.wall = o.wallClock ?? Date.now;
    this.dests = o.urls.map((url) => ({ url, t: undefined, connected: false, delivered: 0, retry: 0 }));
  }

  /**
   * Opens the disk buffer and starts a delivery loop per broker (they connect in the background:
   * a broker that is down at start is not an error, its envelopes wait on disk). Throws
   * `FleetNameError` for a bad site or sensor name and `FleetBufferError` for an unusable buffer
   * directory.
   */
  static open(o: FleetPublisherOptions): FleetPublisher {
    checkFleetName('site', o.site);
    checkFleetName('sensor', o.sensor);
    const buffer = DiskBuffer.open({
      dir: o.bufferDir,
      sensor: o.sensor,
      maxBytes: o.bufferBytes ?? DEFAULT_BUFFER_BYTES,
      ...(o.segmentBytes ? { segmentBytes: o.segmentBytes } : {}),
      destinations: o.urls.map((u) => u.key),
    });
    const p = new FleetPublisher(o, buffer);
    for (const d of p.dests) d.loop = p.run(d);
    p.armHealth();
    return p;
  }

  /** The sequence number of the next envelope. */
  get nextSeq(): number {
    return this.buffer.nextSeq;
  }

  /** Runs `fn` at every health period, before the health message (e.g. to publish an inventory delta). */
  onHealthTick(fn: () => void): void {
    this.tick = fn;
  }

  /** Adds sensor counters to every health message. */
  setCounters(fn: () => Record<string, number>): void {
    this.counters = fn;
  }

  /**
   * Publishes one message: appended to the disk buffer now, delivered in the background. Returns
   * its sequence number. After {@link close} it does nothing and returns 0.
   */
  publish(kind: FleetKind, body: unknown): number {
    if (this.closed) return 0;
    const ts = this.wall();
    const r = this.buffer.append((seq) => makeEnvelope({ site: this.o.site, sensor: this.o.sensor, seq, kind, ts, body }));
    this.published[kind] = (this.published[kind] ?? 0) + 1;
    for (const d of this.dests) {
      d.oldestTs ??= ts;
      d.wake?.();
    }
    if (r.dropped > 0) this.reportDrop(r.dropped);
    return r.seq;
  }

  private reportDrop(n: number): void {
    const msg = `disk buffer full (${this.o.bufferBytes ?? DEFAULT_BUFFER_BYTES} octets): dropped the ${n} oldest undelivered message(s), ${this.buffer.dropped} this run`;
    this.o.log?.(`fleet.buffer-drop: ${msg}`);
    const ts = this.wall();
    const r = this.buffer.append((seq) =>
      makeEnvelope({
        site: this.o.site,
        sensor: this.o.sensor,
        seq,
        kind: 'alert',
        ts,
        body: { kind: 'alert', rule: 'fleet.buffer-drop', severity: 'medium', ts: new Date(ts).toISOString(), message: msg, evidence: { dropped: n, droppedTotal: this.buffer.dropped } },
      }),
    );
    this.published.alert = (this.published.alert ?? 0) + 1;
    if (r.dropped > 0) this.o.log?.(`fleet.buffer-drop: ${r.dropped} more dropped while reporting the drop`);
  }

  /** The health message body now. */
  health(): FleetHealth {
    const now = this.wall();
    const h: FleetHealth = {
      published: { ...this.published },
      dropped: this.buffer.dropped,
      buffer: { bytes: this.buffer.bytes, maxBytes: this.o.bufferBytes ?? DEFAULT_BUFFER_BYTES, segments: this.buffer.segmentCount, nextSeq: this.buffer.nextSeq },
      destinations: this.dests.map((d) => {
        const pending = this.buffer.pending(d.url.key);
        return {
          url: d.url.key,
          connected: d.connected,
          acked: this.buffer.ackedBy(d.url.key),
          pending,
          delivered: d.delivered,
          lagMs: pending > 0 && d.oldestTs !== undefined ? Math.max(0, now - d.oldestTs) : 0,
          ...(d.lastError ? { lastError: d.lastError } : {}),
        };
      }),
    };
    const c = this.counters?.();
    if (c) h.counters = c;
    return h;
  }

  private armHealth(): void {
    const every = this.o.healthIntervalMs ?? DEFAULT_HEALTH_INTERVAL_MS;
    if (every <= 0 || this.closed) return;
    this.healthTimer = this.clock.setTimeout(() => {
      try {
        this.tick?.();
      } catch (e) {
        this.o.log?.(`health tick failed: ${(e as Error).message}`);
      }
      this.publish('health', this.health());
      this.buffer.saveState();
      this.armHealth();
    }, every);
  }

  /** True when every broker has acknowledged everything published so far. */
  get drained(): boolean {
    return this.dests.every((d) => this.buffer.pending(d.url.key) === 0);
  }

  /**
   * Waits until every broker acknowledged everything published so far, or `ms` passed (the
   * clock's timer). Resolves to true when drained.
   */
  drain(ms: number): Promise<boolean> {
    if (this.drained) return Promise.resolve(true);
    const release = this.clock.hold?.();
    return new Promise<boolean>((resolve) => {
      const done = (): void => {
        if (this.drained) finish(true);
      };
      const finish = (v: boolean): void => {
        this.drainWaiters.delete(done);
        this.clock.clearTimeout(timer);
        release?.();
        resolve(v);
      };
      const timer = this.clock.setTimeout(() => finish(this.drained), ms);
      this.drainWaiters.add(done);
    });
  }

  /**
   * Publishes a last health message, waits up to `drainMs` (default 0) for the brokers, then stops
   * the loops and closes the buffer. What was not delivered stays on disk for the next run.
   */
  async close(o: { drainMs?: number } = {}): Promise<FleetHealth> {
    if (this.closed) return this.health();
    this.clock.clearTimeout(this.healthTimer);
    this.publish('health', this.health());
    if (o.drainMs) await this.drain(o.drainMs);
    this.closed = true;
    for (const d of this.dests) {
      this.clock.clearTimeout(d.timer);
      d.wake?.();
    }
    await Promise.all(this.dests.map((d) => d.loop));
    await Promise.all(this.dests.map((d) => d.t?.close()));
    const h = this.health();
    this.buffer.close();
    return h;
  }

  private sleep(d: Dest, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        this.clock.clearTimeout(d.timer);
        d.wake = undefined;
        resolve();
      };
      d.wake = wake;
      d.timer = this.clock.setTimeout(wake, ms);
    });
  }

  private waitForWork(d: Dest): Promise<void> {
    return new Promise<void>((resolve) => {
      d.wake = () => {
        d.wake = undefined;
        resolve();
      };
    });
  }

  private async backoff(d: Dest): Promise<void> {
    const r = this.o.retryMs ?? { min: 250, max: 5000 };
    const ms = Math.min(r.max, r.min * 2 ** Math.min(d.retry, 16));
    d.retry++;
    // a publish must not cut the back-off short: only close() does
    const release = this.clock.hold?.();
    await new Promise<void>((resolve) => {
      const wake = (): void => {
        this.clock.clearTimeout(d.timer);
        d.wake = undefined;
        resolve();
      };
      d.timer = this.clock.setTimeout(wake, ms);
      d.wake = () => {
        if (this.closed) wake();
      };
    });
    release?.();
  }

  private async run(d: Dest): Promise<void> {
    const key = d.url.key;
    const window = this.o.window ?? 256;
    while (!this.closed) {
      if (!d.connected) {
        const t = (this.o.openTransport ?? openTransport)(d.url, this.o.transport ?? {});
        try {
          await t.connect();
        } catch (e) {
          await t.close().catch(() => {});
          const msg = (e as Error).message;
          if (d.lastError !== msg) this.o.log?.(`${key}: cannot connect (${msg}); buffering on disk and retrying`);
          d.lastError = msg;
          await this.backoff(d);
          continue;
        }
        if (this.closed) {
          await t.close();
          break;
        }
        d.t = t;
        d.connected = true;
        d.retry = 0;
        this.o.log?.(`${key}: connected${this.buffer.pending(key) ? `, delivering ${this.buffer.pending(key)} buffered message(s)` : ''}`);
        d.lastError = undefined;
        t.onDown = (reason) => {
          d.lastError = reason;
        };
      }
      const from = this.buffer.ackedBy(key) + 1;
      const batch = this.buffer.read(key, from, window);
      if (batch.length === 0) {
        d.oldestTs = undefined;
        for (const w of [...this.drainWaiters]) w();
        await this.waitForWork(d);
        continue;
      }
      const t = d.t!;
      const enc = new TextEncoder();
      const results = await Promise.allSettled(batch.map((e) => t.send(e.site, e.kind, `${this.o.sensor}:${e.seq}`, enc.encode(e.json))));
      let okUpTo = -1;
      while (okUpTo + 1 < results.length && results[okUpTo + 1].status === 'fulfilled') okUpTo++;
      if (okUpTo >= 0) {
        const last = batch[okUpTo];
        const before = this.buffer.ackedBy(key);
        this.buffer.ack(key, last.seq);
        d.delivered += Math.max(0, last.seq - Math.max(before, batch[0].seq - 1));
        const nextOne = okUpTo + 1 < batch.length ? batch[okUpTo + 1] : undefined;
        if (nextOne) d.oldestTs = (JSON.parse(nextOne.json) as { ts: number }).ts;
        else d.oldestTs = undefined;
        const now = this.wall();
        if (now - this.lastSave >= 1000) {
          this.lastSave = now;
          this.buffer.saveState();
        }
      }
      if (okUpTo + 1 < results.length) {
        const failed = results[okUpTo + 1] as PromiseRejectedResult;
        const msg = failed.reason instanceof Error ? failed.reason.message : String(failed.reason);
        this.o.log?.(`${key}: delivery failed (${d.lastError ?? msg}); ${this.buffer.pending(key)} message(s) wait on disk, reconnecting`);
        d.lastError = d.lastError ?? msg;
        d.connected = false;
        d.t = undefined;
        await t.close().catch(() => {});
        await this.backoff(d);
      }
      if (this.drained) for (const w of [...this.drainWaiters]) w();
    }
  }
}
