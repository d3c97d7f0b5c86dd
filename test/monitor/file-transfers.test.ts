/**
 * The detector follows file transfers (download, upload, refusals, aborts, checksum mismatches,
 * silent ends) into the inventory, and the validity rules check who sends which F_* ASDU.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Asdu } from '../../src/codec/asdu.js';
import {
  ackAsdu, Afq, callAsdu, callDirectoryAsdu, directoryAsdus, fileChecksum, fileReadyAsdu, lastAsdu, Lsq, Scq, sectionReadyAsdu, segmentAsdu,
} from '../../src/codec/file-transfer.js';
import { IEC104_OPTIONS } from '../../src/codec/options.js';
import { monitorTraffic, renderInventory, validityAlerts } from '../../src/monitor/index.js';
import { Capture, Conversation } from './helpers.js';

const A = { ca: 1, ioa: 30000, nof: 1 };
const data = Uint8Array.from({ length: 800 }, (_, i) => (i * 3) & 0xff);
const send = (c: Conversation, side: 'm' | 's', a: Asdu): void => void c.i(side, a);

/** A download of `file` in sections of 400 (station sends), optionally corrupting the first section once. */
function download(c: Conversation, file: Uint8Array, corruptOnce = false): void {
  send(c, 'm', callAsdu(A, Scq.SELECT_FILE));
  send(c, 's', fileReadyAsdu(A, file.length));
  send(c, 'm', callAsdu(A, Scq.REQUEST_FILE));
  let corrupt = corruptOnce;
  for (let nos = 1; nos <= Math.ceil(file.length / 400); nos++) {
    const sec = file.subarray((nos - 1) * 400, nos * 400);
    for (;;) {
      send(c, 's', sectionReadyAsdu(A, nos, sec.length));
      send(c, 'm', callAsdu(A, Scq.REQUEST_SECTION, nos));
      const bad = new Uint8Array(sec);
      if (corrupt) bad[0] ^= 1;
      for (let i = 0; i < sec.length; i += 200) send(c, 's', segmentAsdu(A, nos, bad.subarray(i, i + 200)));
      send(c, 's', lastAsdu(A, nos, Lsq.SECTION_TRANSFER, fileChecksum(sec)));
      if (corrupt) {
        corrupt = false;
        send(c, 'm', ackAsdu(A, nos, Afq.SECTION_NEGATIVE, 2));
        continue;
      }
      send(c, 'm', ackAsdu(A, nos, Afq.SECTION_POSITIVE));
      break;
    }
  }
  send(c, 's', lastAsdu(A, 3, Lsq.FILE_TRANSFER, fileChecksum(file)));
  send(c, 'm', ackAsdu(A, 3, Afq.FILE_POSITIVE));
}

test('inventory: a download with a repeated section, an upload, a refused select and an aborted upload — name (NOF), size, sections, outcome, duration', () => {
  const cap = new Capture();
  const c = new Conversation(cap, { step: 10 });
  c.startdt();
  send(c, 'm', callDirectoryAsdu(1));
  for (const d of directoryAsdus(1, [{ ioa: 30000, nof: 1, length: 800, time: { ms: 0, minute: 0, hour: 0, day: 1, month: 1, year: 24, invalid: false, summerTime: false } }], IEC104_OPTIONS)) send(c, 's', d);
  download(c, data, true);
  // upload of 300 octets to IOA 30001
  const U = { ca: 1, ioa: 30001, nof: 1 };
  const up = data.subarray(0, 300);
  send(c, 'm', fileReadyAsdu(U, 300));
  send(c, 's', callAsdu(U, Scq.REQUEST_FILE));
  send(c, 'm', sectionReadyAsdu(U, 1, 300));
  send(c, 's', callAsdu(U, Scq.REQUEST_SECTION, 1));
  send(c, 'm', segmentAsdu(U, 1, up.subarray(0, 200)));
  send(c, 'm', segmentAsdu(U, 1, up.subarray(200)));
  send(c, 'm', lastAsdu(U, 1, Lsq.SECTION_TRANSFER, fileChecksum(up)));
  send(c, 's', ackAsdu(U, 1, Afq.SECTION_POSITIVE));
  send(c, 'm', lastAsdu(U, 1, Lsq.FILE_TRANSFER, fileChecksum(up)));
  send(c, 's', ackAsdu(U, 1, Afq.FILE_POSITIVE));
  // refused select
  send(c, 'm', callAsdu({ ...A, ioa: 9 }, Scq.SELECT_FILE));
  send(c, 's', fileReadyAsdu({ ...A, ioa: 9 }, 0, true));
  // aborted upload
  send(c, 'm', fileReadyAsdu({ ...U, ioa: 30002 }, 50));
  send(c, 's', callAsdu({ ...U, ioa: 30002 }, Scq.REQUEST_FILE));
  send(c, 'm', lastAsdu({ ...U, ioa: 30002 }, 0, Lsq.FILE_TRANSFER_DEACTIVATED, 0));
  // a download left open
  send(c, 'm', callAsdu({ ...A, ioa: 7 }, Scq.SELECT_FILE));

  const r = monitorTraffic(cap.items);
  const ft = r.inventory.fileTransfers!;
  assert.deepEqual(ft.map((f) => [f.direction, f.ioa, f.nof, f.length, f.sections, f.repeatedSections, f.octets, f.checksumMismatches, f.outcome]), [
    ['download', 30000, 1, 800, 2, 1, 1200, 1, 'completed'],
    ['upload', 30001, 1, 300, 1, 0, 300, 0, 'completed'],
    ['download', 9, 1, null, 0, 0, 0, 0, 'refused'],
    ['upload', 30002, 1, 50, 0, 0, 0, 0, 'aborted'],
    ['download', 7, 1, null, 0, 0, 0, 0, 'incomplete'],
  ]);
  assert.ok(ft[0].durationMs! > 0);
  assert.equal(ft[0].master, '10.0.0.1:40001');
  assert.equal(ft[0].station, '10.0.0.2:2404');
  const text = renderInventory(r.inventory);
  assert.match(text, /File transfers\n {2}download 10\.0\.0\.1:40001 <- 10\.0\.0\.2:2404 {2}CA 1 IOA 30000 NOF 1 {2}800 octets, 2 section\(s\), 1 repeated, 1 checksum mismatch\(es\) {2}completed/);
  // a correct exchange raises no validity alert about files
  assert.deepEqual(r.alerts.filter((a) => a.rule.startsWith('valid.')).map((a) => a.rule), []);
});

test('validity: F_DR_TA_1 from the master, F_SC_NB_1 from the station, wrong causes, NOF/NOS 0', () => {
  const cap = new Capture();
  const c = new Conversation(cap);
  c.startdt();
  const dir = directoryAsdus(1, [{ ioa: 1, nof: 1, length: 1, time: { ms: 0, minute: 0, hour: 0, day: 1, month: 1, year: 24, invalid: false, summerTime: false } }], IEC104_OPTIONS)[0];
  const cases: Array<[string, 'm' | 's', Asdu, string]> = [
    ['directory from master', 'm', dir, 'valid.type-direction'],
    ['query log from station', 's', { typeId: 127, sq: false, cot: 13, negative: false, test: false, originator: 0, ca: 1, objects: [{ ioa: 1, file: 1, start: dir.objects[0].time, stop: dir.objects[0].time }] }, 'valid.type-direction'],
    ['call directory from station', 's', callDirectoryAsdu(1), 'valid.cot-direction'],
    ['segment with cause 6', 'm', { ...segmentAsdu(A, 1, new Uint8Array(3)), cot: 6 }, 'valid.cot-direction'],
    ['section 0', 's', sectionReadyAsdu(A, 0, 10), 'valid.file-qualifier'],
    ['file 0', 'm', callAsdu({ ...A, nof: 0 }, Scq.SELECT_FILE), 'valid.file-qualifier'],
  ];
  for (const [label, side, a, rule] of cases) {
    const o = c.i(side, a);
    const alerts = validityAlerts({ ...o, dir: side === 'm' ? 'master→station' : 'station→master', master: c.master, station: c.station });
    assert.ok(alerts.some((x) => x.rule === rule), `${label}: ${alerts.map((x) => x.rule).join(',') || 'no alert'}`);
  }
  // allowed: a station mirroring a request with cause 47, the call directory from the master, the directory from the station
  for (const [side, a] of [['s', { ...callAsdu(A, Scq.SELECT_FILE), cot: 47, negative: true }], ['m', callDirectoryAsdu(1)], ['s', dir]] as const) {
    const o = c.i(side, a);
    assert.deepEqual(validityAlerts({ ...o, dir: side === 'm' ? 'master→station' : 'station→master', master: c.master, station: c.station }).map((x) => x.rule), []);
  }
});

test('iec104 analyze (one thread and a worker thread) shows the file transfers of a capture in the inventory, text and JSON', async () => {
  const { buildTcpPacket, writePcap } = await import('../../src/capture/writer.js');
  const { TCP_ACK } = await import('../../src/capture/packet.js');
  const { runAnalyzeOn } = await import('../capture/helpers.js');
  const cap = new Capture();
  const c = new Conversation(cap, { step: 10 });
  c.startdt();
  download(c, data);
  const seqs = new Map<string, number>();
  const packets = cap.items.map((o) => {
    const [sip, sport] = [o.src.slice(0, o.src.lastIndexOf(':')), Number(o.src.slice(o.src.lastIndexOf(':') + 1))];
    const [dip, dport] = [o.dst.slice(0, o.dst.lastIndexOf(':')), Number(o.dst.slice(o.dst.lastIndexOf(':') + 1))];
    const s = seqs.get(o.src) ?? 1000;
    seqs.set(o.src, s + o.raw.length);
    const us = Math.round(o.ts * 1000);
    return { data: buildTcpPacket({ src: sip, dst: dip, sport, dport, seq: s, ack: seqs.get(o.dst) ?? 1000, flags: TCP_ACK | 0x08, payload: o.raw }), tsSec: Math.floor(us / 1e6), tsNsec: (us % 1e6) * 1000 };
  });
  const pcap = writePcap(packets);
  for (const threads of ['1', '2']) {
    const t = await runAnalyzeOn(['x.pcap', '--inventory', '--threads', threads], pcap);
    assert.match(t.out, /File transfers\n {2}download 10\.0\.0\.1:40001 <- 10\.0\.0\.2:2404 {2}CA 1 IOA 30000 NOF 1 {2}800 octets, 2 section\(s\) {2}completed/, t.err);
    const j = await runAnalyzeOn(['x.pcap', '--inventory', '--json', '--threads', threads], pcap);
    const inv = JSON.parse(j.out.trim().split('\n').pop()!) as { fileTransfers: Array<{ outcome: string; length: number; sections: number; durationMs: number }> };
    assert.deepEqual(inv.fileTransfers.map((f) => [f.outcome, f.length, f.sections]), [['completed', 800, 2]]);
    assert.ok(inv.fileTransfers[0].durationMs > 0);
    const cj = await runAnalyzeOn(['x.pcap', '--commands', '--json', '--threads', threads], pcap);
    const ftRec = cj.out.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; outcome?: string; ioa?: number }).filter((x) => x.kind === 'file-transfer');
    assert.deepEqual(ftRec.map((x) => [x.ioa, x.outcome]), [[30000, 'completed']]);
    const ct = await runAnalyzeOn(['x.pcap', '--commands', '--threads', threads], pcap);
    assert.match(ct.out, /File transfers\n {2}download .* CA 1 IOA 30000 NOF 1 {2}800 octets/);
  }
});
