/**
 * Generator of large synthetic IEC 104 captures for the capture benchmark: many master/station
 * flows interleaved in time, each following the traffic pattern of the toolkit's own master and
 * station (handshake, STARTDT, general interrogation answered with SQ and non-SQ data, spontaneous
 * time-tagged events several per segment, S-frames every w=8 I-frames, TESTFR on idle, SBO
 * commands with ACT_CON / ACT_TERM, set-points, clock synchronisation), written as a pcap file
 * in constant memory.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { Asdu, InformationObject } from '../src/codec/asdu.js';
import { encodeIFrame } from '../src/codec/apdu.js';
import { encodeSFrame, encodeUFrame } from '../src/codec/apci.js';
import { cp56FromDate } from '../src/codec/time.js';
import { TCP_ACK, TCP_SYN } from '../src/capture/packet.js';
import { buildTcpPacket } from '../src/capture/writer.js';

const Q = Object.freeze({ iv: false, nt: false, sb: false, bl: false, ov: false });

class PcapFile {
  private buf = Buffer.allocUnsafe(8 << 20);
  private len = 0;
  bytes = 0;
  packets = 0;
  constructor(private readonly fd: number) {
    const h = Buffer.alloc(24);
    h.writeUInt32LE(0xa1b2c3d4, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeUInt32LE(262144, 16);
    h.writeUInt32LE(1, 20);
    this.put(h);
  }
  private put(b: Uint8Array): void {
    if (this.len + b.length > this.buf.length) this.flush();
    this.buf.set(b, this.len);
    this.len += b.length;
    this.bytes += b.length;
  }
  packet(tUs: number, data: Uint8Array): void {
    const h = Buffer.allocUnsafe(16);
    h.writeUInt32LE(Math.floor(tUs / 1e6), 0);
    h.writeUInt32LE(tUs % 1e6, 4);
    h.writeUInt32LE(data.length, 8);
    h.writeUInt32LE(data.length, 12);
    this.put(h);
    this.put(data);
    this.packets++;
  }
  flush(): void {
    if (this.len) writeSync(this.fd, this.buf, 0, this.len);
    this.len = 0;
  }
}

interface FlowState {
  mIp: string;
  sIp: string;
  mPort: number;
  ca: number;
  seq: [number, number];
  ns: [number, number];
  nr: [number, number];
  unackedS: number;
  unackedM: number;
  step: number;
  value: number;
}

/** What {@link generateCapture} wrote. */
export interface GeneratedCapture {
  path: string;
  bytes: number;
  packets: number;
  apdus: number;
  flows: number;
}

/**
 * Write a pcap of about `targetBytes` to `path` with `flows` concurrent connections
 * (masters 10.1.m.1, each serving up to 5 stations 10.2.s.x:2404).
 */
export function generateCapture(path: string, targetBytes: number, flows = 200): GeneratedCapture {
  const fd = openSync(path, 'w');
  const f = new PcapFile(fd);
  let t = Date.UTC(2025, 0, 6, 8, 0, 0) * 1000; // µs
  let apdus = 0;
  const fl: FlowState[] = [];
  for (let i = 0; i < flows; i++) {
    fl.push({
      mIp: `10.1.${Math.floor(i / 5) % 250}.1`, sIp: `10.2.${Math.floor(i / 250) % 250}.${(i % 250) + 1}`, mPort: 40000 + i,
      ca: (i % 60) + 1, seq: [1000 + i * 7919, 5000 + i * 104729], ns: [0, 0], nr: [0, 0], unackedS: 0, unackedM: 0, step: 0, value: i,
    });
  }
  // side 0 = master (client), 1 = station
  const seg = (s: FlowState, side: 0 | 1, payload: Uint8Array, flags = TCP_ACK | 0x08): void => {
    t += 1500 + (payload.length & 511);
    const src = side === 0 ? s.mIp : s.sIp;
    const dst = side === 0 ? s.sIp : s.mIp;
    const sport = side === 0 ? s.mPort : 2404;
    const dport = side === 0 ? 2404 : s.mPort;
    f.packet(t, buildTcpPacket({ src, dst, sport, dport, seq: s.seq[side], ack: s.seq[1 - side], flags, payload }));
    s.seq[side] = (s.seq[side] + payload.length + (flags & TCP_SYN ? 1 : 0)) >>> 0;
  };
  const iFrame = (s: FlowState, side: 0 | 1, a: Asdu): Uint8Array => {
    const b = encodeIFrame(s.ns[side], s.nr[side], a);
    s.ns[side] = (s.ns[side] + 1) & 0x7fff;
    s.nr[1 - side] = (s.nr[1 - side] + 1) & 0x7fff;
    if (side === 1) s.unackedS++;
    else s.unackedM++;
    apdus++;
    return b;
  };
  const ackM = (s: FlowState, now = false): void => {
    // master acknowledges the station's I-frames with an S-frame every w = 8
    if (now || s.unackedS >= 8) {
      seg(s, 0, encodeSFrame(s.nr[0]));
      apdus++;
      s.unackedS = 0;
    }
  };
  const asdu = (s: FlowState, typeId: number, cot: number, objects: InformationObject[], sq = false, negative = false): Asdu =>
    ({ typeId, sq, cot, negative, test: false, originator: 0, ca: s.ca, objects });
  const time = (): ReturnType<typeof cp56FromDate> => cp56FromDate(new Date(t / 1000));

  const stepFlow = (s: FlowState): void => {
    const k = s.step++;
    if (k === 0) {
      seg(s, 0, new Uint8Array(0), TCP_SYN);
      seg(s, 1, new Uint8Array(0), TCP_SYN | TCP_ACK);
      seg(s, 0, new Uint8Array(0), TCP_ACK);
      seg(s, 0, encodeUFrame('STARTDT_ACT'));
      seg(s, 1, encodeUFrame('STARTDT_CON'));
      apdus += 2;
      return;
    }
    const phase = k % 40;
    s.value++;
    if (s.unackedS >= 4) ackM(s, true);
    if (phase === 1) {
      // general interrogation: act, con, SQ singles, non-SQ floats, doubles, term
      seg(s, 0, iFrame(s, 0, asdu(s, 100, 6, [{ ioa: 0, qoi: 20 }])));
      seg(s, 1, iFrame(s, 1, asdu(s, 100, 7, [{ ioa: 0, qoi: 20 }])));
      const sp = Array.from({ length: 60 }, (_, j) => ({ ioa: 1001 + j, value: ((s.value + j) & 1) === 1, quality: Q }));
      const me = Array.from({ length: 20 }, (_, j) => ({ ioa: 2001 + j * 2, value: 230 + ((s.value * 7 + j) % 100) / 10, quality: Q }));
      const dp = Array.from({ length: 10 }, (_, j) => ({ ioa: 3001 + j, value: 1 + ((s.value + j) & 1), quality: Q }));
      const parts = [iFrame(s, 1, asdu(s, 1, 20, sp, true)), iFrame(s, 1, asdu(s, 13, 20, me)), iFrame(s, 1, asdu(s, 3, 20, dp)), iFrame(s, 1, asdu(s, 100, 10, [{ ioa: 0, qoi: 20 }]))];
      seg(s, 1, Buffer.concat(parts));
      ackM(s);
    } else if (phase === 10 || phase === 30) {
      // select-before-operate single command with feedback and termination
      const ioa = 5001 + (s.value % 8);
      const v = (s.value & 2) === 2;
      for (const select of [true, false]) {
        seg(s, 0, iFrame(s, 0, asdu(s, 45, 6, [{ ioa, value: v, qu: 0, select }])));
        seg(s, 1, iFrame(s, 1, asdu(s, 45, 7, [{ ioa, value: v, qu: 0, select }])));
      }
      seg(s, 1, Buffer.concat([iFrame(s, 1, asdu(s, 30, 11, [{ ioa: 1001 + (ioa - 5001), value: v, quality: Q, time: time() }])), iFrame(s, 1, asdu(s, 45, 10, [{ ioa, value: v, qu: 0, select: false }]))]));
      seg(s, 0, encodeSFrame(s.nr[0]));
      apdus++;
      s.unackedS = 0;
    } else if (phase === 20) {
      seg(s, 0, iFrame(s, 0, asdu(s, 50, 6, [{ ioa: 6001, value: 49.5 + (s.value % 10) / 10, ql: 0, select: false }])));
      seg(s, 1, iFrame(s, 1, asdu(s, 50, 7, [{ ioa: 6001, value: 49.5 + (s.value % 10) / 10, ql: 0, select: false }])));
      ackM(s);
    } else if (phase === 25) {
      seg(s, 0, iFrame(s, 0, asdu(s, 103, 6, [{ ioa: 0, time: time() }])));
      seg(s, 1, iFrame(s, 1, asdu(s, 103, 7, [{ ioa: 0, time: time() }])));
      ackM(s);
    } else if (phase === 35) {
      seg(s, 0, encodeUFrame('TESTFR_ACT'));
      seg(s, 1, encodeUFrame('TESTFR_CON'));
      apdus += 2;
    } else {
      // spontaneous events: 1-4 APDUs per segment, time-tagged floats and singles
      const n = 1 + (s.value % 4);
      const parts: Uint8Array[] = [];
      for (let j = 0; j < n; j++) {
        if ((s.value + j) % 3 === 0) parts.push(iFrame(s, 1, asdu(s, 30, 3, [{ ioa: 1001 + ((s.value + j) % 60), value: ((s.value + j) & 1) === 1, quality: Q, time: time() }])));
        else parts.push(iFrame(s, 1, asdu(s, 36, 3, [{ ioa: 2001 + ((s.value + j) % 20) * 2, value: 230 + (s.value % 50) / 10, quality: Q, time: time() }, { ioa: 2003 + ((s.value + j) % 19) * 2, value: 231.5, quality: Q, time: time() }])));
      }
      seg(s, 1, parts.length === 1 ? parts[0] : Buffer.concat(parts));
      ackM(s);
    }
  };

  try {
    let i = 0;
    while (f.bytes < targetBytes) {
      stepFlow(fl[i]);
      i = (i + 1) % fl.length;
    }
    f.flush();
  } finally {
    closeSync(fd);
  }
  return { path, bytes: f.bytes, packets: f.packets, apdus, flows };
}
