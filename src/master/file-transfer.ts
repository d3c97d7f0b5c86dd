/**
 * File transfer of a controlling station (IEC 60870-5-101 clause 7.4.11, as used by 104): the
 * directory, downloads (the master calls, the station sends) and uploads (the master announces,
 * the station calls, the master sends). Used through `ControllingStation.listFiles`,
 * `downloadFile` and `uploadFile`; one {@link FileTransferClient} per master.
 *
 * Transfers of different files may run at once (one per CA/IOA). Each one has a timeout re-armed
 * by every step (injected clock), can be cancelled with an AbortSignal (the master then
 * deactivates the file), and fails with a {@link FileTransferError} carrying a stable code when
 * the connection is lost, the station refuses, or the octets do not match the announced length
 * or checksums (after the allowed repeats of a section).
 */
import type { Asdu, InformationObject } from '../codec/asdu.js';
import { COT, cotName } from '../codec/cause.js';
import {
  ackAsdu, Afq, callAsdu, callDirectoryAsdu, FILE_COT, FileErrorCause, fileChecksum, fileErrorName, type FileAddress, fileReadyAsdu, lastAsdu, Lsq,
  MAX_FILE_LENGTH, maxSegmentSize, NOF_TRANSPARENT, queryLogAsdu, Scq, sectionCount, sectionReadyAsdu, sectionSizeFor, segmentAsdu,
} from '../codec/file-transfer.js';
import type { CodecOptions } from '../codec/options.js';
import { cp56FromDate, cp56ToDate, type Cp56Time } from '../codec/time.js';
import { TypeId, typeName } from '../codec/type-table.js';
import type { Clock, TimerHandle } from '../clock.js';
import type { Logger } from '../log.js';

/** Stable codes of {@link FileTransferError}. */
export type FileTransferErrorCode =
  | 'E_FILE_REFUSED' // the station refused (negative file ready, P/N=1, unknown CA/IOA, busy)
  | 'E_FILE_CHECKSUM' // a checksum did not match (after the allowed repeats)
  | 'E_FILE_LENGTH' // more or fewer octets than announced
  | 'E_FILE_SEQUENCE' // an answer out of order or unexpected
  | 'E_FILE_TIMEOUT' // the station stayed silent longer than the timeout
  | 'E_FILE_DISCONNECTED' // the connection closed or data transfer stopped during the transfer
  | 'E_FILE_NEGATIVE_ACK' // the station acknowledged the file negatively
  | 'E_FILE_DEACTIVATED' // the station ended the transfer with deactivation
  | 'E_FILE_BUSY' // this master already transfers that file
  | 'E_NOT_CONNECTED' // data transfer is not started
  | 'E_INVALID' // bad arguments (length, addresses)
  | 'E_ABORTED'; // cancelled through the AbortSignal

/** A failed file operation. */
export class FileTransferError extends Error {
  override name = 'FileTransferError';
  constructor(readonly code: FileTransferErrorCode, message: string) {
    super(message);
  }
  /** Plain JSON form for logs and `--json` output. */
  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message };
  }
}

/** Progress of a download or an upload. */
export interface FileProgress {
  direction: 'download' | 'upload';
  ca: number;
  ioa: number;
  /** File octets transferred and verified so far (sections acknowledged) plus the current section's. */
  transferred: number;
  /** File length (0 until the station announced it for a download). */
  total: number;
  /** Current section (1-based, 0 before the first). */
  section: number;
}

/** Common options of file operations. */
export interface FileOperationOptions {
  /** Name of file (NOF). Default 1 (transparent file). */
  nof?: number;
  /** Silence allowed between two steps, ms. Default 30 000. */
  timeout?: number;
  /** Cancels the operation (the file is deactivated at the station). */
  signal?: AbortSignal;
  /** Called as octets move. */
  onProgress?: (p: FileProgress) => void;
  /** Times a section is repeated after a checksum or length fault. Default 3. */
  maxRetries?: number;
}

/** Options of a download. */
export interface DownloadOptions extends FileOperationOptions {
  /** Query log (F_SC_NB_1) instead of select: the archive file of this time range. */
  range?: { from: Date; to: Date };
}

/** Options of an upload. */
export interface UploadOptions extends FileOperationOptions {
  /** Section size, octets (raised when the file would need more than 255 sections). Default 65 536. */
  sectionSize?: number;
}

/** One directory entry of a station. */
export interface RemoteFile {
  ca: number;
  ioa: number;
  nof: number;
  length: number;
  /** SOF status (application defined). */
  status: number;
  /** SOF.FOR: a subdirectory. */
  subdirectory: boolean;
  /** SOF.FA: a transfer of this file is active. */
  active: boolean;
  /** Creation time. */
  time: Date;
}

/** A finished transfer. */
export interface FileTransferResult {
  ca: number;
  ioa: number;
  nof: number;
  length: number;
  sections: number;
  /** File checksum (sum of the octets modulo 256). */
  checksum: number;
  durationMs: number;
}

/** What the client needs from its master. */
export interface FileTransferHost {
  readonly clock: Clock;
  readonly codec: CodecOptions;
  readonly originator: number;
  readonly utc: boolean;
  readonly log: Logger;
  /** Whether data transfer is started. */
  readonly started: boolean;
  /** Send an ASDU; false when the window is full (then `onDrain` follows) or not started. */
  send(asdu: Asdu): boolean;
}

interface Outgoing {
  asdu: Asdu;
  sent?: () => void;
}

interface Op {
  key: string;
  /** An ASDU for this operation. */
  handle(a: Asdu, obj: InformationObject | undefined): void;
  fail(e: FileTransferError, notifyStation: boolean): void;
}

const DEFAULT_TIMEOUT = 30_000;

/** File procedures of one controlling station. */
export class FileTransferClient {
  private readonly ops = new Map<string, Op>();
  private readonly outbox: Outgoing[] = [];
  private flushing = false;
  private readonly segment: number;

  constructor(private readonly host: FileTransferHost) {
    this.segment = maxSegmentSize(host.codec);
  }

  /** Operations under way. */
  get active(): number {
    return this.ops.size;
  }

  // ------------------------------------------------------------------------------------------
  // master hooks

  /** A received F_* ASDU. */
  onAsdu(a: Asdu): void {
    const obj = a.objects[0];
    const op = obj ? this.ops.get(`${a.ca}:${obj.ioa}`) : undefined;
    if (a.typeId === TypeId.F_DR_TA_1 || (a.typeId === TypeId.F_SC_NA_1 && a.cot !== FILE_COT && !op)) {
      this.ops.get(`dir:${a.ca}`)?.handle(a, obj);
      return;
    }
    if (op) op.handle(a, obj);
    else if (obj) this.host.log.log('debug', 'master.file.unexpected', `${typeName(a.typeId)} CA ${a.ca} IOA ${obj.ioa} without a transfer: ignored`, { typeId: a.typeId, ca: a.ca, ioa: obj.ioa });
  }

  /** The link's window has room again. */
  onDrain(): void {
    this.flush();
  }

  /** The connection closed or data transfer stopped: every operation fails. */
  onLinkLost(why: string): void {
    this.outbox.length = 0;
    for (const op of [...this.ops.values()]) op.fail(new FileTransferError('E_FILE_DISCONNECTED', `connection lost during the file transfer: ${why}`), false);
  }

  // ------------------------------------------------------------------------------------------
  // sending

  private send(asdu: Asdu, sent?: () => void): void {
    this.outbox.push({ asdu, sent });
    this.flush();
  }

  private flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.outbox.length > 0 && this.host.started) {
        const o = this.outbox[0];
        let ok: boolean;
        try {
          ok = this.host.send(o.asdu);
        } catch (e) {
          this.outbox.shift();
          this.host.log.log('error', 'master.file.encode', `file ASDU cannot be encoded: ${e instanceof Error ? e.message : String(e)}`);
          continue;
        }
        if (!ok) break;
        this.outbox.shift();
        o.sent?.();
      }
    } finally {
      this.flushing = false;
    }
  }

  private begin(key: string, opts: FileOperationOptions): FileTransferError | undefined {
    if (!this.host.started) return new FileTransferError('E_NOT_CONNECTED', 'data transfer is not started');
    if (this.ops.has(key)) return new FileTransferError('E_FILE_BUSY', `a transfer of ${key.startsWith('dir:') ? 'the directory' : `CA:IOA ${key}`} is already under way`);
    if (opts.signal?.aborted) return new FileTransferError('E_ABORTED', 'aborted before it started');
    return undefined;
  }

  /** Timer, abort and registration shared by every operation. */
  private track<T>(key: string, opts: FileOperationOptions, what: string, run: (ctl: Control<T>) => void): Promise<T> {
    const bad = this.begin(key, opts);
    if (bad) return Promise.reject(bad);
    const timeout = opts.timeout ?? DEFAULT_TIMEOUT;
    return new Promise<T>((resolve, reject) => {
      let timer: TimerHandle | undefined;
      let done = false;
      let last = 0;
      const clock = this.host.clock;
      // one timer, re-armed lazily: a step only records its time (segments are many)
      const fired = (): void => {
        timer = undefined;
        if (done) return;
        const left = last + timeout - clock.now();
        if (left > 0) timer = clock.setTimeout(fired, left);
        else op.fail(new FileTransferError('E_FILE_TIMEOUT', `${what}: no answer from the station for ${timeout} ms`), true);
      };
      const onAbort = (): void => op.fail(new FileTransferError('E_ABORTED', `${what} aborted`), true);
      const end = (): void => {
        done = true;
        if (timer !== undefined) clock.clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        if (this.ops.get(key) === op) this.ops.delete(key);
      };
      const ctl: Control<T> = {
        touch: () => {
          if (done) return;
          last = clock.now();
          if (timer === undefined) timer = clock.setTimeout(fired, timeout);
        },
        resolve: (v) => {
          if (done) return;
          end();
          resolve(v);
        },
        reject: (e) => {
          if (done) return;
          end();
          this.host.log.log('warn', 'master.file.failed', `${what} failed: ${e.code} ${e.message}`, { code: e.code });
          reject(e);
        },
        get done() {
          return done;
        },
        handle: () => {},
        abort: () => {},
      };
      const op: Op = {
        key,
        handle: (a, obj) => {
          if (done) return;
          ctl.touch();
          ctl.handle(a, obj);
        },
        fail: (e, notify) => {
          if (done) return;
          if (notify && this.host.started) ctl.abort();
          ctl.reject(e);
        },
      };
      this.ops.set(key, op);
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      ctl.touch();
      run(ctl);
    });
  }

  // ------------------------------------------------------------------------------------------
  // directory

  /** Call the directory of a common address (F_SC_NA_1 cause 5) and collect F_DR_TA_1 until the last file (LFD). */
  listFiles(ca: number, opts: Omit<FileOperationOptions, 'nof' | 'onProgress' | 'maxRetries'> & { ioa?: number } = {}): Promise<RemoteFile[]> {
    const files: RemoteFile[] = [];
    return this.track<RemoteFile[]>(`dir:${ca}`, opts, `call directory of CA ${ca}`, (ctl) => {
      ctl.abort = () => {};
      ctl.handle = (a) => {
        if (a.negative || a.cot === COT.UNKNOWN_CA || a.cot === COT.UNKNOWN_IOA || a.cot === COT.UNKNOWN_TYPE || a.cot === COT.UNKNOWN_CAUSE) {
          return ctl.reject(new FileTransferError('E_FILE_REFUSED', `the station refused the call directory: ${cotName(a.cot)}`));
        }
        if (a.typeId !== TypeId.F_DR_TA_1) return;
        let last = a.objects.length === 0;
        for (const o of a.objects) {
          files.push({
            ca: a.ca, ioa: o.ioa, nof: Number(o.file), length: Number(o.length), status: Number(o.status), subdirectory: o.for === true, active: o.fa === true,
            time: cp56ToDate(o.time as Cp56Time, this.host.utc),
          });
          if (o.lfd === true) last = true;
        }
        if (last) ctl.resolve(files);
      };
      this.send(callDirectoryAsdu(ca, opts.ioa ?? 0, this.host.originator));
    });
  }

  // ------------------------------------------------------------------------------------------
  // download

  /** Select (or query log), call the file and each section, verify and acknowledge; resolves with the octets. */
  downloadFile(ca: number, ioa: number, opts: DownloadOptions = {}): Promise<FileTransferResult & { data: Uint8Array }> {
    const addr: FileAddress = { ca, ioa, nof: opts.nof ?? NOF_TRANSPARENT, originator: this.host.originator };
    const maxRetries = opts.maxRetries ?? 3;
    const what = `download of CA ${ca} IOA ${ioa}`;
    return this.track(`${ca}:${ioa}`, opts, what, (ctl) => {
      const started = this.host.clock.now();
      let state: 'select' | 'file' | 'section' | 'await-section' = 'select';
      let length = 0;
      const parts: Uint8Array[] = [];
      let have = 0;
      let nos = 0;
      let secLen = 0;
      let sec: Uint8Array = new Uint8Array(0);
      let got = 0;
      let secSum = 0;
      let fault: { code: FileTransferErrorCode; error: number; why: string } | undefined;
      let retries = 0;
      let sections = 0;
      const progress = (): void => opts.onProgress?.({ direction: 'download', ca, ioa, transferred: have + got, total: length, section: nos });
      ctl.abort = () => this.send(callAsdu(addr, Scq.DEACTIVATE_FILE));
      ctl.handle = (a, obj) => {
        if (!obj) return;
        if (a.negative || (a.cot >= COT.UNKNOWN_TYPE && a.cot <= COT.UNKNOWN_IOA)) {
          return ctl.reject(new FileTransferError('E_FILE_REFUSED', `${what}: the station answered ${typeName(a.typeId)} negatively (${cotName(a.cot)}${'error' in obj ? `, ${fileErrorName(Number(obj.error))}` : ''})`));
        }
        switch (a.typeId) {
          case TypeId.F_FR_NA_1:
            if (state !== 'select') return;
            if (obj.negative === true) return ctl.reject(new FileTransferError('E_FILE_REFUSED', `${what}: the station refused to select the file (negative file ready)`));
            length = Number(obj.length);
            state = 'file';
            progress();
            return this.send(callAsdu(addr, Scq.REQUEST_FILE));
          case TypeId.F_SR_NA_1:
            if (state !== 'file' && state !== 'await-section') return;
            if (obj.notReady === true) return; // announced again when ready
            nos = Number(obj.section);
            secLen = Number(obj.length);
            if (have + secLen > length) {
              this.send(ackAsdu(addr, nos, Afq.FILE_NEGATIVE, FileErrorCause.NO_MEMORY));
              return ctl.reject(new FileTransferError('E_FILE_LENGTH', `${what}: section ${nos} of ${secLen} octets exceeds the announced file length ${length}`));
            }
            sec = new Uint8Array(secLen);
            got = 0;
            secSum = 0;
            fault = undefined;
            state = 'section';
            return this.send(callAsdu(addr, Scq.REQUEST_SECTION, nos));
          case TypeId.F_SG_NA_1: {
            if (state !== 'section' || fault) return;
            const seg = obj.segment as Uint8Array;
            if (Number(obj.section) !== nos) fault = { code: 'E_FILE_SEQUENCE', error: FileErrorCause.UNEXPECTED_SECTION, why: `segment of section ${String(obj.section)} during section ${nos}` };
            else if (got + seg.length > secLen) fault = { code: 'E_FILE_LENGTH', error: FileErrorCause.DEFAULT, why: `section ${nos} longer than its announced ${secLen} octets` };
            else {
              sec.set(seg, got);
              got += seg.length;
              secSum = (secSum + fileChecksum(seg)) & 0xff;
              progress();
            }
            return;
          }
          case TypeId.F_LS_NA_1: {
            const lsq = Number(obj.lsq);
            const chs = Number(obj.checksum);
            if (lsq === Lsq.FILE_TRANSFER_DEACTIVATED || lsq === Lsq.SECTION_TRANSFER_DEACTIVATED) {
              return ctl.reject(new FileTransferError('E_FILE_DEACTIVATED', `${what}: the station ended the transfer with deactivation`));
            }
            if (lsq === Lsq.SECTION_TRANSFER && state === 'section') {
              const f = fault
                ?? (got !== secLen ? { code: 'E_FILE_LENGTH' as const, error: FileErrorCause.DEFAULT, why: `section ${nos}: ${got} octets received, ${secLen} announced` } : undefined)
                ?? (chs !== secSum ? { code: 'E_FILE_CHECKSUM' as const, error: FileErrorCause.CHECKSUM, why: `section ${nos}: checksum ${chs} received, ${secSum} computed` } : undefined);
              state = 'await-section';
              if (f) {
                if (++retries > maxRetries) {
                  this.send(ackAsdu(addr, nos, Afq.FILE_NEGATIVE, f.error));
                  return ctl.reject(new FileTransferError(f.code, `${what}: ${f.why} (after ${retries - 1} repeats)`));
                }
                this.host.log.log('warn', 'master.file.section_negative', `${what}: ${f.why}: section asked again`, { ca, ioa, nos, code: f.code });
                got = 0;
                progress();
                return this.send(ackAsdu(addr, nos, Afq.SECTION_NEGATIVE, f.error));
              }
              parts.push(sec);
              have += got;
              got = 0;
              sections++;
              retries = 0;
              progress();
              return this.send(ackAsdu(addr, nos, Afq.SECTION_POSITIVE));
            }
            if (lsq === Lsq.FILE_TRANSFER && (state === 'await-section' || state === 'file')) {
              const data = concat(parts, have);
              const sum = fileChecksum(data);
              if (have !== length) {
                this.send(ackAsdu(addr, Number(obj.section), Afq.FILE_NEGATIVE, FileErrorCause.DEFAULT));
                return ctl.reject(new FileTransferError('E_FILE_LENGTH', `${what}: ${have} octets received, ${length} announced`));
              }
              if (sum !== chs) {
                this.send(ackAsdu(addr, Number(obj.section), Afq.FILE_NEGATIVE, FileErrorCause.CHECKSUM));
                return ctl.reject(new FileTransferError('E_FILE_CHECKSUM', `${what}: file checksum ${chs} received, ${sum} computed`));
              }
              this.send(ackAsdu(addr, Number(obj.section), Afq.FILE_POSITIVE));
              this.host.log.log('info', 'master.file.downloaded', `${what}: ${length} octets in ${sections} section(s)`, { ca, ioa, length, sections });
              return ctl.resolve({ ca, ioa, nof: addr.nof, length, sections, checksum: sum, durationMs: this.host.clock.now() - started, data });
            }
            return;
          }
          default:
            return;
        }
      };
      if (opts.range) this.send(queryLogAsdu(addr, cp56FromDate(opts.range.from, this.host.utc), cp56FromDate(opts.range.to, this.host.utc)));
      else this.send(callAsdu(addr, Scq.SELECT_FILE));
    });
  }

  // ------------------------------------------------------------------------------------------
  // upload

  /** Announce the file (F_FR_NA_1), answer the station's calls with sections and segments; resolves at its positive file acknowledgement. */
  uploadFile(ca: number, ioa: number, data: Uint8Array, opts: UploadOptions = {}): Promise<FileTransferResult> {
    if (!(data instanceof Uint8Array)) return Promise.reject(new FileTransferError('E_INVALID', 'upload data must be a Uint8Array'));
    if (data.length > MAX_FILE_LENGTH) return Promise.reject(new FileTransferError('E_INVALID', `a file of ${data.length} octets is longer than LOF allows (${MAX_FILE_LENGTH})`));
    const preferred = opts.sectionSize ?? 65_536;
    if (!Number.isInteger(preferred) || preferred < 1) return Promise.reject(new FileTransferError('E_INVALID', `sectionSize must be a positive integer, got ${String(opts.sectionSize)}`));
    const addr: FileAddress = { ca, ioa, nof: opts.nof ?? NOF_TRANSPARENT, originator: this.host.originator };
    const maxRetries = opts.maxRetries ?? 3;
    const what = `upload to CA ${ca} IOA ${ioa}`;
    const sectionSize = sectionSizeFor(data.length, preferred);
    const sections = sectionCount(data.length, sectionSize);
    return this.track(`${ca}:${ioa}`, opts, what, (ctl) => {
      const started = this.host.clock.now();
      let state: 'announced' | 'section-ready' | 'sending' | 'section-sent' | 'file-sent' = 'announced';
      let nos = 0;
      let done = 0;
      let gen = 0;
      let retries = 0;
      const secLen = (n: number): number => Math.min(sectionSize, data.length - (n - 1) * sectionSize);
      const progress = (inSection: number): void => opts.onProgress?.({ direction: 'upload', ca, ioa, transferred: done + inSection, total: data.length, section: nos });
      const sectionReady = (): void => {
        state = 'section-ready';
        this.send(sectionReadyAsdu(addr, nos, secLen(nos)));
      };
      const fileLast = (): void => {
        state = 'file-sent';
        this.send(lastAsdu(addr, nos, Lsq.FILE_TRANSFER, fileChecksum(data)));
      };
      const sendSection = (): void => {
        state = 'sending';
        const my = ++gen;
        const start = (nos - 1) * sectionSize;
        const end = start + secLen(nos);
        const chs = fileChecksum(data.subarray(start, end));
        let off = start;
        const next = (): void => {
          if (ctl.done || my !== gen) return;
          ctl.touch();
          if (off < end) {
            const n = Math.min(this.segment, end - off);
            const seg = data.subarray(off, off + n);
            off += n;
            progress(off - start);
            this.send(segmentAsdu(addr, nos, seg), next);
            return;
          }
          state = 'section-sent';
          this.send(lastAsdu(addr, nos, Lsq.SECTION_TRANSFER, chs));
        };
        next();
      };
      ctl.abort = () => {
        gen++;
        this.send(lastAsdu(addr, nos, Lsq.FILE_TRANSFER_DEACTIVATED, 0));
      };
      ctl.handle = (a, obj) => {
        if (!obj) return;
        if (a.negative || (a.cot >= COT.UNKNOWN_TYPE && a.cot <= COT.UNKNOWN_IOA)) {
          return ctl.reject(new FileTransferError('E_FILE_REFUSED', `${what}: the station answered ${typeName(a.typeId)} negatively (${cotName(a.cot)}${'error' in obj ? `, ${fileErrorName(Number(obj.error))}` : ''})`));
        }
        switch (a.typeId) {
          case TypeId.F_FR_NA_1:
            if (obj.negative === true) return ctl.reject(new FileTransferError('E_FILE_REFUSED', `${what}: the station refused the file (negative file ready)`));
            return;
          case TypeId.F_SC_NA_1: {
            const action = Number(obj.action);
            if (action === Scq.DEACTIVATE_FILE) return ctl.reject(new FileTransferError('E_FILE_DEACTIVATED', `${what}: the station deactivated the file`));
            if (action === Scq.REQUEST_FILE && state === 'announced') {
              if (sections === 0) return fileLast();
              nos = 1;
              return sectionReady();
            }
            if (action === Scq.REQUEST_SECTION && state === 'section-ready') {
              if (Number(obj.section) !== nos) return ctl.reject(new FileTransferError('E_FILE_SEQUENCE', `${what}: the station called section ${String(obj.section)}, section ${nos} is ready`));
              return sendSection();
            }
            if (action === Scq.DEACTIVATE_SECTION) {
              gen++;
              return sectionReady();
            }
            return;
          }
          case TypeId.F_AF_NA_1: {
            const ack = Number(obj.ack);
            const error = Number(obj.error);
            if (ack === Afq.SECTION_POSITIVE && state === 'section-sent') {
              done += secLen(nos);
              retries = 0;
              if (nos >= sections) return fileLast();
              nos++;
              return sectionReady();
            }
            if (ack === Afq.SECTION_NEGATIVE && (state === 'section-sent' || state === 'section-ready' || state === 'sending')) {
              gen++;
              if (++retries > maxRetries) {
                this.send(lastAsdu(addr, nos, Lsq.FILE_TRANSFER_DEACTIVATED, 0));
                return ctl.reject(new FileTransferError(error === FileErrorCause.CHECKSUM ? 'E_FILE_CHECKSUM' : 'E_FILE_NEGATIVE_ACK', `${what}: section ${nos} acknowledged negatively ${retries} times (${fileErrorName(error)})`));
              }
              this.host.log.log('warn', 'master.file.section_repeat', `${what}: section ${nos} acknowledged negatively (${fileErrorName(error)}): repeated`, { ca, ioa, nos, error });
              return sectionReady();
            }
            if (ack === Afq.FILE_POSITIVE && state === 'file-sent') {
              this.host.log.log('info', 'master.file.uploaded', `${what}: ${data.length} octets in ${sections} section(s)`, { ca, ioa, length: data.length, sections });
              return ctl.resolve({ ca, ioa, nof: addr.nof, length: data.length, sections, checksum: fileChecksum(data), durationMs: this.host.clock.now() - started });
            }
            if (ack === Afq.FILE_NEGATIVE) {
              return ctl.reject(new FileTransferError(error === FileErrorCause.CHECKSUM ? 'E_FILE_CHECKSUM' : 'E_FILE_NEGATIVE_ACK', `${what}: the station acknowledged the file negatively (${fileErrorName(error)})`));
            }
            return;
          }
          default:
            return;
        }
      };
      this.send(fileReadyAsdu(addr, data.length));
    });
  }
}

interface Control<T> {
  touch(): void;
  resolve(v: T): void;
  reject(e: FileTransferError): void;
  readonly done: boolean;
  handle: (a: Asdu, obj: InformationObject | undefined) => void;
  /** Tell the station the operation ends (deactivation). */
  abort: () => void;
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
