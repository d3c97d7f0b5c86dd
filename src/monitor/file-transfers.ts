/**
 * File transfers seen on the wire (types 120..127): per flow and file (CA, IOA), who started it
 * (download: the master's select or query log; upload: the master's file ready), the announced
 * length, the sections and octets that went, the checksums recomputed from the segments, and how
 * it ended (completed, refused, failed, aborted, incomplete) with its duration in capture time.
 */
import { Afq, fileChecksum, fileErrorName, Lsq, Scq } from '../codec/file-transfer.js';
import { TypeId, isFileType } from '../codec/type-table.js';
import type { Observation } from './types.js';

/** How an observed transfer ended. */
export type FileTransferOutcome = 'completed' | 'refused' | 'failed' | 'aborted' | 'incomplete';

/** One file transfer seen in the traffic. */
export interface ObservedFileTransfer {
  flow: string;
  /** Master and station (`ip:port`). */
  master: string;
  station: string;
  direction: 'download' | 'upload';
  ca: number;
  ioa: number;
  /** Name of file (NOF): the file's name on the wire. */
  nof: number;
  /** Length announced (LOF of the file ready), null when not seen. */
  length: number | null;
  /** Sections acknowledged positively. */
  sections: number;
  /** Sections acknowledged negatively (and repeated). */
  repeatedSections: number;
  /** File octets carried by segments (repeats included). */
  octets: number;
  /** Section or file checksums that did not match the octets seen. */
  checksumMismatches: number;
  outcome: FileTransferOutcome;
  /** Why, when not completed. */
  reason?: string;
  startFrame: number;
  startTs: number;
  endFrame: number | null;
  endTs: number | null;
  durationMs: number | null;
}

interface Open {
  rec: ObservedFileTransfer;
  lastTs: number;
  sectionSum: number;
  fileSum: number;
}

/** Bounds of {@link FileTransferTracker}. */
export interface FileTransferTrackerConfig {
  /** A transfer silent this long (capture time) is closed as incomplete. Default 120 000. */
  idleMs: number;
  /** Closed transfers kept for the inventory (most recent). Default 1000. */
  maxKept: number;
}

/** Follows file transfers of every flow. */
export class FileTransferTracker {
  private readonly open = new Map<string, Open>();
  private readonly kept: ObservedFileTransfer[] = [];
  private done: ObservedFileTransfer[] = [];
  private readonly cfg: FileTransferTrackerConfig;
  private lastSweep = -Infinity;

  constructor(cfg: Partial<FileTransferTrackerConfig> = {}) {
    this.cfg = { idleMs: cfg.idleMs ?? 120_000, maxKept: cfg.maxKept ?? 1000 };
  }

  /** Feed one observed APDU (cheap for anything but F_* ASDUs). */
  observe(o: Observation): void {
    if (o.ts - this.lastSweep >= 1000 && this.open.size > 0) this.sweep(o.ts);
    const a = o.apdu?.asdu;
    if (a === undefined || !isFileType(a.typeId) || o.dir === undefined) return;
    const obj = a.objects[0];
    if (obj === undefined || a.typeId === TypeId.F_DR_TA_1) return;
    const fromMaster = o.dir === 'master→station';
    const key = `${o.flow}|${a.ca}|${obj.ioa}`;
    let t = this.open.get(key);
    const start = (direction: 'download' | 'upload', length: number | null): void => {
      if (t) this.close(key, t, 'incomplete', 'a new transfer of the same file started', o);
      t = {
        rec: {
          flow: o.flow, master: o.master ?? o.src, station: o.station ?? o.dst, direction, ca: a.ca, ioa: obj.ioa, nof: Number(obj.file) || 0, length,
          sections: 0, repeatedSections: 0, octets: 0, checksumMismatches: 0, outcome: 'incomplete', startFrame: o.frame, startTs: o.ts, endFrame: null, endTs: null, durationMs: null,
        },
        lastTs: o.ts, sectionSum: 0, fileSum: 0,
      };
      this.open.set(key, t);
    };
    if (fromMaster && !a.negative && a.cot === 13) {
      if (a.typeId === TypeId.F_SC_NB_1 || (a.typeId === TypeId.F_SC_NA_1 && obj.action === Scq.SELECT_FILE)) return start('download', null);
      if (a.typeId === TypeId.F_FR_NA_1) return start('upload', Number(obj.length));
    }
    if (!t) return;
    t.lastTs = o.ts;
    const r = t.rec;
    if (a.negative || a.cot >= 44) return this.close(key, t, 'refused', `${fromMaster ? 'master' : 'station'} answered negatively (cause ${a.cot}${a.negative ? ', P/N=1' : ''})`, o);
    switch (a.typeId) {
      case TypeId.F_FR_NA_1:
        if (obj.negative === true) return this.close(key, t, 'refused', 'negative file ready', o);
        if (r.direction === 'download') r.length = Number(obj.length);
        return;
      case TypeId.F_SR_NA_1:
        t.sectionSum = 0;
        return;
      case TypeId.F_SC_NA_1:
        if (obj.action === Scq.DEACTIVATE_FILE) return this.close(key, t, 'aborted', `file deactivated by the ${fromMaster ? 'master' : 'station'}`, o);
        return;
      case TypeId.F_SG_NA_1: {
        const seg = obj.segment;
        if (seg instanceof Uint8Array) {
          r.octets += seg.length;
          t.sectionSum = fileChecksum(seg, t.sectionSum);
        }
        return;
      }
      case TypeId.F_LS_NA_1: {
        const lsq = Number(obj.lsq);
        if (lsq === Lsq.FILE_TRANSFER_DEACTIVATED || lsq === Lsq.SECTION_TRANSFER_DEACTIVATED) return this.close(key, t, 'aborted', 'ended with deactivation', o);
        if (lsq === Lsq.SECTION_TRANSFER && Number(obj.checksum) !== t.sectionSum) r.checksumMismatches++;
        if (lsq === Lsq.FILE_TRANSFER && Number(obj.checksum) !== t.fileSum) r.checksumMismatches++;
        return;
      }
      case TypeId.F_AF_NA_1: {
        const ack = Number(obj.ack);
        if (ack === Afq.SECTION_POSITIVE) {
          r.sections++;
          t.fileSum = (t.fileSum + t.sectionSum) & 0xff;
        } else if (ack === Afq.SECTION_NEGATIVE) r.repeatedSections++;
        else if (ack === Afq.FILE_POSITIVE) this.close(key, t, 'completed', undefined, o);
        else if (ack === Afq.FILE_NEGATIVE) this.close(key, t, 'failed', `negative file acknowledgement (${fileErrorName(Number(obj.error))})`, o);
        return;
      }
      default:
    }
  }

  /** Transfers closed since the last call. */
  take(): ObservedFileTransfer[] {
    const r = this.done;
    this.done = [];
    return r;
  }

  /** Closed transfers kept (most recent {@link FileTransferTrackerConfig.maxKept}) followed by the open ones. */
  all(): ObservedFileTransfer[] {
    return [...this.kept, ...[...this.open.values()].map((t) => ({ ...t.rec }))];
  }

  /** Close transfers idle since before `now - idleMs`. */
  sweep(now: number): void {
    this.lastSweep = now;
    for (const [k, t] of this.open) if (now - t.lastTs > this.cfg.idleMs) this.close(k, t, 'incomplete', `no file-transfer ASDU for ${this.cfg.idleMs} ms`, undefined, t.lastTs);
  }

  /** Flow ended: its open transfers are incomplete. */
  closeFlow(flow: string, now: number): void {
    for (const [k, t] of this.open) if (t.rec.flow === flow) this.close(k, t, 'incomplete', 'connection ended', undefined, now);
  }

  private close(key: string, t: Open, outcome: FileTransferOutcome, reason: string | undefined, o: Observation | undefined, ts = o?.ts ?? t.lastTs): void {
    this.open.delete(key);
    const r = t.rec;
    r.outcome = outcome;
    if (reason !== undefined) r.reason = reason;
    r.endFrame = o?.frame ?? null;
    r.endTs = ts;
    r.durationMs = ts - r.startTs;
    this.done.push(r);
    this.kept.push(r);
    if (this.kept.length > this.cfg.maxKept) this.kept.shift();
  }
}
