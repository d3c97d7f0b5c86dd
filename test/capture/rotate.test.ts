/**
 * Raw capture rotation (`analyze --interface --rotate`): a pcap stream cut into pcapng files by
 * size or by capture time, on packet boundaries, whatever the chunking; every packet in exactly
 * one file, in order, with its time and length; each file readable alone; the last block of each
 * an interface statistics block with the counters. And the small parsers of the live capture.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultBpf, parseCaptureStats } from '../../src/capture/live.js';
import { CaptureReader } from '../../src/capture/reader.js';
import { PcapRotator, parseRotateSpec, RotateError } from '../../src/capture/rotate.js';
import { buildTcpPacket, type PacketToWrite, writePcap } from '../../src/capture/writer.js';

interface Seen {
  tsSec: number;
  tsNsec: number;
  len: number;
  origLen: number;
  first: number;
}

function packets(n: number, stepMs: number): PacketToWrite[] {
  const out: PacketToWrite[] = [];
  for (let i = 0; i < n; i++) {
    const t = 1_700_000_000_000 + i * stepMs;
    out.push({ data: buildTcpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 2404, seq: i * 100, payload: new Uint8Array(10 + (i % 90)).fill(i & 255) }), tsSec: Math.floor(t / 1000), tsNsec: (t % 1000) * 1e6 + (i % 1000) * 1000, origLen: 64 + 10 + (i % 90) + 100 });
  }
  return out;
}

function read(file: Uint8Array): { seen: Seen[]; issues: string[]; format: string | undefined } {
  const seen: Seen[] = [];
  const issues: string[] = [];
  let format: string | undefined;
  const r = new CaptureReader({ packet: (p) => seen.push({ tsSec: p.tsSec, tsNsec: p.tsNsec, len: p.data.length, origLen: p.origLen, first: p.data[p.data.length - 1] }), issue: (i) => issues.push(i.code), format: (f) => (format = f) });
  r.push(file);
  r.end();
  return { seen, issues, format };
}

function rotate(stream: Uint8Array, opts: { maxBytes?: number; maxMs?: number }, chunk: number): { files: Uint8Array[]; starts: number[] } {
  const files: Uint8Array[] = [];
  const starts: number[] = [];
  const rot = new PcapRotator(
    {
      open: (n, ms) => {
        assert.equal(n, files.length + 1);
        starts.push(ms);
        const parts: Uint8Array[] = [];
        files.push(new Uint8Array(0));
        const idx = files.length - 1;
        return { write: (b) => parts.push(b.slice()), close: () => (files[idx] = Buffer.concat(parts)) };
      },
    },
    { ...opts, interfaceName: 'eth9', stats: () => ({ receivedByFilter: 500, droppedByKernel: 7 }) },
  );
  for (let i = 0; i < stream.length; i += chunk) rot.push(stream.subarray(i, i + chunk));
  rot.end();
  return { files, starts };
}

const expected = (ps: PacketToWrite[]): Seen[] => ps.map((p) => ({ tsSec: p.tsSec!, tsNsec: Math.floor(p.tsNsec! / 1000) * 1000, len: p.data.length, origLen: p.origLen!, first: p.data[p.data.length - 1] }));

test('rotation by size: files at most the size, packets in order across them, any chunking', () => {
  const ps = packets(400, 10);
  const stream = writePcap(ps);
  for (const chunk of [1, 7, 100, 65536]) {
    const { files } = rotate(stream, { maxBytes: 4000 }, chunk);
    assert.ok(files.length > 5, `${files.length} files`);
    const all: Seen[] = [];
    for (const f of files) {
      assert.ok(f.length <= 4000, `${f.length} octets`);
      const r = read(f);
      assert.equal(r.format, 'pcapng');
      assert.deepEqual(r.issues, []);
      assert.ok(r.seen.length > 0);
      all.push(...r.seen);
      // the last block is an interface statistics block (type 5) with isb_osdrop 7
      const last = Buffer.from(f);
      const lastLen = last.readUInt32LE(last.length - 4);
      const isb = last.subarray(last.length - lastLen);
      assert.equal(isb.readUInt32LE(0), 5);
      assert.ok(isb.includes(Buffer.from([7, 0, 8, 0, 7, 0, 0, 0, 0, 0, 0, 0])), 'isb_osdrop = 7');
    }
    assert.deepEqual(all, expected(ps));
  }
});

test('rotation by capture time: a file holds less than the period; nanosecond streams keep their digits', () => {
  const ps = packets(300, 100); // 30 s of capture
  const { files, starts } = rotate(writePcap(ps, { nanos: true }), { maxMs: 5000 }, 999);
  assert.equal(files.length, 6);
  files.forEach((f, i) => {
    const r = read(f);
    const ms = r.seen.map((s) => s.tsSec * 1000 + s.tsNsec / 1e6);
    assert.ok(Math.max(...ms) - Math.min(...ms) < 5000);
    assert.equal(Math.round(Math.min(...ms)), Math.round(starts[i]));
    assert.equal(r.seen.length, 50);
  });
  // nanosecond resolution kept: the µs digits written above survive
  const all = files.flatMap((f) => read(f).seen);
  assert.deepEqual(all.map((s) => s.tsNsec), ps.map((p) => p.tsNsec));
});

test('rotation: a stream that is not pcap is refused with a typed error', () => {
  const rot = new PcapRotator({ open: () => ({ write: () => {}, close: () => {} }) }, { maxBytes: 1e6 });
  assert.throws(
    () => rot.push(new Uint8Array(64).fill(0x41)),
    (e: unknown) => e instanceof RotateError && e.code === 'E_ROTATE_FORMAT',
  );
  const bad = new PcapRotator({ open: () => ({ write: () => {}, close: () => {} }) }, { maxBytes: 1e6 });
  const hdr = writePcap([]);
  const rec = new Uint8Array(16);
  new DataView(rec.buffer).setUint32(8, 0x7fffffff, true);
  assert.throws(
    () => bad.push(Buffer.concat([hdr, rec])),
    (e: unknown) => e instanceof RotateError && e.code === 'E_ROTATE_RECORD',
  );
});

test('rotate specs, tcpdump counters, default capture filter', () => {
  assert.deepEqual(parseRotateSpec('100M'), { maxBytes: 100e6 });
  assert.deepEqual(parseRotateSpec('1.5G'), { maxBytes: 1.5e9 });
  assert.deepEqual(parseRotateSpec('512k'), { maxBytes: 512e3 });
  assert.deepEqual(parseRotateSpec('30s'), { maxMs: 30e3 });
  assert.deepEqual(parseRotateSpec('15min'), { maxMs: 900e3 });
  assert.deepEqual(parseRotateSpec('1h'), { maxMs: 3600e3 });
  assert.deepEqual(parseRotateSpec('2d'), { maxMs: 172800e3 });
  for (const bad of ['', '5', '0s', 'abc', '10x', '-1h']) assert.equal(parseRotateSpec(bad), undefined, bad);

  const st = {};
  assert.equal(parseCaptureStats('tcpdump: 12 packets captured, 15 packets received by filter, 3 packets dropped by kernel', st), true);
  assert.deepEqual(st, { captured: 12, receivedByFilter: 15, droppedByKernel: 3 });
  parseCaptureStats('20 packets captured\n21 packets received by filter\n1 packet dropped by kernel\n4 packets dropped by interface\n', st);
  assert.deepEqual(st, { captured: 20, receivedByFilter: 21, droppedByKernel: 1, droppedByInterface: 4 });
  assert.equal(parseCaptureStats('listening on eth0, link-type EN10MB', {}), false);

  assert.equal(defaultBpf([2404, 2405], [19998]), '(tcp and (port 2404 or port 2405 or port 19998)) or (ip[6:2] & 0x1fff != 0) or (vlan and ((tcp and (port 2404 or port 2405 or port 19998)) or (ip[6:2] & 0x1fff != 0)))');
});
