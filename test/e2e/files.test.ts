/**
 * File transfer between our master and our station over real loopback sockets (TCP and mutual
 * TLS): every size class byte-identical both ways, the largest file LOF allows, interrupted and
 * cancelled transfers, checksum errors injected by a corrupting proxy, two masters at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { fileChecksum, MAX_FILE_LENGTH } from '../../src/codec/file-transfer.js';
import { ControllingStation } from '../../src/master/master.js';
import { FileTransferError, type FileProgress } from '../../src/master/file-transfer.js';
import { tcpConnector } from '../../src/master/tcp.js';
import type { FileTransferRecord, StationFile, StationFileOptions } from '../../src/station/file-service.js';
import { createStation, type StationOptions } from '../../src/station/station.js';
import { makePki } from '../transport/helpers.js';
import { pair } from './helpers.js';

const bytes = (n: number, seed = 1): Uint8Array => {
  const b = new Uint8Array(n);
  let x = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    b[i] = x & 0xff;
  }
  return b;
};

const SIZES: Array<[string, number]> = [['0 octets', 0], ['1 segment', 200], ['many segments', 20_000], ['many sections', 150_000]];

function fileStation(files: Record<number, Uint8Array>, extra: Partial<StationFileOptions> = {}) {
  const records: FileTransferRecord[] = [];
  const uploads = new Map<number, Uint8Array>();
  const opts: StationFileOptions = {
    commonAddresses: [1],
    sectionSize: 50_000,
    provider: {
      list: (ca) => (ca === 1 ? Object.entries(files).map(([ioa, d]): StationFile => ({ ca: 1, ioa: Number(ioa), length: d.length })) : []),
      read: (r) => files[r.file.ioa],
    },
    receiver: { accept: () => true, write: (r, d) => void uploads.set(r.ioa, new Uint8Array(d)) },
    onTransfer: (r) => void records.push(r),
    ...extra,
  };
  return { opts, records, uploads, station: { endOfInitialization: 'none', files: opts } satisfies StationOptions };
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('TCP: directory, then every size class downloaded and uploaded byte-identical', async () => {
  const files: Record<number, Uint8Array> = {};
  SIZES.forEach(([, n], i) => (files[100 + i] = bytes(n, i + 1)));
  const fs = fileStation(files);
  const p = await pair(fs.station);
  try {
    const dir = await p.master.listFiles(1);
    assert.deepEqual(dir.map((f) => [f.ioa, f.length, f.nof]), SIZES.map(([, n], i) => [100 + i, n, 1]));
    for (const [i, [label, n]] of SIZES.entries()) {
      const seen: FileProgress[] = [];
      const r = await p.master.downloadFile(1, 100 + i, { onProgress: (x) => seen.push(x) });
      assert.deepEqual(r.data, files[100 + i], `download ${label}`);
      assert.equal(r.length, n);
      assert.equal(r.checksum, fileChecksum(files[100 + i]));
      assert.equal(r.sections, Math.ceil(n / 50_000));
      if (n > 0) assert.equal(seen[seen.length - 1].transferred, n);
      const up = bytes(n, 50 + i);
      const u = await p.master.uploadFile(1, 200 + i, up, { sectionSize: 40_000 });
      assert.equal(u.sections, Math.ceil(n / 40_000));
      await until(() => fs.uploads.has(200 + i));
      assert.deepEqual(fs.uploads.get(200 + i), up, `upload ${label}`);
    }
    assert.equal(fs.records.filter((r) => r.outcome === 'completed').length, SIZES.length * 2);
  } finally {
    await p.close();
  }
});

test('mutual TLS: a many-section file downloaded and uploaded byte-identical', async () => {
  const pki = await makePki();
  const data = bytes(120_000, 7);
  const fs = fileStation({ 9: data });
  const station = createStation(fs.station);
  const l = await station.listen({ host: '127.0.0.1', port: 0, tls: { cert: pki.leaves.server.cert, key: pki.leaves.server.key, ca: pki.ca.cert, crl: [pki.crl] } });
  const master = new ControllingStation({ connector: tcpConnector('127.0.0.1', l.port, { tls: { cert: pki.leaves.client.cert, key: pki.leaves.client.key, ca: pki.ca.cert } }), reconnect: false });
  try {
    await master.connect();
    const r = await master.downloadFile(1, 9);
    assert.deepEqual(r.data, data);
    const up = bytes(99_999, 8);
    await master.uploadFile(1, 10, up, { sectionSize: 30_000 });
    await until(() => fs.uploads.has(10));
    assert.deepEqual(fs.uploads.get(10), up);
  } finally {
    await master.close();
    await station.close();
  }
});

test('the largest file LOF allows (16 777 215 octets) both ways over TCP', async () => {
  const data = bytes(MAX_FILE_LENGTH, 3);
  const fs = fileStation({ 1: data }, { sectionSize: 65_536 });
  // a wide window (k 256, w 192) keeps the 71 000 segments each way from waiting on acknowledgements
  const p = await pair({ ...fs.station, link: { k: 256, w: 192 } }, { params: { k: 256, w: 192 } });
  try {
    const t0 = Date.now();
    const r = await p.master.downloadFile(1, 1, { timeout: 60_000 });
    const t1 = Date.now();
    assert.equal(r.length, MAX_FILE_LENGTH);
    assert.ok(r.sections <= 255);
    assert.equal(Buffer.compare(Buffer.from(r.data), Buffer.from(data)), 0);
    await p.master.uploadFile(1, 2, data, { timeout: 60_000 });
    await until(() => fs.uploads.has(2), 60_000);
    const t2 = Date.now();
    assert.equal(Buffer.compare(Buffer.from(fs.uploads.get(2)!), Buffer.from(data)), 0);
    // informative: BENCHMARKS.md quotes these
    console.log(`# largest file: download ${t1 - t0} ms, upload ${t2 - t1} ms`);
  } finally {
    await p.close();
  }
});

test('interrupted: the master disconnects mid-download; the station frees the file (E_FILE_DISCONNECTED) and a new master restarts the download', async () => {
  const data = bytes(400_000, 4);
  const fs = fileStation({ 5: data });
  const p = await pair(fs.station);
  try {
    let closing: Promise<void> | undefined;
    const dl = p.master.downloadFile(1, 5, { onProgress: (x) => { if (x.transferred > 60_000 && !closing) closing = p.master.close(); } });
    const err = await dl.then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof FileTransferError, String(err));
    assert.equal(err.code, 'E_FILE_DISCONNECTED');
    await closing;
    await until(() => fs.records.length === 1);
    assert.equal(fs.records[0].code, 'E_FILE_DISCONNECTED');
    assert.equal(p.station.files!.active, 0);
    const m2 = new ControllingStation({ connector: tcpConnector('127.0.0.1', p.port), reconnect: false });
    await m2.connect();
    const r = await m2.downloadFile(1, 5);
    assert.deepEqual(r.data, data);
    await m2.close();
  } finally {
    await p.close();
  }
});

test('interrupted: the station drops the connection mid-upload; the master rejects with E_FILE_DISCONNECTED, nothing is written', async () => {
  const fs = fileStation({});
  const p = await pair(fs.station);
  try {
    const up = p.master.uploadFile(1, 3, bytes(300_000), { onProgress: (x) => { if (x.transferred > 50_000) for (const s of p.station.sessions()) s.close('test drop'); } });
    const err = await up.then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof FileTransferError);
    assert.equal(err.code, 'E_FILE_DISCONNECTED');
    await until(() => fs.records.length === 1);
    assert.equal(fs.uploads.size, 0);
  } finally {
    await p.close();
  }
});

test('cancelled with an AbortSignal: E_ABORTED; the station sees the deactivation and the file can be fetched again', async () => {
  const data = bytes(300_000, 5);
  const fs = fileStation({ 6: data });
  const p = await pair(fs.station);
  try {
    const ac = new AbortController();
    const dl = p.master.downloadFile(1, 6, { signal: ac.signal, onProgress: (x) => { if (x.transferred > 30_000) ac.abort(); } });
    const err = await dl.then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof FileTransferError);
    assert.equal(err.code, 'E_ABORTED');
    await until(() => fs.records.length === 1);
    assert.equal(fs.records[0].code, 'E_FILE_DEACTIVATED');
    const r = await p.master.downloadFile(1, 6);
    assert.deepEqual(r.data, data);
    const ac2 = new AbortController();
    const up = p.master.uploadFile(1, 7, data, { signal: ac2.signal, onProgress: (x) => { if (x.transferred > 30_000) ac2.abort(); } });
    assert.equal((await up.then(() => undefined, (e: unknown) => e) as FileTransferError).code, 'E_ABORTED');
    await until(() => fs.records.length === 3);
    assert.equal(fs.records[2].code, 'E_FILE_DEACTIVATED');
    assert.equal(fs.uploads.size, 0);
  } finally {
    await p.close();
  }
});

/** A TCP proxy that flips one octet in F_SG_NA_1 frames going one way (`budget` frames, -1 = all). */
async function corruptingProxy(target: number, direction: 'to-master' | 'to-station', budget: number): Promise<{ port: number; corrupted: () => number; close(): Promise<void> }> {
  let corrupted = 0;
  const sockets = new Set<net.Socket>();
  const framer = (out: net.Socket, corrupt: boolean) => {
    let buf = Buffer.alloc(0);
    return (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf[1]) {
        const frame = Buffer.from(buf.subarray(0, 2 + buf[1]));
        buf = buf.subarray(2 + buf[1]);
        if (corrupt && frame.length > 20 && frame[6] === 125 && (budget < 0 || corrupted < budget)) {
          frame[frame.length - 1] ^= 0x5a;
          corrupted++;
        }
        out.write(frame);
      }
    };
  };
  const server = net.createServer((c) => {
    const up = net.connect(target, '127.0.0.1');
    sockets.add(c).add(up);
    c.on('data', framer(up, direction === 'to-station'));
    up.on('data', framer(c, direction === 'to-master'));
    const end = (): void => { c.destroy(); up.destroy(); };
    c.on('close', end).on('error', end);
    up.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    corrupted: () => corrupted,
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}

for (const direction of ['to-master', 'to-station'] as const) {
  test(`injected checksum error (${direction === 'to-master' ? 'download' : 'upload'}): the section is acknowledged negatively, repeated, and the file arrives intact; a line that corrupts every segment fails with E_FILE_CHECKSUM`, async () => {
    const data = bytes(10_000, 9);
    const fs = fileStation({ 8: data }, { sectionSize: 4000 });
    const station = createStation(fs.station);
    const l = await station.listen({ host: '127.0.0.1', port: 0 });
    for (const budget of [1, -1]) {
      const proxy = await corruptingProxy(l.port, direction, budget);
      const master = new ControllingStation({ connector: tcpConnector('127.0.0.1', proxy.port), reconnect: false });
      try {
        await master.connect();
        const run = direction === 'to-master' ? master.downloadFile(1, 8, { maxRetries: 2 }).then((r) => r.data) : master.uploadFile(1, 20 + (budget < 0 ? 1 : 0), data, { sectionSize: 4000, maxRetries: 2 }).then(() => undefined);
        if (budget === 1) {
          const got = await run;
          if (direction === 'to-master') assert.deepEqual(got, data);
          else {
            await until(() => fs.uploads.has(20));
            assert.deepEqual(fs.uploads.get(20), data);
          }
          assert.equal(proxy.corrupted(), 1);
        } else {
          const err = await run.then(() => undefined, (e: unknown) => e);
          assert.ok(err instanceof FileTransferError, String(err));
          assert.equal(err.code, 'E_FILE_CHECKSUM');
          assert.ok(!fs.uploads.has(21));
        }
      } finally {
        await master.close();
        await proxy.close();
      }
    }
    await station.close();
  });
}

test('two masters at once: different files in parallel; the file one master transfers is refused to the other until it is done', async () => {
  const a = bytes(200_000, 11);
  const b = bytes(150_000, 12);
  const fs = fileStation({ 1: a, 2: b });
  const p = await pair(fs.station);
  const m2 = new ControllingStation({ connector: tcpConnector('127.0.0.1', p.port), reconnect: false });
  try {
    await m2.connect();
    let refused: unknown;
    const first = p.master.downloadFile(1, 1, {
      onProgress: (x) => {
        if (x.transferred > 10_000 && refused === undefined) refused = m2.downloadFile(1, 1).then(() => 'downloaded', (e: unknown) => e);
      },
    });
    const second = m2.uploadFile(1, 3, b);
    const [ra] = await Promise.all([first, second]);
    assert.deepEqual(ra.data, a);
    await until(() => fs.uploads.has(3));
    assert.deepEqual(fs.uploads.get(3), b);
    const e = await (refused as Promise<unknown>);
    assert.ok(e instanceof FileTransferError, String(e));
    assert.equal(e.code, 'E_FILE_REFUSED');
    const [x, y] = await Promise.all([p.master.downloadFile(1, 2), m2.downloadFile(1, 1)]);
    assert.deepEqual(x.data, b);
    assert.deepEqual(y.data, a);
  } finally {
    await m2.close();
    await p.close();
  }
});

test('a station without files refuses: listFiles and downloadFile reject with E_FILE_REFUSED (unknown type)', async () => {
  const p = await pair({ endOfInitialization: 'none', commonAddresses: [1] });
  try {
    await assert.rejects(p.master.listFiles(1), (e: unknown) => e instanceof FileTransferError && e.code === 'E_FILE_REFUSED');
    await assert.rejects(p.master.downloadFile(1, 1), (e: unknown) => e instanceof FileTransferError && e.code === 'E_FILE_REFUSED' && /unknown type/.test(e.message));
    await assert.rejects(p.master.uploadFile(1, 1, bytes(10)), (e: unknown) => e instanceof FileTransferError && e.code === 'E_FILE_REFUSED');
  } finally {
    await p.close();
  }
});

test('segments fill the ASDU limit of the configured field widths: 236 octets with 104 widths, 240 with COT 1 / CA 1 / IOA 1', async () => {
  for (const [codec, size] of [[undefined, 236], [{ cotSize: 1 as const, caSize: 1 as const, ioaSize: 1 as const }, 240]] as const) {
    const data = bytes(1000, 2);
    const fs = fileStation({ 9: data });
    const p = await pair({ ...fs.station, ...(codec ? { codec } : {}) }, codec ? { codec } : {});
    try {
      const sizes: number[] = [];
      p.master.on('asdu', (a) => {
        if (a.typeId === 125) sizes.push((a.objects[0].segment as Uint8Array).length);
      });
      const r = await p.master.downloadFile(1, 9);
      assert.deepEqual(r.data, data);
      assert.equal(Math.max(...sizes), size);
      await p.master.uploadFile(1, 10, data);
      await until(() => fs.uploads.has(10));
      assert.deepEqual(fs.uploads.get(10), data);
    } finally {
      await p.close();
    }
  }
});
