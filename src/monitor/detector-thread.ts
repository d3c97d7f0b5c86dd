/**
 * A {@link Detector} on its own worker thread. The capture side (reading, TCP reassembly,
 * decoding, printing) and the monitor then run on two cores: APDU octets travel to the worker in
 * packed batches (transferred, not copied), the worker decodes them again with the same codec
 * options and observes them in the same order, and the alerts and command records come back
 * tagged with the sequence number of the APDU that raised them, so the caller can merge them into
 * its output exactly where the in-process detector would have put them.
 *
 * The worker is this same module, loaded with a marker in `workerData`.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { decodeApdu } from '../codec/apdu.js';
import { type CodecOptions, resolveOptions } from '../codec/options.js';
import type { CommandRecord, CommandStats } from './commands.js';
import { Detector, type StreamAnomalyInput } from './detector.js';
import type { InventorySummary } from './inventory.js';
import { parsePolicy } from './policy.js';
import type { Alert, FlowDirection, ObservedApdu } from './types.js';

/** Options of {@link DetectorThread}. */
export interface DetectorThreadOptions {
  /** Policy (YAML text, as for `parsePolicy`); parsed again on the worker. */
  policyText?: string;
  /** Rule ids or prefixes to silence. */
  disabled?: string[];
  /** Field widths the APDUs were decoded with. */
  codec?: Partial<CodecOptions>;
  /** Return completed command records with each batch (default false: they are dropped). */
  commands?: boolean;
  /** Batch size in octets (default 1 MiB, at least 512). */
  batchBytes?: number;
}

/** What the detector raised for one APDU (or, with `seq` -1, at the end). */
export interface SeqEvents {
  /** Sequence number of the APDU (0-based order of {@link DetectorThread.observe} calls). */
  seq: number;
  alerts: Alert[];
  commands: CommandRecord[];
}

/** The results of one batch: events in sequence order, and the last sequence number it held. */
export interface BatchResult {
  lastSeq: number;
  events: SeqEvents[];
}

/** What the detector knows at the end. */
export interface DetectorFinal {
  /** Alerts of {@link Detector.finish} and the last completed commands. */
  events: SeqEvents;
  inventory: InventorySummary;
  commandStats: CommandStats[];
  alertCounts: Record<string, number>;
}

const KIND_APDU = 1;
const KIND_CLOSE = 2;
const KIND_ANOMALY = 3;
const ANOMALY_CODES = ['E_TCP_DESYNC', 'W_TCP_OUT_OF_WINDOW'] as const;
const HEAD = 28;
const DIR_CODE = { none: 0, 'master→station': 1, 'station→master': 2 } as const;
const DIRS: Array<FlowDirection | undefined> = [undefined, 'master→station', 'station→master'];

interface WorkerInit {
  iec104DetectorThread: true;
  policyText?: string;
  disabled: string[];
  codec?: Partial<CodecOptions>;
  commands: boolean;
}

type ToWorker = { batch: ArrayBuffer; length: number; strings: string[]; lastSeq: number } | { finish: true };
type FromWorker = { result: BatchResult } | { final: DetectorFinal } | { error: string };

/**
 * Runs a {@link Detector} on a worker thread. Call {@link DetectorThread.observe} for every APDU
 * in capture order (and {@link DetectorThread.closeFlow} where the in-process detector would get
 * `closeFlow`); take batch results in order with {@link DetectorThread.next} (or poll
 * {@link DetectorThread.ready}), then {@link DetectorThread.finish}.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { DetectorThread, encodeUFrame } from 'iec104';
 * const t = new DetectorThread();
 * const seq = t.observe(1, 0, '10.0.0.1:50000', '10.0.0.2:2404', 0, 'master→station', encodeUFrame('STARTDT_ACT'));
 * assert.equal(seq, 0);
 * t.flush();
 * const r = await t.next();
 * assert.equal(r.lastSeq, 0);
 * const fin = await t.finish();
 * assert.deepEqual(fin.inventory.masters.map((m) => m.host), ['10.0.0.1']);
 * ```
 */
export class DetectorThread {
  private readonly worker: Worker;
  private readonly size: number;
  private buf: ArrayBuffer;
  private view: DataView;
  private bytes: Uint8Array;
  private pos = 0;
  private strings: string[] = [];
  private ids = new Map<string, number>();
  private seq = -1;
  private sent = 0;
  private received = 0;
  private readonly done: BatchResult[] = [];
  private waiter: ((r: BatchResult) => void) | undefined;
  private finalWaiter: ((f: DetectorFinal) => void) | undefined;
  private failure: Error | undefined;
  private rejecters = new Set<(e: Error) => void>();

  constructor(opts: DetectorThreadOptions = {}) {
    this.size = Math.max(512, opts.batchBytes ?? 1 << 20);
    this.buf = new ArrayBuffer(this.size);
    this.view = new DataView(this.buf);
    this.bytes = new Uint8Array(this.buf);
    const init: WorkerInit = { iec104DetectorThread: true, disabled: opts.disabled ?? [], commands: opts.commands ?? false };
    if (opts.policyText !== undefined) init.policyText = opts.policyText;
    if (opts.codec) init.codec = opts.codec;
    this.worker = startWorker(init);
    this.worker.on('message', (m: FromWorker) => this.onMessage(m));
    this.worker.on('error', (e) => this.fail(e instanceof Error ? e : new Error(String(e))));
    this.worker.on('exit', (code) => {
      if (this.finalWaiter || this.received < this.sent) this.fail(new Error(`detector thread exited (code ${code})`));
    });
  }

  /** Batches sent and not yet taken. */
  get inFlight(): number {
    return this.sent - this.received + this.done.length;
  }

  /** Batch results that arrived and were not taken yet (take them with {@link DetectorThread.take}). */
  get ready(): number {
    return this.done.length;
  }

  /** The oldest arrived batch result, if any. */
  take(): BatchResult | undefined {
    return this.done.shift();
  }

  /** Queue one APDU (its octets are copied); returns its sequence number. */
  observe(frame: number, ts: number, src: string, dst: string, flow: number, direction: FlowDirection | undefined, octets: Uint8Array): number {
    const len = octets.length > 255 ? 255 : octets.length;
    if (this.pos + HEAD + len > this.size) this.flush();
    const v = this.view;
    const p = this.pos;
    v.setUint8(p, KIND_APDU);
    v.setUint8(p + 1, DIR_CODE[direction ?? 'none']);
    v.setUint8(p + 2, len);
    v.setUint32(p + 4, frame, true);
    v.setUint32(p + 8, flow, true);
    v.setUint32(p + 12, this.id(src), true);
    v.setUint32(p + 16, this.id(dst), true);
    v.setFloat64(p + 20, ts, true);
    this.bytes.set(len === octets.length ? octets : octets.subarray(0, len), p + HEAD);
    this.pos = p + HEAD + len;
    return ++this.seq;
  }

  /** The TCP connection of a flow ended (forwarded to {@link Detector.closeFlow} in order). */
  closeFlow(flow: number): void {
    if (this.pos + 8 > this.size) this.flush();
    this.view.setUint8(this.pos, KIND_CLOSE);
    this.view.setUint32(this.pos + 4, flow, true);
    this.pos += 8;
  }

  /**
   * A TCP stream anomaly of the capture layer (forwarded to {@link Detector.streamAnomaly} in
   * order; its alerts come back with the sequence number of the last APDU queued before it).
   */
  streamAnomaly(a: StreamAnomalyInput): void {
    if (this.pos + 32 > this.size) this.flush();
    const v = this.view;
    const p = this.pos;
    v.setUint8(p, KIND_ANOMALY);
    v.setUint8(p + 1, ANOMALY_CODES.indexOf(a.code));
    v.setUint32(p + 4, a.frame, true);
    v.setUint32(p + 8, Number(a.flow), true);
    v.setUint32(p + 12, this.id(a.src), true);
    v.setUint32(p + 16, this.id(a.dst), true);
    v.setFloat64(p + 20, a.ts, true);
    v.setUint32(p + 28, this.id(a.message), true);
    this.pos = p + 32;
  }

  /** Send what is queued (a batch is also sent when full). */
  flush(): void {
    if (this.pos === 0) return;
    const msg: ToWorker = { batch: this.buf, length: this.pos, strings: this.strings, lastSeq: this.seq };
    this.worker.postMessage(msg, [this.buf]);
    this.sent++;
    this.buf = new ArrayBuffer(this.size);
    this.view = new DataView(this.buf);
    this.bytes = new Uint8Array(this.buf);
    this.pos = 0;
    this.strings = [];
    this.ids = new Map();
  }

  /** The results of the oldest batch not taken yet (waits for the worker). */
  next(): Promise<BatchResult> {
    const r = this.done.shift();
    if (r) return Promise.resolve(r);
    if (this.failure) return Promise.reject(this.failure);
    if (this.received >= this.sent) return Promise.reject(new Error('no batch in flight'));
    return new Promise((res, rej) => {
      this.waiter = res;
      this.rejecters.add(rej);
    });
  }

  /**
   * Send what is queued, end the stream and collect the final results. Batch results not taken
   * before are lost: take them with {@link DetectorThread.next} first. Ends the worker.
   */
  async finish(): Promise<DetectorFinal> {
    this.flush();
    while (this.received < this.sent || this.done.length) await this.next();
    if (this.failure) throw this.failure;
    const f = await new Promise<DetectorFinal>((res, rej) => {
      this.finalWaiter = res;
      this.rejecters.add(rej);
      this.worker.postMessage({ finish: true } satisfies ToWorker);
    });
    await this.worker.terminate();
    return f;
  }

  /** Stop the worker (results not taken are lost). */
  async terminate(): Promise<void> {
    this.finalWaiter = undefined;
    this.sent = this.received;
    await this.worker.terminate();
  }

  private id(s: string): number {
    let i = this.ids.get(s);
    if (i === undefined) {
      i = this.strings.length;
      this.strings.push(s);
      this.ids.set(s, i);
    }
    return i;
  }

  private onMessage(m: FromWorker): void {
    if ('result' in m) {
      this.received++;
      const w = this.waiter;
      if (w) {
        this.waiter = undefined;
        this.rejecters.clear();
        w(m.result);
      } else this.done.push(m.result);
    } else if ('final' in m) {
      const w = this.finalWaiter;
      this.finalWaiter = undefined;
      this.rejecters.clear();
      w?.(m.final);
    } else this.fail(new Error(`detector thread: ${m.error}`));
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    for (const r of this.rejecters) r(e);
    this.rejecters.clear();
    this.waiter = undefined;
    this.finalWaiter = undefined;
  }
}

/**
 * Start this module as a worker. From the TypeScript sources (tests, development) the worker
 * registers the tsx loader first: a worker does not inherit the loader hooks of its parent.
 */
function startWorker(init: WorkerInit): Worker {
  const self = new URL(import.meta.url);
  if (!self.pathname.endsWith('.ts')) return new Worker(self, { workerData: init });
  const api = import.meta.resolve('tsx/esm/api');
  const code = `(async () => { const { register } = await import(${JSON.stringify(api)}); register(); await import(${JSON.stringify(self.href)}); })().catch((e) => { console.error(e); process.exit(1); });`;
  return new Worker(code, { eval: true, workerData: init });
}

/** The worker side: observe every batch in order, answer with the events per APDU. */
function runWorker(init: WorkerInit): void {
  const port = parentPort!;
  const det = new Detector({ disabled: init.disabled, ...(init.policyText !== undefined ? { policy: parsePolicy(init.policyText) } : {}) });
  const codec = resolveOptions(init.codec);
  let seq = -1;
  const flowIds: string[] = [];
  const flowId = (n: number): string => flowIds[n] ?? (flowIds[n] = String(n));
  port.on('message', (m: ToWorker) => {
    try {
      if ('finish' in m) {
        const alerts = det.finish();
        const final: DetectorFinal = {
          events: { seq: -1, alerts, commands: det.takeCommands() },
          inventory: det.inventory(),
          commandStats: det.commandStatistics(),
          alertCounts: det.alertCounts(),
        };
        port.postMessage({ final } satisfies FromWorker);
        return;
      }
      const v = new DataView(m.batch, 0, m.length);
      const bytes = new Uint8Array(m.batch, 0, m.length);
      const events: SeqEvents[] = [];
      let p = 0;
      while (p < m.length) {
        const kind = v.getUint8(p);
        if (kind === KIND_CLOSE) {
          det.closeFlow(flowId(v.getUint32(p + 4, true)));
          p += 8;
          continue;
        }
        if (kind === KIND_ANOMALY) {
          const alerts = det.streamAnomaly({
            code: ANOMALY_CODES[v.getUint8(p + 1)], frame: v.getUint32(p + 4, true), flow: flowId(v.getUint32(p + 8, true)),
            src: m.strings[v.getUint32(p + 12, true)], dst: m.strings[v.getUint32(p + 16, true)], ts: v.getFloat64(p + 20, true), message: m.strings[v.getUint32(p + 28, true)],
          });
          if (alerts.length) events.push({ seq, alerts, commands: [] });
          p += 32;
          continue;
        }
        const len = v.getUint8(p + 2);
        const octets = bytes.subarray(p + HEAD, p + HEAD + len);
        const o: ObservedApdu = { frame: v.getUint32(p + 4, true), ts: v.getFloat64(p + 20, true), src: m.strings[v.getUint32(p + 12, true)], dst: m.strings[v.getUint32(p + 16, true)], flow: flowId(v.getUint32(p + 8, true)), raw: octets };
        const dir = DIRS[v.getUint8(p + 1)];
        if (dir !== undefined) o.direction = dir;
        const r = decodeApdu(octets, codec);
        if (r.ok) o.apdu = r.value;
        else {
          o.raw = octets.slice();
          o.error = { code: r.error.code, offset: r.error.offset, field: r.error.field, message: r.error.message };
        }
        seq++;
        const alerts = det.observe(o);
        const commands = det.takeCommands();
        if (alerts.length || (init.commands && commands.length)) events.push({ seq, alerts, commands: init.commands ? commands : [] });
        p += HEAD + len;
      }
      port.postMessage({ result: { lastSeq: m.lastSeq, events } } satisfies FromWorker);
    } catch (e) {
      port.postMessage({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) } satisfies FromWorker);
    }
  });
}

if (!isMainThread && (workerData as Partial<WorkerInit> | null)?.iec104DetectorThread === true) runWorker(workerData as WorkerInit);
