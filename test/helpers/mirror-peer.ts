/**
 * A scripted raw IEC 104 peer that mirrors every I-frame it receives with cause 44 (unknown type),
 * the way a Java stack answers ASDUs it does not accept. It speaks bytes, not our link: it confirms
 * STARTDT (as a station) or sends it (as a client), acknowledges I-frames with S-frames, and counts
 * what it receives. Used to prove that neither of our stations answers an answer (CONFORMANCE A01).
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { decodeApdu, encodeIFrame } from '../../src/codec/apdu.js';
import { encodeSFrame, encodeUFrame } from '../../src/codec/apci.js';
import type { Asdu } from '../../src/codec/asdu.js';
import { ApduSplitter } from '../../src/codec/frame-splitter.js';

/** What a mirror peer saw and did. */
export interface MirrorPeer {
  /** I-frames received, decoded. */
  readonly received: Asdu[];
  /** Count of mirrors sent. */
  mirrored: number;
  /** Frames received of each format. */
  readonly frames: { I: number; S: number; U: number };
  /** Send an I-frame of our own. */
  send(a: Asdu): void;
  /** Send TESTFR act and resolve on its TESTFR con: everything sent before it has been processed by the other side. */
  barrier(): Promise<void>;
  /** Resolves once data transfer is started (client: STARTDT con received; server: STARTDT act received). */
  readonly started: Promise<void>;
  close(): void;
}

/** Options: whether to mirror (default true), and an ASDU filter (default: mirror everything). */
export interface MirrorOptions {
  mirror?: (a: Asdu) => boolean;
}

function peerOn(socket: Socket, role: 'client' | 'server', o: MirrorOptions): MirrorPeer {
  let vs = 0;
  let vr = 0;
  let onStarted!: () => void;
  const started = new Promise<void>((r) => (onStarted = r));
  const testfr: (() => void)[] = [];
  const write = (b: Uint8Array): void => {
    if (!socket.destroyed) socket.write(b);
  };
  const p: MirrorPeer = {
    received: [],
    mirrored: 0,
    frames: { I: 0, S: 0, U: 0 },
    send(a) {
      write(encodeIFrame(vs, vr, a));
      vs = (vs + 1) & 0x7fff;
    },
    barrier() {
      return new Promise<void>((resolve) => {
        testfr.push(resolve);
        write(encodeUFrame('TESTFR_ACT'));
      });
    },
    started,
    close() {
      socket.destroy();
    },
  };
  const splitter = new ApduSplitter({
    frame: (f) => {
      const r = decodeApdu(f);
      if (!r.ok) {
        socket.destroy();
        return;
      }
      const { apci, asdu } = r.value;
      if (apci.format === 'U') {
        p.frames.U++;
        if (apci.uFunction === 'STARTDT_ACT') {
          write(encodeUFrame('STARTDT_CON'));
          onStarted();
        } else if (apci.uFunction === 'STARTDT_CON') onStarted();
        else if (apci.uFunction === 'TESTFR_ACT') write(encodeUFrame('TESTFR_CON'));
        else if (apci.uFunction === 'TESTFR_CON') testfr.shift()?.();
        else if (apci.uFunction === 'STOPDT_ACT') write(encodeUFrame('STOPDT_CON'));
        return;
      }
      if (apci.format === 'S') {
        p.frames.S++;
        return;
      }
      if (!asdu) return;
      p.frames.I++;
      vr = (vr + 1) & 0x7fff;
      delete asdu.warnings;
      p.received.push(asdu);
      if (o.mirror?.(asdu) ?? true) {
        p.mirrored++;
        p.send({ ...asdu, cot: 44 });
      } else write(encodeSFrame(vr));
    },
  });
  socket.on('data', (d: Buffer) => splitter.push(d));
  socket.on('error', () => {});
  if (role === 'client') write(encodeUFrame('STARTDT_ACT'));
  return p;
}

/** Connect to a station at 127.0.0.1:`port`, send STARTDT act, mirror what it sends. */
export function mirrorClient(port: number, o: MirrorOptions = {}): Promise<MirrorPeer> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ host: '127.0.0.1', port }, () => resolve(peerOn(s, 'client', o)));
    s.once('error', reject);
  });
}

/** Listen on 127.0.0.1 (port 0) as a station that mirrors what a master sends. */
export function mirrorServer(o: MirrorOptions = {}): Promise<{ server: Server; port: number; peer: Promise<MirrorPeer> }> {
  return new Promise((resolve) => {
    let got!: (p: MirrorPeer) => void;
    const peer = new Promise<MirrorPeer>((r) => (got = r));
    const server = createServer((s) => got(peerOn(s, 'server', o)));
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve({ server, port: typeof a === 'object' && a ? a.port : 0, peer });
    });
  });
}
