/**
 * Synthetic IEC 104 captures for the detection tests and the evaluation (scripts/eval-detections.ts):
 * a master and a station talking over a scripted TCP connection with correct N(S)/N(R), capture
 * time under the script's control, and the artefacts of synthetic captures on demand (no TCP
 * handshake, frozen TCP sequence numbers).
 */
import { type Asdu, encodeApdu, encodeSFrame, encodeUFrame, type UFunction } from '../../src/codec/index.js';
import { buildTcpPacket, type PacketToWrite, writePcap } from '../../src/capture/writer.js';

/** Options of {@link SynthLink104}. */
export interface Synth104Options {
  master?: { ip: string; port: number };
  station?: { ip: string; port: number };
  /** Write SYN / SYN-ACK / ACK first (default true). */
  handshake?: boolean;
  /**
   * Every segment of a side carries the same TCP sequence number and acknowledgement (a broken
   * generator): the initial sequence number without a handshake, ISN + 1 (what the handshake left)
   * with one.
   */
  frozenSeq?: boolean;
  /** Write only the packets this side sends (a capture that saw one direction, e.g. a one-way tap). */
  only?: 'm' | 's';
  /** Capture start, epoch ms (default 2024-03-04T10:00:00Z). */
  startMs?: number;
  /** Capture time between frames, ms (default 5). */
  stepMs?: number;
}

type Side = 'm' | 's';

/** One scripted IEC 104 connection written as TCP packets. */
export class SynthLink104 {
  readonly packets: PacketToWrite[] = [];
  /** Capture time, epoch ms. */
  t: number;
  private readonly step: number;
  private readonly ends: Record<Side, { ip: string; port: number }>;
  private readonly tcpSeq: Record<Side, number> = { m: 1000, s: 5000 };
  private readonly isn: Record<Side, number> = { m: 1000, s: 5000 };
  private readonly frozen: boolean;
  private readonly only: Side | undefined;
  /** Frozen sequence numbers (ISN without a handshake, ISN + 1 after one). */
  private frozenAt: Record<Side, number> = { m: 1000, s: 5000 };
  private shaking = false;
  /** N(S) next per side, and I-frames received per side. */
  readonly ns: Record<Side, number> = { m: 0, s: 0 };
  readonly nr: Record<Side, number> = { m: 0, s: 0 };

  constructor(opts: Synth104Options = {}) {
    this.ends = { m: opts.master ?? { ip: '10.0.0.1', port: 40001 }, s: opts.station ?? { ip: '10.0.0.2', port: 2404 } };
    this.t = opts.startMs ?? Date.UTC(2024, 2, 4, 10, 0, 0);
    this.step = opts.stepMs ?? 5;
    this.frozen = opts.frozenSeq ?? false;
    this.only = opts.only;
    if (opts.handshake ?? true) this.handshake();
  }

  /** SYN / SYN-ACK / ACK from the initial sequence numbers (a frozen generator stays at ISN + 1 afterwards). */
  private handshake(): void {
    this.tcpSeq.m = this.isn.m;
    this.tcpSeq.s = this.isn.s;
    this.shaking = true;
    this.seg('m', new Uint8Array(0), 0x02);
    this.tcpSeq.m++;
    this.seg('s', new Uint8Array(0), 0x12);
    this.tcpSeq.s++;
    this.seg('m', new Uint8Array(0), 0x10);
    this.shaking = false;
    this.frozenAt = { m: this.tcpSeq.m, s: this.tcpSeq.s };
  }

  /**
   * The connection ends (FIN both ways) and a new one starts on the same ports with the same initial
   * sequence numbers and a new handshake, N(S)/N(R) from 0 (STARTDT is the caller's): a generator
   * (or a device) that restarts its numbers on every connection. `fin: false`: the old connection's end
   * is not in the capture.
   */
  restart(opts: { fin?: boolean } = {}): this {
    if (opts.fin ?? true) {
      this.seg('m', new Uint8Array(0), 0x11);
      this.seg('s', new Uint8Array(0), 0x11);
    }
    this.wait(1000);
    this.handshake();
    this.ns.m = this.ns.s = this.nr.m = this.nr.s = 0;
    return this;
  }

  private seg(side: Side, payload: Uint8Array, flags = 0x18): void {
    const other: Side = side === 'm' ? 's' : 'm';
    const a = this.ends[side];
    const b = this.ends[other];
    this.t += this.step;
    const frozen = this.frozen && !this.shaking;
    const seq = frozen ? this.frozenAt[side] : this.tcpSeq[side];
    const ack = frozen ? this.frozenAt[other] : this.tcpSeq[other];
    const us = Math.round(this.t * 1000);
    if (this.only === undefined || this.only === side) this.packets.push({ data: buildTcpPacket({ src: a.ip, dst: b.ip, sport: a.port, dport: b.port, seq, ack, flags, payload }), tsSec: Math.floor(us / 1e6), tsNsec: (us % 1e6) * 1000 });
    this.tcpSeq[side] = (this.tcpSeq[side] + payload.length) >>> 0;
  }

  /** Let capture time pass. */
  wait(ms: number): this {
    this.t += ms;
    return this;
  }

  u(side: Side, f: UFunction): this {
    this.seg(side, encodeUFrame(f));
    return this;
  }

  /** STARTDT act / con. */
  start(): this {
    return this.u('m', 'STARTDT_ACT').u('s', 'STARTDT_CON');
  }

  /** An I-frame carrying `asdu` (defaults: no SQ, positive, not test, OA 0, CA 1). */
  i(side: Side, asdu: Partial<Asdu> & Pick<Asdu, 'typeId' | 'cot' | 'objects'>): this {
    const other: Side = side === 'm' ? 's' : 'm';
    const full = { sq: false, negative: false, test: false, originator: 0, ca: 1, ...asdu } as Asdu;
    this.seg(side, encodeApdu({ apci: { format: 'I', sendSeq: this.ns[side], recvSeq: this.nr[side] }, asdu: full }));
    this.ns[side] = (this.ns[side] + 1) & 0x7fff;
    this.nr[other] = (this.nr[other] + 1) & 0x7fff;
    return this;
  }

  /** S-frame acknowledging what the side received. */
  s(side: Side): this {
    this.seg(side, encodeSFrame(this.nr[side]));
    return this;
  }

  /** A command and its confirmation (act → actcon with the same objects), then an S-frame from the master. */
  command(asdu: Partial<Asdu> & Pick<Asdu, 'typeId' | 'objects'>, opts: { negative?: boolean; term?: boolean } = {}): this {
    this.i('m', { cot: 6, ...asdu });
    this.i('s', { ...asdu, cot: 7, negative: opts.negative ?? false });
    if (opts.term) this.i('s', { ...asdu, cot: 10 });
    return this.s('m');
  }

  /** General interrogation with `n` single points answered, then actterm. */
  gi(n = 4, ca = 1): this {
    this.i('m', { typeId: 100, cot: 6, ca, objects: [{ ioa: 0, qoi: 20 }] });
    this.i('s', { typeId: 100, cot: 7, ca, objects: [{ ioa: 0, qoi: 20 }] });
    if (n > 0) this.i('s', { typeId: 1, cot: 20, ca, objects: Array.from({ length: n }, (_, k) => ({ ioa: 100 + k, value: k % 2 === 0, quality: { bl: false, sb: false, nt: false, iv: false } })) });
    this.i('s', { typeId: 100, cot: 10, ca, objects: [{ ioa: 0, qoi: 20 }] });
    return this.s('m');
  }

  /** Spontaneous measured value from the station. */
  spont(ioa: number, value: number): this {
    return this.i('s', { typeId: 13, cot: 3, objects: [{ ioa, value, quality: { ov: false, bl: false, sb: false, nt: false, iv: false } }] });
  }

  /** The pcap bytes. */
  pcap(): Uint8Array {
    return writePcap(this.packets);
  }
}

/** Concatenate the packets of several connections into one capture, in time order. */
export function mergePcap(...links: SynthLink104[]): Uint8Array {
  const all = links.flatMap((l) => l.packets);
  all.sort((a, b) => (a.tsSec ?? 0) - (b.tsSec ?? 0) || (a.tsNsec ?? 0) - (b.tsNsec ?? 0));
  return writePcap(all);
}
