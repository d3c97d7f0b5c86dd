/** Shared pieces of the end-to-end tests: master and station over real loopback sockets. */
import type { Asdu } from '../../src/codec/asdu.js';
import type { Link } from '../../src/link/link.js';
import type { LinkCloseReason } from '../../src/link/types.js';
import { ControllingStation, type ControllingStationOptions } from '../../src/master/master.js';
import { tcpConnector } from '../../src/master/tcp.js';
import { createStation, type ControlledStation, type StationOptions } from '../../src/station/station.js';
import { bindLink, connectTcp } from '../../src/transport/tcp-link.js';

/** Records ASDUs as they arrive and lets a test wait (event-driven, no polling) for a condition on them. */
export class Recorder {
  readonly all: Asdu[] = [];
  private waiters: { pred: (all: Asdu[]) => boolean; resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout }[] = [];

  push(a: Asdu): void {
    this.all.push(a);
    this.check();
  }

  /** Resolve once `pred(all)` holds; reject after `ms`. */
  until(pred: (all: Asdu[]) => boolean, ms = 3000, what = 'condition'): Promise<void> {
    if (pred(this.all)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const w = {
        pred,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((x) => x !== w);
          reject(new Error(`timed out after ${ms} ms waiting for ${what}; received ${this.all.length} ASDU(s): ${this.all.slice(-12).map(brief).join(' ')}`));
        }, ms),
      };
      this.waiters.push(w);
    });
  }

  /** Index of the first ASDU at or after `from` matching `pred` (-1 if none). */
  find(pred: (a: Asdu) => boolean, from = 0): Asdu | undefined {
    for (let i = from; i < this.all.length; i++) if (pred(this.all[i])) return this.all[i];
    return undefined;
  }

  /** Wait for an ASDU matching `pred` received after `from` (an index into `all`). */
  async next(pred: (a: Asdu) => boolean, from = 0, ms = 3000, what = 'an ASDU'): Promise<Asdu> {
    await this.until((all) => all.slice(from).some(pred), ms, what);
    return this.find(pred, from)!;
  }

  private check(): void {
    for (const w of [...this.waiters]) {
      if (w.pred(this.all)) {
        clearTimeout(w.timer);
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve();
      }
    }
  }
}

/** `type/cot@ca:objects`, e.g. `100/7@1:1`. */
export function brief(a: Asdu): string {
  return `${a.typeId}/${a.cot}${a.negative ? '-' : ''}@${a.ca}:${a.objects.length}`;
}

export interface Pair {
  station: ControlledStation;
  master: ControllingStation;
  port: number;
  rec: Recorder;
  close(): Promise<void>;
}

/** A station listening on 127.0.0.1:0 and a master connected to it (data transfer started). */
export async function pair(stationOptions: StationOptions, masterOptions: Partial<ControllingStationOptions> = {}): Promise<Pair> {
  const station = createStation(stationOptions);
  const { port } = await station.listen({ host: '127.0.0.1', port: 0 });
  const rec = new Recorder();
  const master = new ControllingStation({ connector: tcpConnector('127.0.0.1', port), reconnect: false, requestTimeout: 3000, terminationTimeout: 3000, ...masterOptions });
  master.on('asdu', (a) => rec.push(a));
  await master.connect();
  return {
    station,
    master,
    port,
    rec,
    async close() {
      await master.close();
      await station.close();
    },
  };
}

/** A bare controlling link on a socket, for ASDUs the master's helpers do not send. */
export async function rawClient(port: number): Promise<{ link: Link; rec: Recorder; closed: Promise<LinkCloseReason>; close(): Promise<LinkCloseReason> }> {
  const socket = await connectTcp('127.0.0.1', port, { t0: 3000 });
  const rec = new Recorder();
  let onClose!: (r: LinkCloseReason) => void;
  const closed = new Promise<LinkCloseReason>((r) => (onClose = r));
  let started!: () => void;
  const isStarted = new Promise<void>((r) => (started = r));
  const link = bindLink(socket, { role: 'controlling' }, {
    asdu: (a) => rec.push(a),
    stateChange: (s) => {
      if (s === 'started') started();
    },
    close: (r) => onClose(r),
  });
  link.start();
  await isStarted;
  return {
    link,
    rec,
    closed,
    close: () => {
      link.close();
      return closed;
    },
  };
}

/** An ASDU value. */
export function asdu(typeId: number, cot: number, ca: number, objects: Asdu['objects'], o: Partial<Asdu> = {}): Asdu {
  return { typeId, sq: false, cot, negative: false, test: false, originator: 0, ca, objects, ...o };
}

/** Deterministic PRNG (mulberry32). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
