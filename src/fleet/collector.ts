/**
 * The fleet collector: consumes envelopes from NATS JetStream and/or MQTT and keeps the fleet
 * model in a {@link FleetStore}. Messages are acknowledged only after the database transaction
 * that stored them committed, so a collector (or database) that dies loses nothing: the broker
 * redelivers, and the store's de-duplication by envelope id stores each message once.
 *
 * - NATS: a durable pull consumer (name `durable`, default `iec104-collector`) on the stream
 *   (default `IEC104`, subjects `iec104.>`; created when missing), explicit acknowledgement; a
 *   restarted collector with the same name resumes from the stream position.
 * - MQTT: a persistent session (clean=false, fixed client id, default `iec104-collector`) with a
 *   QoS 1 subscription to `iec104/+/+`; the PUBACK leaves after the commit. mqtt.js handles one
 *   incoming message at a time while its acknowledgement is pending, so this path commits small
 *   batches (NATS is the path for volume).
 *
 * Bad envelopes are counted and logged (and acknowledged: redelivery would not mend them); they
 * never stop the collector. A failing store is retried, the batch kept unacknowledged.
 */
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { decodeEnvelope, FleetEnvelopeError, type FleetEnvelope } from './envelope.js';
import type { FleetStore } from './store.js';
import { startMqttSource, startNatsSource, type FleetSource } from './sources.js';

/** Options of {@link startCollector}. */
export interface CollectorOptions {
  /** Broker URLs: `nats://HOST:PORT` and/or `mqtt://HOST:PORT` (mqtts:// and tls:// too). */
  from: string[];
  store: FleetStore;
  /** NATS durable consumer name (default `iec104-collector`). */
  durable?: string;
  /** NATS stream (default `IEC104`). */
  stream?: string;
  /** MQTT client id of the persistent session (default `iec104-collector`). */
  clientId?: string;
  /** Most envelopes per transaction (default 1000). */
  batchSize?: number;
  /** Longest wait before a partial batch is committed, ms (default 50). */
  flushMs?: number;
  /** Keep history this long, ms (default: forever). */
  retainMs?: number;
  /** How often retention runs, ms (default 60000). */
  pruneEveryMs?: number;
  /** Structured log lines (one object per event). */
  log?: (event: Record<string, unknown>) => void;
  /** Timers (default: the system clock). */
  clock?: Clock;
  /** Wall clock, ms since the epoch, for lag and retention (default Date.now). */
  now?: () => number;
}

/** Counters of a running collector. */
export interface CollectorStats {
  received: number;
  stored: number;
  duplicates: number;
  ignored: number;
  /** Messages that were not valid envelopes. */
  bad: number;
  batches: number;
  storeErrors: number;
  pruned: number;
  /** Envelopes waiting for the next commit. */
  pending: number;
  /** End-to-end lag (sensor time → commit), ms, over the stored envelopes. */
  lag: { p50: number; p99: number; max: number; count: number };
  sources: Array<{ url: string; connected: boolean }>;
}

/** A running collector. */
export interface Collector {
  stats(): CollectorStats;
  /** Resolves when everything received so far is committed and acknowledged. */
  drain(): Promise<void>;
  /** Commits what is pending, stops the sources (the store stays open: the caller closes it). */
  close(): Promise<void>;
}

interface Pending {
  env: FleetEnvelope;
  ack: () => void;
}

/** Lag histogram: 10 ms buckets up to 120 s. */
class LagHistogram {
  private readonly buckets = new Uint32Array(12001);
  count = 0;
  max = 0;
  add(ms: number): void {
    const v = Math.max(0, ms);
    this.buckets[Math.min(this.buckets.length - 1, Math.floor(v / 10))]++;
    this.count++;
    if (v > this.max) this.max = v;
  }
  quantile(q: number): number {
    if (this.count === 0) return 0;
    let need = Math.ceil(q * this.count);
    for (let i = 0; i < this.buckets.length; i++) {
      need -= this.buckets[i];
      if (need <= 0) return (i + 1) * 10;
    }
    return this.max;
  }
}

/** Starts consuming; resolves once every source is started (connections are retried in the background). */
export async function startCollector(o: CollectorOptions): Promise<Collector> {
  if (o.from.length === 0) throw new FleetEnvelopeError('from', 'no broker URL (nats://… or mqtt://…)');
  const clock = o.clock ?? systemClock;
  const now = o.now ?? Date.now;
  const log = o.log ?? (() => undefined);
  const batchSize = o.batchSize ?? 1000;
  const flushMs = o.flushMs ?? 50;
  const s = { received: 0, stored: 0, duplicates: 0, ignored: 0, bad: 0, batches: 0, storeErrors: 0, pruned: 0 };
  const lag = new LagHistogram();
  let buffer: Pending[] = [];
  let timer: TimerHandle | undefined;
  let chain: Promise<void> = Promise.resolve();
  let closing = false;

  const commit = async (batch: Pending[]): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await o.store.ingest(batch.map((p) => p.env));
        s.stored += r.stored;
        s.duplicates += r.duplicates;
        s.ignored += r.ignored;
        s.batches++;
        break;
      } catch (e) {
        s.storeErrors++;
        log({ event: 'store-error', error: (e as Error).message, batch: batch.length, attempt });
        if (closing && attempt >= 2) return; // not acknowledged: the broker redelivers to the next collector
        await new Promise<void>((resolve) => clock.setTimeout(resolve, Math.min(5000, 200 * 2 ** attempt)));
      }
    }
    const t = now();
    for (const p of batch) {
      lag.add(t - p.env.ts);
      p.ack();
    }
  };
  const flush = (): Promise<void> => {
    clock.clearTimeout(timer);
    timer = undefined;
    if (buffer.length === 0) return chain;
    const batch = buffer;
    buffer = [];
    chain = chain.then(() => commit(batch));
    return chain;
  };
  const deliver = (payload: Uint8Array, ack: () => void, source: string, urgent: boolean): void => {
    s.received++;
    let env: FleetEnvelope;
    try {
      env = decodeEnvelope(payload);
    } catch (e) {
      s.bad++;
      if (s.bad <= 20 || s.bad % 1000 === 0) log({ event: 'bad-envelope', source, count: s.bad, error: (e as Error).message });
      ack();
      return;
    }
    buffer.push({ env, ack });
    if (buffer.length >= batchSize || urgent) void flush();
    else if (timer === undefined) timer = clock.setTimeout(() => void flush(), flushMs);
  };

  const sources: FleetSource[] = [];
  for (const url of o.from) {
    if (/^nats:|^tls:/.test(url)) sources.push(await startNatsSource(url, { durable: o.durable ?? 'iec104-collector', stream: o.stream ?? 'IEC104', deliver: (p, a) => deliver(p, a, url, false), log }));
    else if (/^mqtts?:|^wss?:/.test(url)) sources.push(await startMqttSource(url, { clientId: o.clientId ?? 'iec104-collector', deliver: (p, a) => deliver(p, a, url, true), log }));
    else throw new FleetEnvelopeError('from', `'${url}' is neither nats://HOST:PORT nor mqtt://HOST:PORT`);
  }

  let pruneTimer: TimerHandle | undefined;
  const prune = (): void => {
    if (o.retainMs === undefined || closing) return;
    const cutoff = now() - o.retainMs;
    chain = chain.then(async () => {
      try {
        const n = await o.store.prune(cutoff);
        s.pruned += n;
        if (n > 0) log({ event: 'pruned', rows: n, before: new Date(cutoff).toISOString() });
      } catch (e) {
        log({ event: 'store-error', error: (e as Error).message, during: 'prune' });
      }
    });
    pruneTimer = clock.setTimeout(prune, o.pruneEveryMs ?? 60000);
  };
  prune();

  return {
    stats: () => ({
      ...s,
      pending: buffer.length,
      lag: { p50: lag.quantile(0.5), p99: lag.quantile(0.99), max: Math.round(lag.max), count: lag.count },
      sources: sources.map((x) => ({ url: x.url, connected: x.connected() })),
    }),
    drain: () => flush(),
    async close() {
      closing = true;
      clock.clearTimeout(pruneTimer);
      for (const x of sources) x.pause();
      await flush();
      for (const x of sources) await x.close();
    },
  };
}
