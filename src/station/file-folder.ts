/**
 * A folder exposed by file transfer: a {@link FileProvider} (its regular files, one IOA each) and,
 * when uploads are allowed, a {@link FileReceiver} (a verified upload replaces the file of that IOA,
 * written to a temporary name first and renamed). Nothing outside the folder is read or written:
 * names are plain file names (no separator, no `..`, no NUL), and a name whose real path (after
 * symbolic links) leaves the folder is refused.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { MAX_FILE_LENGTH, NOF_TRANSPARENT } from '../codec/file-transfer.js';
import type { FileProvider, FileReadRequest, FileReceiver, FileUploadRequest, StationFile } from './file-service.js';

/** One file of a folder at a fixed IOA. */
export interface FolderFileMapping {
  ioa: number;
  /** File name inside the folder (plain name, no path). */
  name: string;
  /** NOF, default 1. */
  nof?: number;
}

/** How a folder is exposed. */
export interface FolderFilesOptions {
  /** The folder. */
  dir: string;
  /** Common address of the files. Default 1. */
  ca?: number;
  /**
   * Fixed IOAs: these files at these addresses. Without `map`, every regular file of the folder
   * (sorted by name) gets an IOA counting up from `firstIoa`.
   */
  map?: readonly FolderFileMapping[];
  /** First IOA when numbering the folder's files. Default 1. */
  firstIoa?: number;
  /** Accept uploads (the file at that IOA is replaced; an IOA without a file writes `ioa-<IOA>.bin`). Default false. */
  upload?: boolean;
}

/** Thrown for a configuration or a name that would leave the folder. */
export class FolderFilesError extends Error {
  readonly code = 'E_FILE_PATH';
  constructor(message: string) {
    super(message);
    this.name = 'FolderFilesError';
  }
}

/** Whether `name` is a plain file name (no directory part, no `.`/`..`, no NUL, no separator of any platform). */
export function isPlainFileName(name: string): boolean {
  return name.length > 0 && name.length <= 255 && name !== '.' && name !== '..' && !/[/\\\0]/.test(name) && !/^[A-Za-z]:/.test(name);
}

/** A provider and (optionally) a receiver over one folder. */
export function folderFiles(o: FolderFilesOptions): { provider: FileProvider; receiver?: FileReceiver; commonAddresses: number[] } {
  const dir = path.resolve(o.dir);
  const ca = o.ca ?? 1;
  const first = o.firstIoa ?? 1;
  if (!Number.isInteger(ca) || ca < 1 || ca > 0xffff) throw new FolderFilesError(`files.ca must be an integer 1..65535, got ${JSON.stringify(o.ca)}`);
  if (!Number.isInteger(first) || first < 1 || first > 0xffffff) throw new FolderFilesError(`files.firstIoa must be an integer 1..16777215, got ${JSON.stringify(o.firstIoa)}`);
  const seen = new Set<number>();
  for (const [i, m] of (o.map ?? []).entries()) {
    if (!Number.isInteger(m.ioa) || m.ioa < 1 || m.ioa > 0xffffff) throw new FolderFilesError(`files.map[${i}].ioa must be an integer 1..16777215, got ${JSON.stringify(m.ioa)}`);
    if (seen.has(m.ioa)) throw new FolderFilesError(`files.map[${i}]: IOA ${m.ioa} is mapped twice`);
    seen.add(m.ioa);
    if (typeof m.name !== 'string' || !isPlainFileName(m.name)) throw new FolderFilesError(`files.map[${i}].name must be a plain file name inside the folder, got ${JSON.stringify(m.name)}`);
    if (m.nof !== undefined && (!Number.isInteger(m.nof) || m.nof < 1 || m.nof > 0xffff)) throw new FolderFilesError(`files.map[${i}].nof must be an integer 1..65535, got ${JSON.stringify(m.nof)}`);
  }

  /** The real path of `name` inside the folder, or an error naming why not. */
  const inside = async (name: string): Promise<string> => {
    if (!isPlainFileName(name)) throw new FolderFilesError(`${JSON.stringify(name)} is not a plain file name`);
    const p = path.join(dir, name);
    const realDir = await fs.realpath(dir);
    let real: string;
    try {
      real = await fs.realpath(p);
    } catch {
      return p; // does not exist (yet): the joined plain name stays inside
    }
    const rel = path.relative(realDir, real);
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) throw new FolderFilesError(`${JSON.stringify(name)} leads outside the folder`);
    return real;
  };

  const list = async (reqCa: number): Promise<StationFile[]> => {
    if (reqCa !== ca) return [];
    const entries: Array<{ ioa: number; name: string; nof: number }> = [];
    if (o.map) for (const m of o.map) entries.push({ ioa: m.ioa, name: m.name, nof: m.nof ?? NOF_TRANSPARENT });
    else {
      const names = (await fs.readdir(dir, { withFileTypes: true })).filter((d) => (d.isFile() || d.isSymbolicLink()) && isPlainFileName(d.name) && !d.name.startsWith('.iec104-upload-')).map((d) => d.name).sort();
      names.forEach((name, i) => entries.push({ ioa: first + i, name, nof: NOF_TRANSPARENT }));
    }
    const out: StationFile[] = [];
    for (const e of entries) {
      try {
        const st = await fs.stat(await inside(e.name));
        if (!st.isFile() || st.size > MAX_FILE_LENGTH) continue;
        out.push({ ca, ioa: e.ioa, nof: e.nof, name: e.name, length: st.size, time: st.mtimeMs });
      } catch {
        // missing, outside the folder or unreadable: not listed
      }
    }
    return out;
  };

  const provider: FileProvider = {
    list,
    async read(req: FileReadRequest): Promise<Uint8Array> {
      const name = req.file.name;
      if (name === undefined) throw new FolderFilesError(`no file name for IOA ${req.file.ioa}`);
      return new Uint8Array(await fs.readFile(await inside(name)));
    },
  };
  if (!o.upload) return { provider, commonAddresses: [ca] };

  const targetName = async (ioa: number): Promise<string> => o.map?.find((m) => m.ioa === ioa)?.name ?? (await list(ca)).find((f) => f.ioa === ioa)?.name ?? `ioa-${ioa}.bin`;
  const receiver: FileReceiver = {
    accept(req: FileUploadRequest): true | string {
      if (req.ca !== ca) return `no folder at CA ${req.ca}`;
      return true;
    },
    async write(req: FileUploadRequest, data: Uint8Array): Promise<void> {
      const name = await targetName(req.ioa);
      const target = await inside(name);
      const tmp = path.join(dir, `.iec104-upload-${process.pid}-${req.ioa}-${Date.now()}`);
      await fs.writeFile(tmp, data, { flag: 'wx' });
      try {
        await fs.rename(tmp, target);
      } catch (e) {
        await fs.rm(tmp, { force: true });
        throw e;
      }
    },
  };
  return { provider, receiver, commonAddresses: [ca] };
}
