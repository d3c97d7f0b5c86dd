/**
 * A TCP relay that counts the IEC 104 frames passing each way (I, S, U; I-frames by cause). Put
 * between two peers to measure how much they exchange without touching either.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { ApduSplitter } from '../../src/codec/frame-splitter.js';

/** Frames seen in one direction. */
export interface DirectionCount {
  I: number;
  S: number;
  U: number;
  /** I-frames by cause of transmission (with ` neg` appended for P/N=1). */
  byCause: Record<string, number>;
}

/** A running relay. */
export interface CountingRelay {
  port: number;
  /** Client → target. */
  up: DirectionCount;
  /** Target → client. */
  down: DirectionCount;
  close(): Promise<void>;
}

function counter(c: DirectionCount, forward: (f: Uint8Array) => void, rewrite: ((f: Uint8Array) => void) | undefined): ApduSplitter {
  return new ApduSplitter({
    frame: (frame) => {
      const f = Uint8Array.from(frame);
      rewrite?.(f);
      forward(f);
      const cf = f[2];
      if ((cf & 1) === 0) {
        c.I++;
        if (f.length > 8) {
          const key = `${f[8] & 0x3f}${f[8] & 0x40 ? ' neg' : ''}`;
          c.byCause[key] = (c.byCause[key] ?? 0) + 1;
        }
      } else if ((cf & 3) === 1) c.S++;
      else c.U++;
    },
  });
}

/**
 * Changes a frame on its way (in place), e.g. the type identification of one ASDU: the relay
 * forwards frame by frame, so sequence numbers stay intact.
 */
export type FrameRewrite = (frame: Uint8Array, direction: 'up' | 'down') => void;

/** Listen on 127.0.0.1 (port 0); each connection is relayed to `targetHost:targetPort`. */
export function countingRelay(targetHost: string, targetPort: number, rewrite?: FrameRewrite): Promise<CountingRelay> {
  const up: DirectionCount = { I: 0, S: 0, U: 0, byCause: {} };
  const down: DirectionCount = { I: 0, S: 0, U: 0, byCause: {} };
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const target = createConnection({ host: targetHost, port: targetPort });
    sockets.add(client);
    sockets.add(target);
    const cu = counter(up, (f) => target.write(f), rewrite && ((f) => rewrite(f, 'up')));
    const cd = counter(down, (f) => client.write(f), rewrite && ((f) => rewrite(f, 'down')));
    client.on('data', (d: Buffer) => cu.push(d));
    target.on('data', (d: Buffer) => cd.push(d));
    const end = (): void => {
      client.destroy();
      target.destroy();
    };
    client.on('close', end);
    target.on('close', end);
    client.on('error', end);
    target.on('error', end);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve({
        port: typeof a === 'object' && a ? a.port : 0,
        up,
        down,
        close: () => new Promise<void>((r) => {
          for (const s of sockets) s.destroy();
          server.close(() => r());
        }),
      });
    });
  });
}
