/**
 * Station file transfer at the ASDU level (fake links, virtual clock): the download and upload
 * procedures step by step, and every error the station must detect and answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Asdu } from '../../src/codec/asdu.js';
import {
  ackAsdu, Afq, callAsdu, callDirectoryAsdu, fileChecksum, fileReadyAsdu, lastAsdu, Lsq, maxSegmentSize, Scq, sectionReadyAsdu, segmentAsdu,
} from '../../src/codec/file-transfer.js';
import { IEC104_OPTIONS } from '../../src/codec/options.js';
import type { FileTransferRecord, StationFile, StationFileOptions } from '../../src/station/file-service.js';
import { folderFiles, FolderFilesError } from '../../src/station/file-folder.js';
import { fakeStation, type FakeLink } from './helpers.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const bytes = (n: number, seed = 1): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed * 13 + (i >> 8)) & 0xff);
const A = { ca: 1, ioa: 500, nof: 1 };
const SEG = maxSegmentSize(IEC104_OPTIONS);

function memoryFiles(files: Record<number, Uint8Array>, extra: Partial<StationFileOptions> = {}): { opts: StationFileOptions; records: FileTransferRecord[]; uploads: Map<number, Uint8Array> } {
  const records: FileTransferRecord[] = [];
  const uploads = new Map<number, Uint8Array>();
  const opts: StationFileOptions = {
    commonAddresses: [1],
    provider: {
      list: (ca) => (ca === 1 ? Object.entries(files).map(([ioa, d]): StationFile => ({ ca: 1, ioa: Number(ioa), length: d.length, name: `f${ioa}`, time: Date.UTC(2026, 0, 1) })) : []),
      read: (r) => files[r.file.ioa],
    },
    receiver: {
      accept: (r) => (r.ioa === 666 ? 'IOA 666 is read-only' : true),
      write: (r, d) => void uploads.set(r.ioa, new Uint8Array(d)),
    },
    onTransfer: (r) => void records.push(r),
    ...extra,
  };
  return { opts, records, uploads };
}

/** ASDUs sent (and acknowledged) until one satisfies `pred` (real file I/O takes a few turns). */
async function until(m: FakeLink, pred: (a: Asdu) => boolean): Promise<Asdu[]> {
  const out: Asdu[] = [];
  for (let i = 0; i < 500 && !out.some(pred); i++) {
    await new Promise((r) => setTimeout(r, i < 10 ? 0 : 5));
    out.push(...m.takeAck());
  }
  return out;
}

const kind = (a: Asdu): string => `${a.typeId}${a.negative ? '-' : ''}`;

/** Drive a download as a master would; returns the octets and the ASDU trace. */
async function download(m: FakeLink, addr = A): Promise<{ data: Uint8Array; trace: string[]; sections: number }> {
  const trace: string[] = [];
  const parts: Uint8Array[] = [];
  m.deliver(callAsdu(addr, Scq.SELECT_FILE));
  let out = await until(m, (a) => a.typeId === 120);
  trace.push(...out.map(kind));
  const fr = out.find((a) => a.typeId === 120)!;
  assert.equal(fr.objects[0].negative, false, 'file ready positive');
  const lof = Number(fr.objects[0].length);
  m.deliver(callAsdu(addr, Scq.REQUEST_FILE));
  let sections = 0;
  for (;;) {
    out = m.takeAck();
    trace.push(...out.map(kind));
    const sr = out.find((a) => a.typeId === 121);
    const ls = out.find((a) => a.typeId === 123 && a.objects[0].lsq === Lsq.FILE_TRANSFER);
    if (ls) {
      const all = concat(parts);
      assert.equal(all.length, lof);
      assert.equal(ls.objects[0].checksum, fileChecksum(all));
      m.deliver(ackAsdu(addr, Number(ls.objects[0].section), Afq.FILE_POSITIVE));
      return { data: all, trace, sections };
    }
    assert.ok(sr, `section ready expected, got ${out.map(kind).join(',')}`);
    const nos = Number(sr.objects[0].section);
    m.deliver(callAsdu(addr, Scq.REQUEST_SECTION, nos));
    out = m.takeAck();
    trace.push(...out.map(kind));
    const segs = out.filter((a) => a.typeId === 125).map((a) => a.objects[0].segment as Uint8Array);
    const last = out.find((a) => a.typeId === 123)!;
    const sec = concat(segs);
    assert.equal(sec.length, Number(sr.objects[0].length));
    assert.equal(last.objects[0].checksum, fileChecksum(sec));
    assert.equal(last.objects[0].lsq, Lsq.SECTION_TRANSFER);
    parts.push(sec);
    sections++;
    m.deliver(ackAsdu(addr, nos, Afq.SECTION_POSITIVE));
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Drive an upload of `data` in sections of `sectionSize`; `mutate` may change the segments of a section. */
async function upload(m: FakeLink, data: Uint8Array, sectionSize: number, addr = { ...A, ioa: 700 }): Promise<Asdu[]> {
  m.deliver(fileReadyAsdu(addr, data.length));
  const call = await until(m, (a) => a.typeId === 122);
  assert.deepEqual(call.map((a) => [a.typeId, a.objects[0].action]), [[122, Scq.REQUEST_FILE]]);
  let nos = 0;
  for (let off = 0; off < data.length; off += sectionSize) {
    nos++;
    const sec = data.subarray(off, Math.min(data.length, off + sectionSize));
    m.deliver(sectionReadyAsdu(addr, nos, sec.length));
    assert.deepEqual(m.takeAck().map((a) => [a.typeId, a.objects[0].action, a.objects[0].section]), [[122, Scq.REQUEST_SECTION, nos]]);
    for (let s = 0; s < sec.length; s += SEG) m.deliver(segmentAsdu(addr, nos, sec.subarray(s, s + SEG)));
    m.deliver(lastAsdu(addr, nos, Lsq.SECTION_TRANSFER, fileChecksum(sec)));
    assert.deepEqual(m.takeAck().map((a) => [a.typeId, a.objects[0].ack]), [[124, Afq.SECTION_POSITIVE]]);
  }
  m.deliver(lastAsdu(addr, nos, Lsq.FILE_TRANSFER, fileChecksum(data)));
  return until(m, (a) => a.typeId === 124);
}

test('call directory: F_DR_TA_1 (COT 5) lists every file with NOF, length, time; LFD on the last', async () => {
  const { opts } = memoryFiles({ 500: bytes(10), 501: bytes(0) });
  const h = fakeStation({ files: opts });
  const m = h.started();
  m.deliver(callDirectoryAsdu(1));
  await tick();
  const out = m.takeAck();
  assert.equal(out.length, 1);
  assert.equal(out[0].typeId, 126);
  assert.equal(out[0].cot, 5);
  assert.deepEqual(out[0].objects.map((o) => [o.ioa, o.file, o.length, o.lfd]), [[500, 1, 10, false], [501, 1, 0, true]]);
  assert.equal((out[0].objects[0].time as { year: number }).year, 26);
});

test('a large directory is split over several F_DR_TA_1 ASDUs that each fit the ASDU limit', async () => {
  const files: Record<number, Uint8Array> = {};
  for (let i = 0; i < 30; i++) files[1000 + i] = bytes(i);
  const h = fakeStation({ files: memoryFiles(files).opts });
  const m = h.started();
  m.deliver(callDirectoryAsdu(1));
  await tick();
  const out = m.takeAck();
  assert.ok(out.length >= 2);
  assert.equal(out.flatMap((a) => a.objects).length, 30);
  assert.equal(out.flatMap((a) => a.objects).filter((o) => o.lfd).length, 1);
});

for (const [label, size, sectionSize] of [
  ['0 octets', 0, 65536],
  ['1 segment', 100, 65536],
  ['many segments', 5000, 65536],
  ['many sections', 3000, 256],
] as const) {
  test(`download ${label}: select, file ready, sections, segments, checksums, acknowledgements`, async () => {
    const data = bytes(size);
    const { opts, records } = memoryFiles({ 500: data }, { sectionSize });
    const h = fakeStation({ files: opts });
    const m = h.started();
    const r = await download(m);
    assert.deepEqual(r.data, data);
    assert.equal(r.sections, size === 0 ? 0 : Math.ceil(size / sectionSize));
    assert.equal(records.length, 1);
    assert.equal(records[0].outcome, 'completed');
    assert.equal(records[0].direction, 'download');
    assert.equal(records[0].length, size);
    assert.equal(h.station.files!.active, 0);
  });
}

test('download: a file that would need more than 255 sections gets larger sections', async () => {
  const data = bytes(300 * 10);
  const h = fakeStation({ files: memoryFiles({ 500: data }, { sectionSize: 10 }).opts });
  const m = h.started();
  const r = await download(m);
  assert.deepEqual(r.data, data);
  assert.ok(r.sections <= 255);
});

test('download: unknown file and wrong NOF answer a negative file ready; unknown CA a P/N=1 mirror with COT 46', async () => {
  const h = fakeStation({ files: memoryFiles({ 500: bytes(5) }).opts });
  const m = h.started();
  m.deliver(callAsdu({ ...A, ioa: 501 }, Scq.SELECT_FILE));
  await tick();
  m.deliver(callAsdu({ ...A, nof: 2 }, Scq.SELECT_FILE));
  await tick();
  m.deliver(callAsdu({ ...A, ca: 9 }, Scq.SELECT_FILE));
  await tick();
  const out = m.takeAck();
  assert.deepEqual(out.map((a) => [a.typeId, a.cot, a.negative, a.objects[0].negative]), [[120, 13, false, true], [120, 13, false, true], [122, 46, true, undefined]]);
});

test('download: a negatively acknowledged section (checksum) is offered again; too many repeats end the transfer with E_FILE_CHECKSUM', async () => {
  const data = bytes(600);
  const { opts, records } = memoryFiles({ 500: data }, { maxRetries: 1 });
  const h = fakeStation({ files: opts });
  const m = h.started();
  m.deliver(callAsdu(A, Scq.SELECT_FILE));
  await tick();
  m.takeAck();
  m.deliver(callAsdu(A, Scq.REQUEST_FILE));
  m.takeAck();
  m.deliver(callAsdu(A, Scq.REQUEST_SECTION, 1));
  m.takeAck();
  m.deliver(ackAsdu(A, 1, Afq.SECTION_NEGATIVE, 2));
  const again = m.takeAck();
  assert.deepEqual(again.map(kind), ['121'], 'section ready again');
  m.deliver(callAsdu(A, Scq.REQUEST_SECTION, 1));
  assert.ok(m.takeAck().some((a) => a.typeId === 125));
  m.deliver(ackAsdu(A, 1, Afq.SECTION_NEGATIVE, 2));
  const end = m.takeAck();
  assert.deepEqual(end.map((a) => [a.typeId, a.objects[0].lsq]), [[123, Lsq.FILE_TRANSFER_DEACTIVATED]]);
  assert.equal(records[0].code, 'E_FILE_CHECKSUM');
  assert.equal(h.station.files!.active, 0);
});

test('download: calling a section that is not ready is refused (P/N=1, error 5) and the transfer goes on', async () => {
  const data = bytes(50);
  const h = fakeStation({ files: memoryFiles({ 500: data }).opts });
  const m = h.started();
  m.deliver(callAsdu(A, Scq.SELECT_FILE));
  await tick();
  m.deliver(callAsdu(A, Scq.REQUEST_FILE));
  m.takeAck();
  m.deliver(callAsdu(A, Scq.REQUEST_SECTION, 2));
  const neg = m.takeAck();
  assert.deepEqual(neg.map((a) => [a.typeId, a.negative, a.objects[0].error]), [[122, true, 5]]);
  m.deliver(callAsdu(A, Scq.REQUEST_SECTION, 1));
  const segs = m.takeAck();
  assert.equal(segs.filter((a) => a.typeId === 125).length, 1);
});

test('download: segments leave as the window allows (k=2) and wait behind pending events', async () => {
  const data = bytes(SEG * 6 + 3);
  const h = fakeStation({ files: memoryFiles({ 500: data }).opts, points: [{ ca: 1, ioa: 10, type: 1, value: false }] }, 2);
  const m = h.started();
  m.deliver(callAsdu(A, Scq.SELECT_FILE));
  await tick();
  m.deliver(callAsdu(A, Scq.REQUEST_FILE));
  m.takeAck();
  m.deliver(callAsdu(A, Scq.REQUEST_SECTION, 1));
  assert.equal(m.take().length, 2, 'window of 2');
  h.station.update(1, 10, true);
  m.ack();
  const next = m.take();
  // the segment already queued when the event was raised may go first; every later one waits
  assert.ok(next.findIndex((a) => a.typeId === 1) <= 1, 'the event goes before the segments queued after it');
  const rest = m.takeAck();
  assert.equal([...next, ...rest].filter((a) => a.typeId === 125).length, 5);
});

test('upload: file ready, call file, section ready, call section, segments, acknowledgements; the receiver gets the verified octets', async () => {
  for (const [size, sec] of [[0, 100], [1, 100], [SEG, 1000], [SEG * 5 + 7, 1000], [4000, 300]] as const) {
    const { opts, uploads, records } = memoryFiles({});
    const h = fakeStation({ files: opts });
    const m = h.started();
    const data = bytes(size, size);
    const end = await upload(m, data, sec);
    assert.deepEqual(end.map((a) => [a.typeId, a.objects[0].ack]), [[124, Afq.FILE_POSITIVE]], `size ${size}`);
    assert.deepEqual(uploads.get(700), data);
    assert.equal(records[0].outcome, 'completed');
    assert.equal(records[0].sections, Math.ceil(size / sec));
  }
});

test('upload refused by the receiver, or without a receiver: negative file ready', async () => {
  const h = fakeStation({ files: memoryFiles({}).opts });
  const m = h.started();
  m.deliver(fileReadyAsdu({ ...A, ioa: 666 }, 10));
  await tick();
  assert.deepEqual(m.takeAck().map((a) => [a.typeId, a.objects[0].negative]), [[120, true]]);
  const h2 = fakeStation({ files: { ...memoryFiles({}).opts, receiver: undefined } });
  const m2 = h2.started();
  m2.deliver(fileReadyAsdu({ ...A, ioa: 700 }, 10));
  await tick();
  assert.deepEqual(m2.takeAck().map((a) => [a.typeId, a.objects[0].negative]), [[120, true]]);
});

/** Start an upload of one section and return the address. */
async function startSection(m: FakeLink, length: number, sectionLength = length): Promise<typeof A> {
  const addr = { ...A, ioa: 700 };
  m.deliver(fileReadyAsdu(addr, length));
  await tick();
  m.takeAck();
  m.deliver(sectionReadyAsdu(addr, 1, sectionLength));
  m.takeAck();
  return addr;
}

test('access roles: a monitor-role connection may download but not upload (negative file ready)', async () => {
  const { opts, uploads } = memoryFiles({ 500: bytes(10) });
  const h = fakeStation({ files: opts, defaultRole: 'monitor' });
  const m = h.started();
  const r = await download(m);
  assert.equal(r.data.length, 10);
  m.deliver(fileReadyAsdu({ ...A, ioa: 700 }, 10));
  await tick();
  assert.deepEqual(m.takeAck().map((a) => [a.typeId, a.objects[0].negative]), [[120, true]]);
  assert.equal(uploads.size, 0);
  assert.ok(h.logs.some((l) => /role monitor may not upload/.test(String(l.msg))));
});

test('upload: a corrupted segment (checksum mismatch) is acknowledged negatively with error 2; the repeated section completes the file', async () => {
  const { opts, uploads } = memoryFiles({});
  const h = fakeStation({ files: opts });
  const m = h.started();
  const data = bytes(300);
  const addr = await startSection(m, 300);
  const bad = new Uint8Array(data.subarray(0, SEG));
  bad[5] ^= 0x10;
  m.deliver(segmentAsdu(addr, 1, bad));
  m.deliver(segmentAsdu(addr, 1, data.subarray(SEG)));
  m.deliver(lastAsdu(addr, 1, Lsq.SECTION_TRANSFER, fileChecksum(data)));
  assert.deepEqual(m.takeAck().map((a) => [a.typeId, a.objects[0].ack, a.objects[0].error]), [[124, Afq.SECTION_NEGATIVE, 2]]);
  m.deliver(sectionReadyAsdu(addr, 1, 300));
  m.takeAck();
  m.deliver(segmentAsdu(addr, 1, data.subarray(0, SEG)));
  m.deliver(segmentAsdu(addr, 1, data.subarray(SEG)));
  m.deliver(lastAsdu(addr, 1, Lsq.SECTION_TRANSFER, fileChecksum(data)));
  assert.deepEqual(m.takeAck().map((a) => a.objects[0].ack), [Afq.SECTION_POSITIVE]);
  m.deliver(lastAsdu(addr, 1, Lsq.FILE_TRANSFER, fileChecksum(data)));
  await tick();
  assert.deepEqual(m.takeAck().map((a) => a.objects[0].ack), [Afq.FILE_POSITIVE]);
  assert.deepEqual(uploads.get(700), data);
});

test('upload: duplicated segment, missing segment, segment of another section, wrong file checksum — each detected and answered negatively', async () => {
  const data = bytes(300);
  const cases: Array<[string, (m: FakeLink, addr: typeof A) => void, number]> = [
    ['duplicated', (m, addr) => { m.deliver(segmentAsdu(addr, 1, data.subarray(0, SEG))); m.deliver(segmentAsdu(addr, 1, data.subarray(0, SEG))); m.deliver(segmentAsdu(addr, 1, data.subarray(SEG))); }, 0],
    ['missing', (m, addr) => { m.deliver(segmentAsdu(addr, 1, data.subarray(SEG))); }, 0],
    ['other section', (m, addr) => { m.deliver(segmentAsdu(addr, 2, data.subarray(0, SEG))); m.deliver(segmentAsdu(addr, 1, data.subarray(SEG))); }, 5],
  ];
  for (const [label, send, error] of cases) {
    const h = fakeStation({ files: memoryFiles({}).opts });
    const m = h.started();
    const addr = await startSection(m, 300);
    send(m, addr);
    m.deliver(lastAsdu(addr, 1, Lsq.SECTION_TRANSFER, fileChecksum(data)));
    assert.deepEqual(m.takeAck().map((a) => [a.typeId, a.objects[0].ack, a.objects[0].error]), [[124, Afq.SECTION_NEGATIVE, error]], label);
  }
  const { opts, uploads, records } = memoryFiles({});
  const h = fakeStation({ files: opts });
  const m = h.started();
  const addr = await startSection(m, 300);
  m.deliver(segmentAsdu(addr, 1, data.subarray(0, SEG)));
  m.deliver(segmentAsdu(addr, 1, data.subarray(SEG)));
  m.deliver(lastAsdu(addr, 1, Lsq.SECTION_TRANSFER, fileChecksum(data)));
  m.takeAck();
  m.deliver(lastAsdu(addr, 1, Lsq.FILE_TRANSFER, fileChecksum(data) + 1));
  await tick();
  assert.deepEqual(m.takeAck().map((a) => [a.objects[0].ack, a.objects[0].error]), [[Afq.FILE_NEGATIVE, 2]]);
  assert.equal(uploads.size, 0, 'nothing written');
  assert.equal(records[0].code, 'E_FILE_CHECKSUM');
});

test('upload: a section longer than the file, a section out of order, the file ending short — E_FILE_LENGTH / E_FILE_SEQUENCE', async () => {
  const { opts, records } = memoryFiles({});
  const h = fakeStation({ files: opts });
  const m = h.started();
  const addr = { ...A, ioa: 700 };
  m.deliver(fileReadyAsdu(addr, 100));
  await tick();
  m.takeAck();
  m.deliver(sectionReadyAsdu(addr, 1, 200));
  assert.deepEqual(m.takeAck().map((a) => [a.typeId, a.objects[0].ack, a.objects[0].error]), [[124, Afq.SECTION_NEGATIVE, 1]]);
  m.deliver(sectionReadyAsdu(addr, 3, 50));
  assert.deepEqual(m.takeAck().map((a) => [a.typeId, a.objects[0].ack, a.objects[0].error]), [[124, Afq.SECTION_NEGATIVE, 5]]);
  m.deliver(sectionReadyAsdu(addr, 1, 50));
  m.takeAck();
  m.deliver(segmentAsdu(addr, 1, bytes(50)));
  m.deliver(lastAsdu(addr, 1, Lsq.SECTION_TRANSFER, fileChecksum(bytes(50))));
  assert.deepEqual(m.takeAck().map((a) => a.objects[0].ack), [Afq.SECTION_POSITIVE]);
  m.deliver(lastAsdu(addr, 1, Lsq.FILE_TRANSFER, fileChecksum(bytes(50))));
  await tick();
  assert.deepEqual(m.takeAck().map((a) => [a.objects[0].ack]), [[Afq.FILE_NEGATIVE]]);
  assert.equal(records[0].code, 'E_FILE_LENGTH');
});

test('timeouts (virtual clock): a silent master ends a download (LSQ 2) and an upload (negative file acknowledgement); the file is free again', async () => {
  const { opts, records } = memoryFiles({ 500: bytes(10) }, { timeoutMs: 5000 });
  const h = fakeStation({ files: opts });
  const m = h.started();
  m.deliver(callAsdu(A, Scq.SELECT_FILE));
  await tick();
  m.takeAck();
  h.tick(4999);
  assert.equal(m.takeAck().length, 0);
  h.tick(2);
  assert.deepEqual(m.takeAck().map((a) => [a.typeId, a.objects[0].lsq]), [[123, Lsq.FILE_TRANSFER_DEACTIVATED]]);
  assert.equal(records[0].code, 'E_FILE_TIMEOUT');
  await startSection(m, 300);
  h.tick(5001);
  assert.deepEqual(m.takeAck().map((a) => [a.typeId, a.objects[0].ack]), [[124, Afq.FILE_NEGATIVE]]);
  assert.equal(records[1].code, 'E_FILE_TIMEOUT');
  const r = await download(m);
  assert.equal(r.data.length, 10, 'restarted after the timeout');
});

test('a second connection cannot select, call or acknowledge a file another connection transfers; the owner finishes undisturbed', async () => {
  const data = bytes(700);
  const { opts, records } = memoryFiles({ 500: data });
  const h = fakeStation({ files: opts });
  const owner = h.started();
  const other = h.started();
  owner.deliver(callAsdu(A, Scq.SELECT_FILE));
  await tick();
  owner.takeAck();
  other.deliver(callAsdu(A, Scq.SELECT_FILE));
  other.deliver(callAsdu(A, Scq.REQUEST_FILE));
  other.deliver(callAsdu(A, Scq.DEACTIVATE_FILE));
  other.deliver(ackAsdu(A, 1, Afq.FILE_NEGATIVE));
  other.deliver(fileReadyAsdu(A, 5));
  await tick();
  const refused = other.takeAck();
  assert.deepEqual(refused.map((a) => [a.typeId, a.negative, a.objects[0].negative]), [[120, false, true], [122, true, undefined], [122, true, undefined], [124, true, undefined], [120, false, true]], 'selects and file readies: negative file ready; the rest mirrored with P/N=1');
  assert.ok(refused.every((a) => a.cot === 13));
  assert.equal(owner.takeAck().length, 0, 'the owner saw nothing');
  // the owner continues from where it was
  owner.deliver(callAsdu(A, Scq.REQUEST_FILE));
  const sr = owner.takeAck();
  assert.equal(sr[0].typeId, 121);
  owner.deliver(callAsdu(A, Scq.REQUEST_SECTION, 1));
  const segs = owner.takeAck();
  assert.deepEqual(concat(segs.filter((a) => a.typeId === 125).map((a) => a.objects[0].segment as Uint8Array)), data);
  owner.deliver(ackAsdu(A, 1, Afq.SECTION_POSITIVE));
  owner.takeAck();
  owner.deliver(ackAsdu(A, 1, Afq.FILE_POSITIVE));
  assert.equal(records[0].outcome, 'completed');
  // now the other connection may take it
  const r = await download(other);
  assert.deepEqual(r.data, data);
});

test('a disconnect fails the transfer (E_FILE_DISCONNECTED), frees the lock, and a new connection restarts it', async () => {
  const data = bytes(2000);
  const { opts, records } = memoryFiles({ 500: data });
  const h = fakeStation({ files: opts });
  const m = h.started();
  m.deliver(callAsdu(A, Scq.SELECT_FILE));
  await tick();
  m.deliver(callAsdu(A, Scq.REQUEST_FILE));
  m.deliver(callAsdu(A, Scq.REQUEST_SECTION, 1));
  m.drop();
  assert.equal(records[0].code, 'E_FILE_DISCONNECTED');
  assert.equal(h.station.files!.active, 0);
  const m2 = h.started();
  const r = await download(m2);
  assert.deepEqual(r.data, data);
});

test('without files option, F_* ASDUs are refused as unknown type (COT 44)', async () => {
  const h = fakeStation({});
  const m = h.started();
  m.deliver(callAsdu(A, Scq.SELECT_FILE));
  assert.deepEqual(m.takeAck().map((a) => [a.typeId, a.cot, a.negative]), [[122, 44, true]]);
});

test('query log (F_SC_NB_1) is answered like a select, the provider sees the time range', async () => {
  const seen: unknown[] = [];
  const { opts } = memoryFiles({ 500: bytes(20) });
  const h = fakeStation({ files: { ...opts, provider: { ...opts.provider!, read: (r) => (seen.push(r.range), bytes(20)) } } });
  const m = h.started();
  const start = { ms: 0, minute: 0, hour: 0, day: 1, month: 1, year: 26, invalid: false, summerTime: false };
  const stop = { ...start, day: 2 };
  m.deliver({ typeId: 127, sq: false, cot: 13, negative: false, test: false, originator: 0, ca: 1, objects: [{ ioa: 500, file: 1, start, stop }] });
  await tick();
  const out = m.takeAck();
  assert.deepEqual(out.map((a) => [a.typeId, a.objects[0].length, a.objects[0].negative]), [[120, 20, false]]);
  assert.equal((seen[0] as { from: Date }).from.toISOString(), '2026-01-01T00:00:00.000Z');
});

test('folder files: IOA per file, reads and verified uploads stay inside the folder; traversal names are refused', async () => {
  const root = mkdtempSync(join(tmpdir(), 'iec104-files-'));
  try {
    const dir = join(root, 'pub');
    mkdirSync(dir);
    writeFileSync(join(dir, 'a.cfg'), 'alpha');
    writeFileSync(join(dir, 'b.dat'), bytes(300));
    writeFileSync(join(root, 'secret'), 'outside');
    symlinkSync(join(root, 'secret'), join(dir, 'link'));
    const f = folderFiles({ dir, ca: 1, firstIoa: 10, upload: true });
    const list = await f.provider.list(1);
    assert.deepEqual(list.map((x) => [x.ioa, x.name, x.length]), [[10, 'a.cfg', 5], [11, 'b.dat', 300]], 'the symlink leading outside is not listed');
    assert.deepEqual(await f.provider.list(2), []);
    await assert.rejects(() => Promise.resolve(f.provider.read({ file: { ca: 1, ioa: 99, length: 0, name: '../secret' }, sessionId: 1 })), FolderFilesError);
    await assert.rejects(() => Promise.resolve(f.provider.read({ file: { ca: 1, ioa: 99, length: 0, name: 'link' }, sessionId: 1 })), /outside the folder/);
    assert.throws(() => folderFiles({ dir, map: [{ ioa: 1, name: '../x' }] }), /plain file name/);
    assert.throws(() => folderFiles({ dir, map: [{ ioa: 1, name: '/etc/passwd' }] }), /plain file name/);
    assert.throws(() => folderFiles({ dir, map: [{ ioa: 1, name: 'a' }, { ioa: 1, name: 'b' }] }), /mapped twice/);
    // over the station: download a file and upload a new one
    const h = fakeStation({ files: { ...f, commonAddresses: f.commonAddresses } });
    const m = h.started();
    const r = await download(m, { ca: 1, ioa: 11, nof: 1 });
    assert.deepEqual(r.data, bytes(300));
    const end = await upload(m, bytes(500, 9), 200, { ca: 1, ioa: 40, nof: 1 });
    assert.deepEqual(end.map((a) => a.objects[0].ack), [Afq.FILE_POSITIVE]);
    assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'ioa-40.bin'))), bytes(500, 9));
    // replace a listed file by its IOA
    const end2 = await upload(m, bytes(7, 3), 200, { ca: 1, ioa: 10, nof: 1 });
    assert.deepEqual(end2.map((a) => a.objects[0].ack), [Afq.FILE_POSITIVE]);
    assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'a.cfg'))), bytes(7, 3));
    assert.equal(readFileSync(join(root, 'secret'), 'utf8'), 'outside');
    assert.ok(!existsSync(join(root, 'ioa-40.bin')));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
