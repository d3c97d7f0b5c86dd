/**
 * File transfer throughput over a loopback TCP pair, our master and our station (k=12, w=8,
 * 104 field widths: 236-octet segments): one 4 MiB file downloaded and uploaded, best of 3.
 *
 * Run alone: `node --import tsx bench/files.bench.ts`.
 */
import { ControllingStation } from '../src/master/master.js';
import { tcpConnector } from '../src/master/tcp.js';
import { createStation } from '../src/station/station.js';
import type { BenchResult } from './types.js';

export const description = 'Download and upload of one 4 MiB file between our master and station over 127.0.0.1 (k=12, w=8, 236-octet segments, sections of 64 KiB); MiB/s, best of 3.';

export async function run(): Promise<BenchResult[]> {
  const n = 4 * 1024 * 1024;
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) data[i] = (i * 31) & 0xff;
  const station = createStation({
    endOfInitialization: 'none',
    files: {
      commonAddresses: [1],
      provider: { list: () => [{ ca: 1, ioa: 1, length: n }], read: () => data },
      receiver: { accept: () => true, write: () => {} },
    },
  });
  const l = await station.listen({ host: '127.0.0.1', port: 0 });
  const master = new ControllingStation({ connector: tcpConnector('127.0.0.1', l.port), reconnect: false });
  await master.connect();
  let down = Infinity;
  let up = Infinity;
  for (let i = 0; i < 3; i++) {
    let t = performance.now();
    await master.downloadFile(1, 1, { timeout: 120_000 });
    down = Math.min(down, performance.now() - t);
    t = performance.now();
    await master.uploadFile(1, 2, data, { timeout: 120_000 });
    up = Math.min(up, performance.now() - t);
  }
  await master.close();
  await station.close();
  const mib = n / 2 ** 20;
  return [
    { name: 'file download 4 MiB, station -> master', value: mib / (down / 1000), unit: 'MiB/s', note: `${Math.round(down)} ms, ${Math.ceil(n / 236)} segments` },
    { name: 'file upload 4 MiB, master -> station', value: mib / (up / 1000), unit: 'MiB/s', note: `${Math.round(up)} ms` },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) for (const r of await run()) console.log(`${r.name}: ${r.value.toFixed(2)} ${r.unit} (${r.note ?? ''})`);
