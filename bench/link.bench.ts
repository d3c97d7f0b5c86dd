/**
 * Link layer throughput: ASDUs per second, server (controlled) -> client (controlling), one
 * M_ME_NC_1 per ASDU, over a loopback TCP pair and in memory (link to link, no sockets).
 *
 * Run alone: `node --import tsx bench/link.bench.ts`.
 */
import type { Asdu } from '../src/codec/asdu.js';
import { Link } from '../src/link/link.js';
import type { LinkParameters } from '../src/link/types.js';
import { bindLink, connectTcp, listenTcp } from '../src/transport/tcp-link.js';
import type { BenchResult } from './types.js';

const asduOf = (i: number): Asdu => ({
  typeId: 13, sq: false, cot: 3, negative: false, test: false, originator: 0, ca: 1,
  objects: [{ ioa: (i % 65535) + 1, value: i * 0.5, quality: QUALITY }],
});
const QUALITY = Object.freeze({ iv: false, nt: false, sb: false, bl: false, ov: false });

/** Server -> client over 127.0.0.1. Resolves with ASDU/s. */
export async function tcpThroughput(params: Partial<LinkParameters>, n: number): Promise<{ rate: number; ms: number }> {
  let t0 = 0;
  let received = 0;
  let serverLink: Link | undefined;
  let sent = 0;
  let fail: Error | undefined;
  const pumpSend = (): void => {
    const l = serverLink;
    if (!l) return;
    while (sent < n && l.send(asduOf(sent))) sent++;
  };
  const server = await listenTcp({ host: '127.0.0.1', port: 0, link: { role: 'controlled', params } }, (conn) => {
    serverLink = conn.bind({
      asdu() {},
      stateChange(s) {
        if (s === 'started') {
          t0 = performance.now();
          pumpSend();
        }
      },
      drain: pumpSend,
      close(r) {
        if (r.code !== 'E_LOCAL' && r.code !== 'E_PEER_CLOSED') fail = new Error(`server link closed: ${r.code} ${r.message}`);
      },
    });
  });
  const socket = await connectTcp('127.0.0.1', server.port, { t0: 5_000 });
  const done = new Promise<number>((resolve, reject) => {
    const client = bindLink(socket, { role: 'controlling', params }, {
      asdu() {
        if (++received === n) {
          const ms = performance.now() - t0;
          client.close('bench done');
          resolve(ms);
        }
      },
      close(r) {
        if (received < n) reject(fail ?? new Error(`client link closed early: ${r.code} ${r.message}`));
      },
    });
    client.start();
  });
  const ms = await done;
  await server.close();
  return { rate: (n / ms) * 1000, ms };
}

/** Two links back to back in memory, delivering each side's writes in batches. */
export function memoryThroughput(params: Partial<LinkParameters>, n: number): { rate: number; ms: number } {
  const toA: Uint8Array[] = [];
  const toB: Uint8Array[] = [];
  let received = 0;
  let sent = 0;
  const a = new Link({ role: 'controlled', params }, {
    write: (x) => toB.push(x),
    asdu() {},
    drain: () => pump(),
    close() {},
  });
  const b = new Link({ role: 'controlling', params }, {
    write: (x) => toA.push(x),
    asdu: () => received++,
    close() {},
  });
  const pump = (): void => {
    while (sent < n && a.send(asduOf(sent))) sent++;
  };
  a.open();
  b.open();
  b.start();
  const t0 = performance.now();
  let guard = 0;
  while (received < n) {
    if (toA.length) a.receive(concat(toA.splice(0)));
    pump();
    if (toB.length) b.receive(concat(toB.splice(0)));
    if (++guard > 100_000_000) throw new Error('memory bench stalled');
  }
  const ms = performance.now() - t0;
  a.close();
  b.close();
  return { rate: (n / ms) * 1000, ms };
}

function concat(list: Uint8Array[]): Uint8Array {
  return list.length === 1 ? list[0] : Buffer.concat(list);
}

/** Shown by bench/run.ts above the table. */
export const description = 'Link layer (src/link/link.ts): ASDU/s server (controlled) -> client (controlling), one M_ME_NC_1 per ASDU, encoded and decoded per frame; TCP over 127.0.0.1 through bindLink, and two links back to back in memory.';

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  // warm-up (JIT)
  memoryThroughput({ k: 12, w: 8 }, 50_000);
  await tcpThroughput({ k: 12, w: 8 }, 20_000);
  const cases: [string, Partial<LinkParameters>, number][] = [
    ['k=12 w=8', { k: 12, w: 8 }, 300_000],
    ['k=32767 w=21844', { k: 32767, w: 21844 }, 1_000_000],
  ];
  for (const [label, p, n] of cases) {
    const r = await tcpThroughput(p, n);
    results.push({ name: `link tcp loopback ${label} server->client`, value: Math.round(r.rate), unit: 'ASDU/s', note: `${n} M_ME_NC_1 in ${r.ms.toFixed(0)} ms` });
  }
  for (const [label, p, n] of cases) {
    const r = memoryThroughput(p, n);
    results.push({ name: `link in-memory ${label}`, value: Math.round(r.rate), unit: 'ASDU/s', note: `${n} M_ME_NC_1 in ${r.ms.toFixed(0)} ms, no sockets` });
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const results = await run();
  for (const r of results) console.log(`${r.name.padEnd(48)} ${String(r.value).padStart(10)} ${r.unit}${r.note ? `  (${r.note})` : ''}`);
}
