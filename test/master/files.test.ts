/**
 * Master file transfer against a station scripted at the ASDU level (in-memory link, virtual
 * clock): timeouts, a station that numbers its last section like lib60870, length faults, busy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Asdu } from '../../src/codec/asdu.js';
import { ackAsdu, Afq, fileChecksum, fileReadyAsdu, lastAsdu, Lsq, Scq, sectionReadyAsdu, segmentAsdu } from '../../src/codec/file-transfer.js';
import { FileTransferError } from '../../src/master/file-transfer.js';
import { flush, started, track, type ScriptedStation } from './harness.js';

const data = Uint8Array.from({ length: 800 }, (_, i) => (i * 5) & 0xff);
const A = { ca: 1, ioa: 30000, nof: 1 };

/** Serves `data` in two sections of 400 like lib60870's cs104_server_files (LS of the file names section 3). */
function lib60870Like(file: Uint8Array, announce = file.length) {
  const acks: Asdu[] = [];
  let nos = 0;
  const script = (a: Asdu, st: ScriptedStation): void => {
    const o = a.objects[0];
    if (a.typeId === 122 && o.action === Scq.SELECT_FILE) st.send(fileReadyAsdu(A, announce));
    else if (a.typeId === 122 && o.action === Scq.REQUEST_FILE) st.send(sectionReadyAsdu(A, (nos = 1), 400));
    else if (a.typeId === 122 && o.action === Scq.REQUEST_SECTION) {
      const sec = file.subarray((nos - 1) * 400, nos * 400);
      for (let i = 0; i < sec.length; i += 200) st.send(segmentAsdu(A, nos, sec.subarray(i, i + 200)));
      st.send(lastAsdu(A, nos, Lsq.SECTION_TRANSFER, fileChecksum(sec)));
    } else if (a.typeId === 124) {
      acks.push(a);
      if (o.ack === Afq.SECTION_POSITIVE) {
        nos++;
        if (nos <= 2) st.send(sectionReadyAsdu(A, nos, 400));
        else st.send(lastAsdu(A, nos, Lsq.FILE_TRANSFER, fileChecksum(file)));
      }
    }
  };
  return { script, acks };
}

test('download from a lib60870-like station (two sections, last section named 3): byte-identical, every section and the file acknowledged', async () => {
  const s = lib60870Like(data);
  const { master } = await started(s.script);
  const r = await track(master.downloadFile(1, 30000));
  assert.deepEqual(r.data, data);
  assert.equal(r.sections, 2);
  await flush();
  assert.deepEqual(s.acks.map((a) => a.objects[0].ack), [Afq.SECTION_POSITIVE, Afq.SECTION_POSITIVE, Afq.FILE_POSITIVE]);
  await master.close();
});

test('download: the file is shorter than announced → negative file acknowledgement and E_FILE_LENGTH', async () => {
  const s = lib60870Like(data, 900);
  const { master } = await started(s.script);
  const err = await master.downloadFile(1, 30000).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof FileTransferError);
  assert.equal(err.code, 'E_FILE_LENGTH');
  await flush();
  assert.equal(s.acks[s.acks.length - 1].objects[0].ack, Afq.FILE_NEGATIVE);
  await master.close();
});

test('timeouts on the injected clock: a station that never answers the call directory (lib60870) or a select → E_FILE_TIMEOUT; the select is deactivated', async () => {
  const seen: Asdu[] = [];
  const { net, master } = await started((a) => void seen.push(a));
  const dir = track(master.listFiles(1, { timeout: 5000 }));
  const dl = track(master.downloadFile(1, 7, { timeout: 8000 }));
  await flush();
  net.clock.advance(4999);
  await flush();
  let settled = false;
  dir.then(() => (settled = true), () => (settled = true));
  await flush();
  assert.equal(settled, false);
  net.clock.advance(2);
  await assert.rejects(dir, (e: unknown) => e instanceof FileTransferError && e.code === 'E_FILE_TIMEOUT');
  net.clock.advance(3000);
  await assert.rejects(dl, (e: unknown) => e instanceof FileTransferError && e.code === 'E_FILE_TIMEOUT');
  await flush();
  assert.deepEqual(seen.map((a) => [a.typeId, a.cot, a.objects[0].action]), [[122, 5, 0], [122, 13, Scq.SELECT_FILE], [122, 13, Scq.DEACTIVATE_FILE]]);
  await master.close();
});

test('E_FILE_BUSY for a second operation on the same file, E_NOT_CONNECTED before data transfer, E_INVALID for a file LOF cannot announce', async () => {
  const { master } = await started(() => {});
  const first = track(master.downloadFile(1, 5, { timeout: 1000 }));
  await assert.rejects(master.uploadFile(1, 5, new Uint8Array(3)), (e: unknown) => e instanceof FileTransferError && e.code === 'E_FILE_BUSY');
  await assert.rejects(master.uploadFile(1, 6, new Uint8Array(0x1000000)), (e: unknown) => e instanceof FileTransferError && e.code === 'E_INVALID');
  await master.stopDataTransfer();
  await assert.rejects(first, (e: unknown) => e instanceof FileTransferError && e.code === 'E_FILE_DISCONNECTED');
  await assert.rejects(master.downloadFile(1, 5), (e: unknown) => e instanceof FileTransferError && e.code === 'E_NOT_CONNECTED');
  await master.close();
});

test('upload: a station that deactivates the file or acknowledges it negatively ends the upload with its code', async () => {
  const script = (a: Asdu, st: ScriptedStation): void => {
    const o = a.objects[0];
    if (a.typeId === 120) st.send({ typeId: 122, sq: false, cot: 13, negative: false, test: false, originator: 0, ca: 1, objects: [{ ioa: o.ioa, file: 1, section: 0, action: o.ioa === 1 ? Scq.DEACTIVATE_FILE : Scq.REQUEST_FILE, error: 0 }] });
    if (a.typeId === 121) st.send(ackAsdu({ ca: 1, ioa: o.ioa, nof: 1 }, 1, Afq.FILE_NEGATIVE, 1));
  };
  const { master } = await started(script);
  await assert.rejects(master.uploadFile(1, 1, new Uint8Array(10)), (e: unknown) => e instanceof FileTransferError && e.code === 'E_FILE_DEACTIVATED');
  await assert.rejects(master.uploadFile(1, 2, new Uint8Array(10)), (e: unknown) => e instanceof FileTransferError && e.code === 'E_FILE_NEGATIVE_ACK' && /memory/.test(e.message));
  await master.close();
});
