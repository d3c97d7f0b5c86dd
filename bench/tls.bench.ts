/**
 * TLS (src/transport/tls-verify.ts): handshake time of mutual TLS over 127.0.0.1 (p50/p99, EC
 * P-256 test PKI, TLS 1.3 and 1.2, full handshakes incl. our post-handshake verification), and
 * link throughput server -> client over TLS vs plain TCP at k=12/w=8, one M_ME_NC_1 per ASDU.
 *
 * Run alone: `node --import tsx bench/tls.bench.ts`.
 */
import { commandRoundTrips, eventThroughput } from './engine.bench.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { Asdu } from '../src/codec/asdu.js';
import type { Link } from '../src/link/link.js';
import { bindLink, connectTcp, listenTcp, type ListenTcpOptions } from '../src/transport/tcp-link.js';
import { createTestPki, type TestPki } from '../src/transport/test-pki.js';
import type { TlsVersion } from '../src/transport/tls-config.js';
import { connectTls, TlsSecurity } from '../src/transport/tls-verify.js';
import type { BenchResult } from './types.js';

const QUALITY = Object.freeze({ iv: false, nt: false, sb: false, bl: false, ov: false });
const asduOf = (i: number): Asdu => ({
  typeId: 13, sq: false, cot: 3, negative: false, test: false, originator: 0, ca: 1,
  objects: [{ ioa: (i % 65535) + 1, value: i * 0.5, quality: QUALITY }],
});

function securities(pki: TestPki, version?: TlsVersion): { server: TlsSecurity; client: TlsSecurity } {
  const v = version ? { minVersion: version, maxVersion: version } : {};
  return {
    server: new TlsSecurity({ cert: pki.leaves.server.cert, key: pki.leaves.server.key, ca: [pki.ca.cert], crl: [pki.crl], ...v }),
    client: new TlsSecurity({ cert: pki.leaves.client.cert, key: pki.leaves.client.key, ca: [pki.ca.cert], crl: [pki.crl], ...v }),
  };
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

/** `n` sequential mutual-TLS handshakes; ms each (connect to verified). */
export async function handshakes(pki: TestPki, n: number, version?: TlsVersion): Promise<number[]> {
  const { server, client } = securities(pki, version);
  await server.ready();
  const srv = await listenTcp({ host: '127.0.0.1', port: 0, link: { role: 'controlled' }, secure: server }, (c) => {
    c.bind({ asdu() {}, close() {} });
  });
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const s = await connectTls('127.0.0.1', srv.port, client, { t0: 5_000 });
    times.push(performance.now() - t0);
    s.destroy();
  }
  await srv.close();
  return times;
}

/** Server -> client throughput over a plain or TLS connection. */
export async function throughput(n: number, pki?: TestPki): Promise<{ rate: number; ms: number }> {
  const params = { k: 12, w: 8 };
  const sec = pki ? securities(pki) : undefined;
  let t0 = 0;
  let sent = 0;
  let serverLink: Link | undefined;
  const pump = (): void => {
    const l = serverLink;
    if (!l) return;
    while (sent < n && l.send(asduOf(sent))) sent++;
  };
  const opts: ListenTcpOptions = { host: '127.0.0.1', port: 0, link: { role: 'controlled', params }, ...(sec ? { secure: sec.server } : {}) };
  const server = await listenTcp(opts, (conn) => {
    serverLink = conn.bind({
      asdu() {},
      stateChange(s) {
        if (s === 'started') {
          t0 = performance.now();
          pump();
        }
      },
      drain: pump,
      close() {},
    });
  });
  const socket: Duplex = sec ? await connectTls('127.0.0.1', server.port, sec.client, { t0: 5_000 }) : await connectTcp('127.0.0.1', server.port, { t0: 5_000 });
  let received = 0;
  const ms = await new Promise<number>((resolve, reject) => {
    const client = bindLink(socket, { role: 'controlling', params }, {
      asdu() {
        if (++received === n) {
          const d = performance.now() - t0;
          client.close('bench done');
          resolve(d);
        }
      },
      close(r) {
        if (received < n) reject(new Error(`client closed early: ${r.code} ${r.message}`));
      },
    });
    client.start();
  });
  await server.close();
  return { rate: (n / ms) * 1000, ms };
}

/** Shown by bench/run.ts above the table. */
export const description =
  'TLS transport: mutual-TLS handshake time over 127.0.0.1 (EC P-256 test PKI, CRL on, post-handshake verification included; sequential connects), and link throughput server -> client over TLS vs plain TCP, k=12 w=8, one M_ME_NC_1 per ASDU.';

export async function run(): Promise<BenchResult[]> {
  const pki = await createTestPki(mkdtempSync(join(tmpdir(), 'iec104-bench-pki-')));
  const results: BenchResult[] = [];
  await handshakes(pki, 20); // warm-up
  for (const v of ['TLSv1.3', 'TLSv1.2'] as const) {
    const t = await handshakes(pki, 200, v);
    results.push({ name: `mutual TLS handshake ${v} p50`, value: pct(t, 50), unit: 'ms', note: '200 sequential connects' });
    results.push({ name: `mutual TLS handshake ${v} p99`, value: pct(t, 99), unit: 'ms', note: '200 sequential connects' });
  }
  await throughput(20_000);
  await throughput(20_000, pki);
  const N = 200_000;
  const plain = await throughput(N);
  const secured = await throughput(N, pki);
  results.push({ name: 'link plain TCP k=12 w=8 server->client', value: Math.round(plain.rate), unit: 'ASDU/s', note: `${N} M_ME_NC_1 in ${plain.ms.toFixed(0)} ms` });
  results.push({ name: 'link TLS 1.3 k=12 w=8 server->client', value: Math.round(secured.rate), unit: 'ASDU/s', note: `${N} M_ME_NC_1 in ${secured.ms.toFixed(0)} ms` });
  results.push({ name: 'link throughput TLS / plain TCP', value: secured.rate / plain.rate, unit: 'ratio' });

  // the engine (our station -> our master) over TLS vs plain TCP, same run
  const tls = {
    station: { cert: pki.leaves.server.cert, key: pki.leaves.server.key, ca: pki.ca.cert },
    master: { cert: pki.leaves.client.cert, key: pki.leaves.client.key, ca: pki.ca.cert },
  };
  const EV = 200_000;
  const evPlain = await eventThroughput(13, { k: 12, w: 8 }, EV);
  const evTls = await eventThroughput(13, { k: 12, w: 8 }, EV, tls);
  results.push({ name: 'engine events M_ME_NC_1 k=12 w=8, plain TCP', value: Math.round(evPlain.rate), unit: 'ASDU/s', note: `${EV} events station->master` });
  results.push({ name: 'engine events M_ME_NC_1 k=12 w=8, mutual TLS', value: Math.round(evTls.rate), unit: 'ASDU/s', note: `${EV} events station->master` });
  results.push({ name: 'engine event throughput TLS / plain TCP', value: evTls.rate / evPlain.rate, unit: 'ratio' });
  const CMD = 5_000;
  await commandRoundTrips(1_000); // warm-up
  const rttPlain = (await commandRoundTrips(CMD)).sort((a, b) => a - b);
  const rttTls = (await commandRoundTrips(CMD, tls)).sort((a, b) => a - b);
  const us = (v: number) => v * 1000;
  results.push({ name: 'command round trip p50, plain TCP', value: us(pct(rttPlain, 50)), unit: 'µs', note: `${CMD} sequential C_SC_NA_1 to ACT_CON` });
  results.push({ name: 'command round trip p50, mutual TLS', value: us(pct(rttTls, 50)), unit: 'µs', note: `${CMD} sequential C_SC_NA_1 to ACT_CON` });
  results.push({ name: 'command round trip p99, plain TCP', value: us(pct(rttPlain, 99)), unit: 'µs' });
  results.push({ name: 'command round trip p99, mutual TLS', value: us(pct(rttTls, 99)), unit: 'µs' });
  results.push({ name: 'command round trip p50 TLS / plain TCP', value: pct(rttTls, 50) / pct(rttPlain, 50), unit: 'ratio' });
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const results = await run();
  for (const r of results) console.log(`${r.name.padEnd(48)} ${String(r.value.toFixed(r.value < 10 ? 3 : 0)).padStart(10)} ${r.unit}${r.note ? `  (${r.note})` : ''}`);
}
