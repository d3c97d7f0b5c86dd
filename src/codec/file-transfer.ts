/**
 * Protocol facts of file transfer (IEC 60870-5-101 clause 7.4.11, used unchanged by 104): the
 * qualifier values of SCQ, LSQ and AFQ, the error codes they carry, the checksum, the largest
 * segment a frame can hold for given field widths, and builders of the F_* ASDUs as plain values.
 * Pure: no state, no I/O. The procedures themselves live in `station/file-service.ts` and
 * `master/file-transfer.ts`.
 */
import type { Asdu, InformationObject } from './asdu.js';
import { MAX_ASDU_LENGTH } from './apci.js';
import type { CodecOptions } from './options.js';
import { headerSize } from './options.js';
import { TypeId } from './type-table.js';

/** Cause of transmission of every file-transfer ASDU except the directory call (13). */
export const FILE_COT = 13;

/** SCQ (select and call qualifier) actions, low nibble. */
export const Scq = Object.freeze({
  DEFAULT: 0,
  SELECT_FILE: 1,
  REQUEST_FILE: 2,
  DEACTIVATE_FILE: 3,
  DELETE_FILE: 4,
  SELECT_SECTION: 5,
  REQUEST_SECTION: 6,
  DEACTIVATE_SECTION: 7,
});

/** LSQ (last section or segment qualifier) values. */
export const Lsq = Object.freeze({
  FILE_TRANSFER: 1,
  FILE_TRANSFER_DEACTIVATED: 2,
  SECTION_TRANSFER: 3,
  SECTION_TRANSFER_DEACTIVATED: 4,
});

/** AFQ (acknowledge file or section qualifier) values, low nibble. */
export const Afq = Object.freeze({
  FILE_POSITIVE: 1,
  FILE_NEGATIVE: 2,
  SECTION_POSITIVE: 3,
  SECTION_NEGATIVE: 4,
});

/** Error codes of SCQ and AFQ (high nibble). */
export const FileErrorCause = Object.freeze({
  DEFAULT: 0,
  NO_MEMORY: 1,
  CHECKSUM: 2,
  UNEXPECTED_SERVICE: 3,
  UNEXPECTED_FILE: 4,
  UNEXPECTED_SECTION: 5,
});

/** Name of a file error cause (high nibble of SCQ/AFQ). */
export function fileErrorName(code: number): string {
  return ['default', 'requested memory space not available', 'checksum failed', 'unexpected communication service', 'unexpected name of file', 'unexpected name of section'][code] ?? `reserved (${code})`;
}

/** NOF 1: a transparent file (the usual name of a file that is not a disturbance record). */
export const NOF_TRANSPARENT = 1;
/** Largest file LOF can announce (3 octets). */
export const MAX_FILE_LENGTH = 0xffffff;
/** Sections are named 1..255 (NOS is one octet, 0 is not used). */
export const MAX_SECTIONS = 255;

/** Checksum of file data: the arithmetic sum of the octets modulo 256, optionally continuing from `start`. */
export function fileChecksum(data: Uint8Array, start = 0): number {
  let s = start;
  for (let i = 0; i < data.length; i++) s += data[i];
  return s & 0xff;
}

/**
 * Largest number of file octets one F_SG_NA_1 can carry with these field widths: the ASDU limit
 * (249) less the header, IOA, NOF (2), NOS (1) and LOS (1). 236 with the 104 widths, 240 at most.
 */
export function maxSegmentSize(o: CodecOptions): number {
  return Math.min(240, MAX_ASDU_LENGTH - headerSize(o) - o.ioaSize - 4);
}

/** Sections a file of `length` octets is split into when sections hold at most `sectionSize` octets (0 for an empty file). */
export function sectionCount(length: number, sectionSize: number): number {
  return length === 0 ? 0 : Math.ceil(length / sectionSize);
}

/**
 * The section size to use for a file: `preferred`, raised when the file would otherwise need more
 * than 255 sections. Throws RangeError for a file longer than LOF allows.
 */
export function sectionSizeFor(length: number, preferred: number): number {
  if (length > MAX_FILE_LENGTH) throw new RangeError(`a file of ${length} octets is longer than LOF allows (${MAX_FILE_LENGTH})`);
  return Math.max(1, Math.min(MAX_FILE_LENGTH, Math.max(preferred, Math.ceil(length / MAX_SECTIONS))));
}

/** Addressing of one file-transfer ASDU. */
export interface FileAddress {
  ca: number;
  ioa: number;
  /** Name of file (NOF). */
  nof: number;
  /** Originator address (COT 2 octets), default 0. */
  originator?: number;
}

function fileAsdu(typeId: number, a: FileAddress, object: Omit<InformationObject, 'ioa'>, cot = FILE_COT, negative = false): Asdu {
  return { typeId, sq: false, cot, negative, test: false, originator: a.originator ?? 0, ca: a.ca, objects: [{ ioa: a.ioa, file: a.nof, ...object }] };
}

/** F_SC_NA_1: select/request/deactivate/delete a file or a section (`nos` 0 for file actions). */
export function callAsdu(a: FileAddress, action: number, nos = 0, error = 0): Asdu {
  return fileAsdu(TypeId.F_SC_NA_1, a, { section: nos, action, error });
}

/** F_SC_NA_1 with cause 5 (request): call directory. */
export function callDirectoryAsdu(ca: number, ioa = 0, originator = 0): Asdu {
  return fileAsdu(TypeId.F_SC_NA_1, { ca, ioa, nof: 0, originator }, { section: 0, action: Scq.DEFAULT, error: 0 }, 5);
}

/** F_SC_NB_1: query log, request the archive file of a time range (answered like a select). */
export function queryLogAsdu(a: FileAddress, start: InformationObject['start'], stop: InformationObject['stop']): Asdu {
  return fileAsdu(TypeId.F_SC_NB_1, a, { start, stop });
}

/** F_FR_NA_1: file ready (positive) or its negative confirmation. */
export function fileReadyAsdu(a: FileAddress, length: number, negative = false): Asdu {
  return fileAsdu(TypeId.F_FR_NA_1, a, { length, frq: 0, negative });
}

/** F_SR_NA_1: section ready (or not ready). */
export function sectionReadyAsdu(a: FileAddress, nos: number, length: number, notReady = false): Asdu {
  return fileAsdu(TypeId.F_SR_NA_1, a, { section: nos, length, srq: 0, notReady });
}

/** F_SG_NA_1: one segment of section `nos`. */
export function segmentAsdu(a: FileAddress, nos: number, segment: Uint8Array): Asdu {
  return fileAsdu(TypeId.F_SG_NA_1, a, { section: nos, segment });
}

/** F_LS_NA_1: last segment of a section or last section of a file, with its checksum. */
export function lastAsdu(a: FileAddress, nos: number, lsq: number, checksum: number): Asdu {
  return fileAsdu(TypeId.F_LS_NA_1, a, { section: nos, lsq, checksum: checksum & 0xff });
}

/** F_AF_NA_1: acknowledge a file or a section, positively or with an error cause. */
export function ackAsdu(a: FileAddress, nos: number, ack: number, error = 0): Asdu {
  return fileAsdu(TypeId.F_AF_NA_1, a, { section: nos, ack, error });
}

/** One entry of a directory (F_DR_TA_1 object). */
export interface DirectoryEntry {
  ioa: number;
  nof: number;
  length: number;
  /** SOF status (0..31, application defined). */
  status?: number;
  /** SOF.FOR: the name is a subdirectory. */
  subdirectory?: boolean;
  /** SOF.FA: a transfer of this file is active. */
  active?: boolean;
  /** Creation time. */
  time: InformationObject['time'];
}

/** Objects of one F_DR_TA_1 ASDU (SQ=0) for these widths. */
export function directoryObjectsPerAsdu(o: CodecOptions): number {
  return Math.floor((MAX_ASDU_LENGTH - headerSize(o)) / (o.ioaSize + 13));
}

/**
 * F_DR_TA_1 ASDUs listing `entries` (cause 5 requested, or 3 spontaneous); SOF.LFD is set on the
 * last entry. An empty directory is one ASDU without objects.
 */
export function directoryAsdus(ca: number, entries: readonly DirectoryEntry[], o: CodecOptions, cot = 5, originator = 0): Asdu[] {
  const per = directoryObjectsPerAsdu(o);
  const out: Asdu[] = [];
  const objects = entries.map((e, i): InformationObject => ({
    ioa: e.ioa, file: e.nof, length: e.length, status: e.status ?? 0, lfd: i === entries.length - 1, for: e.subdirectory ?? false, fa: e.active ?? false, time: e.time,
  }));
  for (let i = 0; i < objects.length || (i === 0 && out.length === 0); i += per) {
    out.push({ typeId: TypeId.F_DR_TA_1, sq: false, cot, negative: false, test: false, originator, ca, objects: objects.slice(i, i + per) });
    if (objects.length === 0) break;
  }
  return out;
}
