/**
 * File transfer of a controlled station (IEC 60870-5-101 clause 7.4.11, as used by 104): the
 * directory (F_DR_TA_1 on a call directory), transfers in monitor direction (download: select,
 * call file, call section, segments, last segment / last section, acknowledgements) and in control
 * direction (upload: the master's file ready, the station's calls, the master's segments, the
 * station's acknowledgements).
 *
 * One {@link FileService} per station. A transfer belongs to the connection that started it: the
 * file (CA, IOA) is locked for that connection until the transfer ends, ASDUs of other connections
 * about it are refused (P/N=1) and leave it untouched. A connection runs one transfer at a time. A
 * disconnect, a timeout (injectable clock), a deactivation or too many repeated sections end the
 * transfer, free its buffers and its lock, and report a {@link FileTransferRecord} with a code.
 *
 * Segments leave one at a time as the link's window allows (each queued when the previous one was
 * handed to the link), after the events raised before them, so a large file neither fills memory
 * with frames nor holds events back.
 */
import type { Asdu, InformationObject } from '../codec/asdu.js';
import { COT } from '../codec/cause.js';
import {
  ackAsdu, Afq, type DirectoryEntry, directoryAsdus, FILE_COT, FileErrorCause, fileChecksum, fileErrorName, fileReadyAsdu, lastAsdu, Lsq,
  MAX_FILE_LENGTH, maxSegmentSize, NOF_TRANSPARENT, Scq, sectionCount, sectionReadyAsdu, sectionSizeFor, segmentAsdu, callAsdu, type FileAddress,
} from '../codec/file-transfer.js';
import type { CodecOptions } from '../codec/options.js';
import { cp56FromDate, cp56ToDate, type Cp56Time } from '../codec/time.js';
import { TypeId, typeName } from '../codec/type-table.js';
import type { Clock, TimerHandle } from '../clock.js';
import type { Logger } from '../log.js';

/** A file a station offers. */
export interface StationFile {
  ca: number;
  ioa: number;
  /** Name of file (NOF). Default 1 (transparent file). */
  nof?: number;
  /** Local name (for logs and records; not sent). */
  name?: string;
  /** Length in octets (as listed in the directory). */
  length: number;
  /** Creation time, ms since the epoch (directory time tag). Default: now. */
  time?: number;
}

/** A request to read a file for a download. */
export interface FileReadRequest {
  file: StationFile;
  sessionId: number;
  remote?: string;
  /** F_SC_NB_1 (query log): the requested time range. */
  range?: { from: Date; to: Date };
}

/** Offers files for download: the directory and their content. */
export interface FileProvider {
  /** Files at a common address (the directory). */
  list(ca: number): readonly StationFile[] | Promise<readonly StationFile[]>;
  /** The content of a listed file (read once, when it is selected). */
  read(req: FileReadRequest): Uint8Array | Promise<Uint8Array>;
}

/** A master announced a file (F_FR_NA_1) it wants to send. */
export interface FileUploadRequest {
  ca: number;
  ioa: number;
  nof: number;
  /** Announced length (LOF). */
  length: number;
  sessionId: number;
  remote?: string;
}

/** Accepts uploads: decides, then receives the whole file once every checksum passed. */
export interface FileReceiver {
  /** `true` to accept, or the reason of a refusal. */
  accept(req: FileUploadRequest): true | string | Promise<true | string>;
  /** The complete, verified file. A throw (or rejection) makes the station acknowledge the file negatively. */
  write(req: FileUploadRequest, data: Uint8Array): void | Promise<void>;
}

/** Why a transfer failed. */
export type FileTransferCode =
  | 'E_FILE_CHECKSUM' // a section or file checksum did not match the octets
  | 'E_FILE_LENGTH' // more or fewer octets than announced
  | 'E_FILE_SEQUENCE' // a segment or section out of order, duplicated, or an unexpected service
  | 'E_FILE_TIMEOUT' // the peer stayed silent longer than the transfer timeout
  | 'E_FILE_DISCONNECTED' // the connection closed during the transfer
  | 'E_FILE_NEGATIVE_ACK' // the peer acknowledged the file negatively
  | 'E_FILE_DEACTIVATED' // the peer deactivated (aborted) the transfer
  | 'E_FILE_IO' // the provider or receiver failed
  | 'E_FILE_REFUSED'; // the file is unknown, busy or the upload was refused

/** What happened to one transfer (the station's `onTransfer`, logs `station.file.*`). */
export interface FileTransferRecord {
  direction: 'download' | 'upload';
  sessionId: number;
  remote?: string;
  ca: number;
  ioa: number;
  nof: number;
  name?: string;
  length: number;
  sections: number;
  outcome: 'completed' | 'failed';
  code?: FileTransferCode;
  reason?: string;
  /** Clock time (ms) of the first and last step. */
  startedAt: number;
  durationMs: number;
}

/** File transfer options of a station (`StationOptions.files`). */
export interface StationFileOptions {
  provider?: FileProvider;
  receiver?: FileReceiver;
  /** Preferred section size in octets (raised for files that would need more than 255 sections). Default 65 536. */
  sectionSize?: number;
  /** Silence allowed from the peer during a transfer, ms. Default 30 000. */
  timeoutMs?: number;
  /** Times a section may be repeated after a negative acknowledgement. Default 3. */
  maxRetries?: number;
  /** Largest upload accepted, octets (at most 16 777 215). Default 16 777 215. */
  maxUploadSize?: number;
  /** Common addresses the files live at (added to the station's common addresses). */
  commonAddresses?: readonly number[];
  /** Called when a transfer ends. */
  onTransfer?: (r: FileTransferRecord) => void;
}

/** The part of a station session the file service uses (`StationSession` satisfies it). */
export interface FileSessionPort {
  readonly id: number;
  readonly remote?: string;
  readonly isClosed: boolean;
  /** Queue an ASDU after the events raised so far; `sent` runs when it is handed to the link. */
  sendFile(asdu: Asdu, sent?: () => void): void;
}

/** What the file service needs from its station. */
export interface FileServiceHost {
  readonly clock: Clock;
  readonly codec: CodecOptions;
  readonly timeTags: { utc: boolean };
  hasCommonAddress(ca: number): boolean;
  now(): number;
  /** Why this connection may not upload (access roles), or undefined. */
  uploadDenied?(s: FileSessionPort): string | undefined;
}

type DownloadState = 'opening' | 'selected' | 'section-ready' | 'sending' | 'section-sent' | 'file-sent';
type UploadState = 'accepting' | 'await-section' | 'receiving' | 'writing';

interface TransferBase {
  session: FileSessionPort;
  addr: FileAddress;
  key: string;
  length: number;
  name?: string;
  startedAt: number;
  timer: TimerHandle | undefined;
  /** Clock time of the last step (the timeout counts from it). */
  lastActivity: number;
  /** Incremented to invalidate callbacks of a previous step (segment chains). */
  gen: number;
  retries: number;
  done: boolean;
  sections: number;
}
interface Download extends TransferBase {
  dir: 'download';
  state: DownloadState;
  data: Uint8Array;
  sectionSize: number;
  /** Current section, 1-based. */
  nos: number;
}
interface Upload extends TransferBase {
  dir: 'upload';
  state: UploadState;
  req: FileUploadRequest;
  data: Uint8Array;
  /** Octets of completed sections. */
  filled: number;
  nos: number;
  sectionLength: number;
  /** Octets received in the current section. */
  got: number;
  checksum: number;
  /** Fault seen in the current section (answered at its last segment). */
  fault: { code: FileTransferCode; error: number; why: string } | undefined;
  lastNos: number;
}
type Transfer = Download | Upload;

/** The file transfer procedures of one station. */
export class FileService {
  private readonly bySession = new Map<FileSessionPort, Transfer>();
  private readonly byFile = new Map<string, Transfer>();
  private readonly sectionSize: number;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly maxUpload: number;
  private readonly segment: number;

  constructor(private readonly host: FileServiceHost, private readonly opts: StationFileOptions, private readonly log: Logger) {
    this.sectionSize = positiveInt(opts.sectionSize ?? 65_536, 'sectionSize', MAX_FILE_LENGTH);
    this.timeoutMs = positiveInt(opts.timeoutMs ?? 30_000, 'timeoutMs');
    this.maxRetries = nonNegativeInt(opts.maxRetries ?? 3, 'maxRetries');
    this.maxUpload = nonNegativeInt(opts.maxUploadSize ?? MAX_FILE_LENGTH, 'maxUploadSize', MAX_FILE_LENGTH);
    this.segment = maxSegmentSize(host.codec);
  }

  /** Transfers under way (for observability). */
  get active(): number {
    return this.bySession.size;
  }

  /** Handle a received F_* ASDU of `s`. */
  onAsdu(s: FileSessionPort, req: Asdu): void {
    const obj = req.objects[0];
    if (req.typeId === TypeId.F_SC_NA_1 && req.cot === COT.REQUEST) return void this.directory(s, req).catch((e: unknown) => this.ioFailed('directory', e));
    if (req.cot !== FILE_COT || req.negative) return this.refuse(s, req, COT.UNKNOWN_CAUSE, `cause ${req.cot}${req.negative ? ' with P/N=1' : ''} not accepted for ${typeName(req.typeId)}`);
    if (obj === undefined || req.objects.length !== 1) return this.refuse(s, req, COT.UNKNOWN_IOA, `${req.objects.length} information objects (expected 1)`);
    if (!this.host.hasCommonAddress(req.ca)) return this.refuse(s, req, COT.UNKNOWN_CA, `common address ${req.ca} not configured`);
    const key = `${req.ca}:${obj.ioa}`;
    const mine = this.bySession.get(s);
    const owner = this.byFile.get(key);
    const starts = req.typeId === TypeId.F_FR_NA_1 || req.typeId === TypeId.F_SC_NB_1 || (req.typeId === TypeId.F_SC_NA_1 && (Number(obj.action) === Scq.SELECT_FILE || Number(obj.action) === Scq.DELETE_FILE));
    if (owner && owner.session !== s) {
      const why = `file CA ${req.ca} IOA ${obj.ioa} is being transferred by connection ${owner.session.id}`;
      return starts ? this.negativeStart(s, req, obj, why) : this.refuse(s, req, FILE_COT, why);
    }
    if (starts) {
      if (mine) return this.negativeStart(s, req, obj, `connection already transfers CA ${mine.addr.ca} IOA ${mine.addr.ioa}`);
      if (req.typeId === TypeId.F_FR_NA_1) return void this.startUpload(s, req, obj);
      if (Number(obj.action) === Scq.DELETE_FILE) return this.negativeStart(s, req, obj, 'deleting files is not supported');
      return void this.startDownload(s, req, obj);
    }
    if (!mine || mine.key !== key || Number(obj.file) !== mine.addr.nof) return this.refuse(s, req, FILE_COT, `no transfer of CA ${req.ca} IOA ${obj.ioa} NOF ${String(obj.file)} on this connection`);
    this.touch(mine);
    if (mine.dir === 'download') this.onDownloadAsdu(mine, req, obj);
    else this.onUploadAsdu(mine, req, obj);
  }

  /** The connection closed: its transfer fails and frees its resources. */
  sessionClosed(s: FileSessionPort): void {
    const t = this.bySession.get(s);
    if (t) this.finish(t, 'E_FILE_DISCONNECTED', 'the connection closed during the transfer');
  }

  /** Station closing: every transfer ends. */
  close(): void {
    for (const t of [...this.bySession.values()]) this.finish(t, 'E_FILE_DISCONNECTED', 'the station closed');
  }

  // ------------------------------------------------------------------------------------------
  // directory

  private async directory(s: FileSessionPort, req: Asdu): Promise<void> {
    if (!this.host.hasCommonAddress(req.ca)) return this.refuse(s, req, COT.UNKNOWN_CA, `common address ${req.ca} not configured`);
    const files = this.opts.provider ? await this.opts.provider.list(req.ca) : [];
    if (s.isClosed) return;
    const entries: DirectoryEntry[] = files.map((f) => ({
      ioa: f.ioa, nof: f.nof ?? NOF_TRANSPARENT, length: f.length, active: this.byFile.has(`${f.ca}:${f.ioa}`),
      time: cp56FromDate(new Date(f.time ?? this.host.now()), this.host.timeTags.utc),
    }));
    for (const a of directoryAsdus(req.ca, entries, this.host.codec, COT.REQUEST, req.originator)) s.sendFile(a);
    this.log.log('info', 'station.file.directory', `directory of CA ${req.ca}: ${entries.length} file(s)`, { sessionId: s.id, ca: req.ca, files: entries.length });
  }

  // ------------------------------------------------------------------------------------------
  // download (monitor direction)

  private async startDownload(s: FileSessionPort, req: Asdu, obj: InformationObject): Promise<void> {
    const addr: FileAddress = { ca: req.ca, ioa: obj.ioa, nof: Number(obj.file), originator: req.originator };
    const key = `${req.ca}:${obj.ioa}`;
    const t: Download = {
      dir: 'download', state: 'opening', session: s, addr, key, length: 0, startedAt: this.host.clock.now(), lastActivity: 0, timer: undefined, gen: 0, retries: 0, done: false,
      sections: 0, data: new Uint8Array(0), sectionSize: this.sectionSize, nos: 0,
    };
    this.bySession.set(s, t);
    this.byFile.set(key, t);
    let range: FileReadRequest['range'];
    if (req.typeId === TypeId.F_SC_NB_1) {
      range = { from: cp56ToDate(obj.start as Cp56Time, this.host.timeTags.utc), to: cp56ToDate(obj.stop as Cp56Time, this.host.timeTags.utc) };
    }
    let data: Uint8Array | undefined;
    let why: string | undefined;
    try {
      const file = this.opts.provider ? (await this.opts.provider.list(req.ca)).find((f) => f.ioa === obj.ioa) : undefined;
      if (!file) why = this.opts.provider ? `no file at CA ${req.ca} IOA ${obj.ioa}` : 'this station offers no files';
      else if ((file.nof ?? NOF_TRANSPARENT) !== addr.nof) why = `file at IOA ${obj.ioa} has NOF ${file.nof ?? NOF_TRANSPARENT}, not ${addr.nof}`;
      else {
        t.name = file.name;
        data = await this.opts.provider!.read({ file, sessionId: s.id, remote: s.remote, range });
        if (!(data instanceof Uint8Array)) why = 'the file provider returned no octets';
        else if (data.length > MAX_FILE_LENGTH) why = `the file has ${data.length} octets, more than LOF allows (${MAX_FILE_LENGTH})`;
      }
    } catch (e) {
      why = `reading the file failed: ${e instanceof Error ? e.message : String(e)}`;
    }
    if (t.done) return; // the connection closed meanwhile
    if (why !== undefined || !data) {
      this.release(t);
      return this.negativeStart(s, req, obj, why ?? 'no data');
    }
    t.data = data;
    t.length = data.length;
    t.sectionSize = sectionSizeFor(data.length, this.sectionSize);
    t.sections = sectionCount(data.length, t.sectionSize);
    t.state = 'selected';
    this.touch(t);
    this.log.log('info', 'station.file.selected', `CA ${addr.ca} IOA ${addr.ioa} selected for download: ${t.length} octets in ${t.sections} section(s)`, { sessionId: s.id, ca: addr.ca, ioa: addr.ioa, nof: addr.nof, length: t.length, sections: t.sections, name: t.name });
    s.sendFile(fileReadyAsdu(addr, t.length));
  }

  private onDownloadAsdu(t: Download, req: Asdu, obj: InformationObject): void {
    const s = t.session;
    if (req.typeId === TypeId.F_SC_NA_1) {
      const action = Number(obj.action);
      if (action === Scq.DEACTIVATE_FILE) return this.finish(t, 'E_FILE_DEACTIVATED', 'the master deactivated the file');
      if (action === Scq.REQUEST_FILE && t.state === 'selected') {
        if (t.sections === 0) {
          t.state = 'file-sent';
          return s.sendFile(lastAsdu(t.addr, 0, Lsq.FILE_TRANSFER, 0));
        }
        t.nos = 1;
        return this.sectionReady(t);
      }
      if (action === Scq.REQUEST_SECTION && (t.state === 'section-ready' || t.state === 'section-sent')) {
        if (Number(obj.section) !== t.nos) return this.refuse(s, req, FILE_COT, `call of section ${String(obj.section)}, section ${t.nos} is ready`, FileErrorCause.UNEXPECTED_SECTION);
        return this.sendSection(t);
      }
      if (action === Scq.DEACTIVATE_SECTION && t.state === 'sending') {
        t.gen++; // stops the segment chain
        t.state = 'section-ready';
        this.log.log('info', 'station.file.section_deactivated', `section ${t.nos} of CA ${t.addr.ca} IOA ${t.addr.ioa} deactivated`, { sessionId: s.id, ca: t.addr.ca, ioa: t.addr.ioa, nos: t.nos });
        return;
      }
      return this.refuse(s, req, FILE_COT, `${scqName(action)} unexpected while ${t.state}`, FileErrorCause.UNEXPECTED_SERVICE);
    }
    if (req.typeId === TypeId.F_AF_NA_1) {
      const ack = Number(obj.ack);
      const error = Number(obj.error);
      if (t.state === 'section-sent' && ack === Afq.SECTION_POSITIVE) {
        if (t.nos >= t.sections) {
          t.state = 'file-sent';
          return s.sendFile(lastAsdu(t.addr, t.nos, Lsq.FILE_TRANSFER, fileChecksum(t.data)));
        }
        t.nos++;
        t.retries = 0;
        return this.sectionReady(t);
      }
      if (t.state === 'section-sent' && ack === Afq.SECTION_NEGATIVE) {
        if (++t.retries > this.maxRetries) {
          s.sendFile(lastAsdu(t.addr, t.nos, Lsq.FILE_TRANSFER_DEACTIVATED, 0));
          return this.finish(t, error === FileErrorCause.CHECKSUM ? 'E_FILE_CHECKSUM' : 'E_FILE_NEGATIVE_ACK', `section ${t.nos} acknowledged negatively ${t.retries} times (${fileErrorName(error)})`);
        }
        this.log.log('warn', 'station.file.section_repeat', `section ${t.nos} acknowledged negatively (${fileErrorName(error)}): repeated`, { sessionId: s.id, ca: t.addr.ca, ioa: t.addr.ioa, nos: t.nos, error });
        return this.sectionReady(t);
      }
      if (t.state === 'file-sent' && ack === Afq.FILE_POSITIVE) return this.finish(t);
      if (t.state === 'file-sent' && ack === Afq.FILE_NEGATIVE) return this.finish(t, error === FileErrorCause.CHECKSUM ? 'E_FILE_CHECKSUM' : 'E_FILE_NEGATIVE_ACK', `the master acknowledged the file negatively (${fileErrorName(error)})`);
      if (ack === Afq.FILE_NEGATIVE) return this.finish(t, 'E_FILE_NEGATIVE_ACK', `the master aborted the file (${fileErrorName(error)})`);
      return this.refuse(s, req, FILE_COT, `acknowledgement ${ack} unexpected while ${t.state}`, FileErrorCause.UNEXPECTED_SERVICE);
    }
    this.refuse(s, req, FILE_COT, `${typeName(req.typeId)} unexpected during a download`, FileErrorCause.UNEXPECTED_SERVICE);
  }

  private sectionReady(t: Download): void {
    t.state = 'section-ready';
    t.session.sendFile(sectionReadyAsdu(t.addr, t.nos, this.sectionLength(t, t.nos)));
  }

  private sectionLength(t: Download, nos: number): number {
    return Math.min(t.sectionSize, t.length - (nos - 1) * t.sectionSize);
  }

  private sendSection(t: Download): void {
    t.state = 'sending';
    const gen = ++t.gen;
    const start = (t.nos - 1) * t.sectionSize;
    const end = start + this.sectionLength(t, t.nos);
    const chs = fileChecksum(t.data.subarray(start, end));
    let off = start;
    const next = (): void => {
      if (t.done || t.gen !== gen) return;
      this.touch(t);
      if (off < end) {
        const n = Math.min(this.segment, end - off);
        const seg = t.data.subarray(off, off + n);
        off += n;
        t.session.sendFile(segmentAsdu(t.addr, t.nos, seg), next);
        return;
      }
      t.state = 'section-sent';
      t.session.sendFile(lastAsdu(t.addr, t.nos, Lsq.SECTION_TRANSFER, chs));
    };
    next();
  }

  // ------------------------------------------------------------------------------------------
  // upload (control direction)

  private async startUpload(s: FileSessionPort, req: Asdu, obj: InformationObject): Promise<void> {
    const addr: FileAddress = { ca: req.ca, ioa: obj.ioa, nof: Number(obj.file), originator: req.originator };
    const length = Number(obj.length);
    const ur: FileUploadRequest = { ca: req.ca, ioa: obj.ioa, nof: addr.nof, length, sessionId: s.id, remote: s.remote };
    if (obj.negative === true) return this.refuse(s, req, FILE_COT, 'a negative file ready announces no upload');
    if (!this.opts.receiver) return this.negativeStart(s, req, obj, 'this station accepts no uploads');
    const denied = this.host.uploadDenied?.(s);
    if (denied !== undefined) return this.negativeStart(s, req, obj, denied);
    if (length > this.maxUpload) return this.negativeStart(s, req, obj, `${length} octets exceed the upload limit of ${this.maxUpload}`);
    const key = `${req.ca}:${obj.ioa}`;
    const t: Upload = {
      dir: 'upload', state: 'accepting', session: s, addr, key, length, startedAt: this.host.clock.now(), lastActivity: 0, timer: undefined, gen: 0, retries: 0, done: false, sections: 0,
      req: ur, data: new Uint8Array(0), filled: 0, nos: 0, sectionLength: 0, got: 0, checksum: 0, fault: undefined, lastNos: 0,
    };
    this.bySession.set(s, t);
    this.byFile.set(key, t);
    let verdict: true | string;
    try {
      verdict = await this.opts.receiver.accept(ur);
    } catch (e) {
      verdict = `the file receiver failed: ${e instanceof Error ? e.message : String(e)}`;
    }
    if (t.done) return;
    if (verdict !== true) {
      this.release(t);
      return this.negativeStart(s, req, obj, typeof verdict === 'string' ? verdict : 'refused by the file receiver');
    }
    t.data = new Uint8Array(length);
    t.state = 'await-section';
    this.touch(t);
    this.log.log('info', 'station.file.upload_accepted', `upload to CA ${addr.ca} IOA ${addr.ioa} accepted: ${length} octets`, { sessionId: s.id, ca: addr.ca, ioa: addr.ioa, nof: addr.nof, length });
    s.sendFile(callAsdu(addr, Scq.REQUEST_FILE));
  }

  private onUploadAsdu(t: Upload, req: Asdu, obj: InformationObject): void {
    const s = t.session;
    const nos = Number(obj.section);
    switch (req.typeId) {
      case TypeId.F_SR_NA_1: {
        if (t.state !== 'await-section') return this.refuse(s, req, FILE_COT, `section ready unexpected while ${t.state}`, FileErrorCause.UNEXPECTED_SERVICE);
        const len = Number(obj.length);
        const retry = t.fault !== undefined && nos === t.nos;
        if (!retry && nos !== t.lastNos + 1) return this.nackSection(t, nos, FileErrorCause.UNEXPECTED_SECTION, 'E_FILE_SEQUENCE', `section ${nos} announced, ${t.lastNos + 1} expected`);
        if (obj.notReady === true) return; // the sender will announce it again when ready
        if (len > t.length - t.filled) return this.nackSection(t, nos, FileErrorCause.NO_MEMORY, 'E_FILE_LENGTH', `section ${nos} of ${len} octets exceeds the ${t.length - t.filled} announced octets left`);
        t.nos = nos;
        t.sectionLength = len;
        t.got = 0;
        t.checksum = 0;
        t.fault = undefined;
        t.state = 'receiving';
        return s.sendFile(callAsdu(t.addr, Scq.REQUEST_SECTION, nos));
      }
      case TypeId.F_SG_NA_1: {
        if (t.state !== 'receiving') return this.refuse(s, req, FILE_COT, `segment unexpected while ${t.state}`, FileErrorCause.UNEXPECTED_SERVICE);
        if (t.fault) return;
        const seg = obj.segment as Uint8Array;
        if (nos !== t.nos) {
          t.fault = { code: 'E_FILE_SEQUENCE', error: FileErrorCause.UNEXPECTED_SECTION, why: `segment of section ${nos} during section ${t.nos}` };
          return;
        }
        if (t.got + seg.length > t.sectionLength) {
          t.fault = { code: 'E_FILE_LENGTH', error: FileErrorCause.DEFAULT, why: `section ${nos} longer than its announced ${t.sectionLength} octets (duplicated or extra segment)` };
          return;
        }
        t.data.set(seg, t.filled + t.got);
        t.got += seg.length;
        t.checksum = (t.checksum + fileChecksum(seg)) & 0xff;
        return;
      }
      case TypeId.F_LS_NA_1: {
        const lsq = Number(obj.lsq);
        const chs = Number(obj.checksum);
        if (lsq === Lsq.FILE_TRANSFER_DEACTIVATED || lsq === Lsq.SECTION_TRANSFER_DEACTIVATED) return this.finish(t, 'E_FILE_DEACTIVATED', 'the master ended the upload with deactivation');
        if (lsq === Lsq.SECTION_TRANSFER && t.state === 'receiving') {
          const f = t.fault
            ?? (nos !== t.nos ? { code: 'E_FILE_SEQUENCE' as const, error: FileErrorCause.UNEXPECTED_SECTION, why: `last segment of section ${nos} during section ${t.nos}` } : undefined)
            ?? (t.got !== t.sectionLength ? { code: 'E_FILE_LENGTH' as const, error: FileErrorCause.DEFAULT, why: `section ${t.nos}: ${t.got} octets received, ${t.sectionLength} announced` } : undefined)
            ?? (chs !== t.checksum ? { code: 'E_FILE_CHECKSUM' as const, error: FileErrorCause.CHECKSUM, why: `section ${t.nos}: checksum ${chs} received, ${t.checksum} computed` } : undefined);
          t.state = 'await-section';
          if (f) return this.nackSection(t, t.nos, f.error, f.code, f.why);
          t.filled += t.got;
          t.lastNos = t.nos;
          t.sections++;
          t.retries = 0;
          return s.sendFile(ackAsdu(t.addr, t.nos, Afq.SECTION_POSITIVE));
        }
        if (lsq === Lsq.FILE_TRANSFER && t.state === 'await-section') {
          const sum = fileChecksum(t.data.subarray(0, t.filled));
          if (t.filled !== t.length) return this.failUpload(t, FileErrorCause.DEFAULT, 'E_FILE_LENGTH', `${t.filled} octets received, ${t.length} announced`);
          if (chs !== sum) return this.failUpload(t, FileErrorCause.CHECKSUM, 'E_FILE_CHECKSUM', `file checksum ${chs} received, ${sum} computed`);
          return void this.writeUpload(t);
        }
        return this.refuse(s, req, FILE_COT, `last segment/section (LSQ ${lsq}) unexpected while ${t.state}`, FileErrorCause.UNEXPECTED_SERVICE);
      }
      case TypeId.F_SC_NA_1:
        if (Number(obj.action) === Scq.DEACTIVATE_FILE) return this.finish(t, 'E_FILE_DEACTIVATED', 'the master deactivated the file');
        return this.refuse(s, req, FILE_COT, `${scqName(Number(obj.action))} unexpected during an upload`, FileErrorCause.UNEXPECTED_SERVICE);
      case TypeId.F_AF_NA_1:
        if (Number(obj.ack) === Afq.FILE_NEGATIVE) return this.finish(t, 'E_FILE_NEGATIVE_ACK', 'the master aborted the upload');
        return this.refuse(s, req, FILE_COT, 'acknowledgement unexpected during an upload', FileErrorCause.UNEXPECTED_SERVICE);
      default:
        return this.refuse(s, req, FILE_COT, `${typeName(req.typeId)} unexpected during an upload`, FileErrorCause.UNEXPECTED_SERVICE);
    }
  }

  private nackSection(t: Upload, nos: number, error: number, code: FileTransferCode, why: string): void {
    t.fault = { code, error, why };
    t.state = 'await-section';
    if (++t.retries > this.maxRetries) return this.failUpload(t, error, code, `${why} (after ${t.retries - 1} repeats)`);
    this.log.log('warn', 'station.file.section_negative', `upload CA ${t.addr.ca} IOA ${t.addr.ioa}: ${why}`, { sessionId: t.session.id, ca: t.addr.ca, ioa: t.addr.ioa, nos, code, error });
    t.session.sendFile(ackAsdu(t.addr, nos, Afq.SECTION_NEGATIVE, error));
  }

  private failUpload(t: Upload, error: number, code: FileTransferCode, why: string): void {
    t.session.sendFile(ackAsdu(t.addr, t.nos, Afq.FILE_NEGATIVE, error));
    this.finish(t, code, why);
  }

  private async writeUpload(t: Upload): Promise<void> {
    t.state = 'writing';
    this.clearTimer(t);
    try {
      await this.opts.receiver!.write(t.req, t.data);
    } catch (e) {
      if (t.done) return;
      return this.failUpload(t, FileErrorCause.NO_MEMORY, 'E_FILE_IO', `writing the file failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (t.done) return;
    t.session.sendFile(ackAsdu(t.addr, t.nos, Afq.FILE_POSITIVE));
    this.finish(t);
  }

  // ------------------------------------------------------------------------------------------
  // common

  /** A refused start: F_FR_NA_1 with its negative qualifier (select, query log, upload). */
  private negativeStart(s: FileSessionPort, req: Asdu, obj: InformationObject, why: string): void {
    this.log.log('info', 'station.file.refused', `${typeName(req.typeId)} CA ${req.ca} IOA ${obj.ioa} refused: ${why}`, { sessionId: s.id, typeId: req.typeId, ca: req.ca, ioa: obj.ioa, reason: why });
    s.sendFile(fileReadyAsdu({ ca: req.ca, ioa: obj.ioa, nof: Number(obj.file) || 0, originator: req.originator }, req.typeId === TypeId.F_FR_NA_1 ? Number(obj.length) || 0 : 0, true));
  }

  /** The request mirrored with P/N=1 (and the error cause in SCQ/AFQ when the type has one). */
  private refuse(s: FileSessionPort, req: Asdu, cot: number, why: string, error: number = FileErrorCause.UNEXPECTED_SERVICE): void {
    this.log.log('info', 'station.file.negative', `${typeName(req.typeId)} CA ${req.ca}: ${why} (COT ${cot})`, { sessionId: s.id, typeId: req.typeId, ca: req.ca, cot: req.cot, reply: cot, reason: why });
    const objects = req.objects.map((o) => ('action' in o || 'ack' in o ? { ...o, error } : { ...o }));
    s.sendFile({ typeId: req.typeId, sq: req.sq, cot, negative: true, test: req.test, originator: req.originator, ca: req.ca, objects });
  }

  /** Activity: the timeout counts from now. One timer per transfer, re-armed lazily when it fires early. */
  private touch(t: Transfer): void {
    if (t.done) return;
    t.lastActivity = this.host.clock.now();
    if (t.timer === undefined) t.timer = this.host.clock.setTimeout(() => this.timerFired(t), this.timeoutMs);
  }

  private timerFired(t: Transfer): void {
    t.timer = undefined;
    if (t.done) return;
    const left = t.lastActivity + this.timeoutMs - this.host.clock.now();
    if (left > 0) t.timer = this.host.clock.setTimeout(() => this.timerFired(t), left);
    else this.timedOut(t);
  }

  private clearTimer(t: Transfer): void {
    if (t.timer !== undefined) this.host.clock.clearTimeout(t.timer);
    t.timer = undefined;
  }

  private timedOut(t: Transfer): void {
    // the sender ends with deactivation, the receiver acknowledges the file negatively
    if (t.dir === 'download') t.session.sendFile(lastAsdu(t.addr, t.nos, Lsq.FILE_TRANSFER_DEACTIVATED, 0));
    else t.session.sendFile(ackAsdu(t.addr, t.nos, Afq.FILE_NEGATIVE, FileErrorCause.DEFAULT));
    this.finish(t, 'E_FILE_TIMEOUT', `no answer from the master for ${this.timeoutMs} ms (${t.state})`);
  }

  private release(t: Transfer): void {
    t.done = true;
    t.gen++;
    this.clearTimer(t);
    if (this.bySession.get(t.session) === t) this.bySession.delete(t.session);
    if (this.byFile.get(t.key) === t) this.byFile.delete(t.key);
  }

  private finish(t: Transfer, code?: FileTransferCode, reason?: string): void {
    if (t.done) return;
    this.release(t);
    t.data = new Uint8Array(0);
    const now = this.host.clock.now();
    const r: FileTransferRecord = {
      direction: t.dir, sessionId: t.session.id, remote: t.session.remote, ca: t.addr.ca, ioa: t.addr.ioa, nof: t.addr.nof, name: t.name,
      length: t.length, sections: t.dir === 'download' ? t.sections : t.sections, outcome: code ? 'failed' : 'completed', code, reason,
      startedAt: t.startedAt, durationMs: now - t.startedAt,
    };
    if (code) this.log.log('warn', 'station.file.failed', `${t.dir} of CA ${t.addr.ca} IOA ${t.addr.ioa} failed: ${code} ${reason ?? ''}`, { ...r });
    else this.log.log('info', 'station.file.completed', `${t.dir} of CA ${t.addr.ca} IOA ${t.addr.ioa} completed: ${t.length} octets`, { ...r });
    try {
      this.opts.onTransfer?.(r);
    } catch (e) {
      this.log.log('error', 'station.file.handler', `onTransfer threw: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private ioFailed(what: string, e: unknown): void {
    this.log.log('error', 'station.file.io', `${what} failed: ${e instanceof Error ? e.message : String(e)}`, { error: e });
  }
}

function scqName(a: number): string {
  return ['call directory', 'select file', 'call file', 'deactivate file', 'delete file', 'select section', 'call section', 'deactivate section'][a] ?? `SCQ ${a}`;
}

function positiveInt(v: number, name: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(v) || v < 1 || v > max) throw new RangeError(`files.${name} must be an integer 1..${max}, got ${JSON.stringify(v)}`);
  return v;
}
function nonNegativeInt(v: number, name: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`files.${name} must be an integer 0..${max}, got ${JSON.stringify(v)}`);
  return v;
}
