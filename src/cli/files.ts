/**
 * `iec104 files HOST[:PORT] --ca N [--get IOA -o PATH | --put PATH --ioa N]`: list the directory
 * of a station, download a file, or upload one, as controlling station (file transfer, types
 * 120..127). Composes `ControllingStation.listFiles/downloadFile/uploadFile`.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { type Clock, systemClock } from '../clock.js';
import { type LogLevel, createLogger, nullLogger } from '../log.js';
import type { Connector } from '../master/connection.js';
import { type FileProgress, FileTransferError, type FileTransferResult, type RemoteFile } from '../master/file-transfer.js';
import { ControllingStation } from '../master/master.js';
import { IEC104_PORT, tcpConnector } from '../master/tcp.js';
import { DEFAULT_TLS_PORT, type TlsConfig, TlsConfigError } from '../transport/tls-config.js';
import type { CliCommand } from './command.js';
import { TLS_CLI_OPTIONS, UsageError, intArg, targetArg, tlsConfigFromArgs, tlsHelp, asUsage } from './args.js';

const HELP = `usage: iec104 files HOST[:PORT] --ca N [--get IOA -o PATH | --put PATH --ioa N] [options]

File transfer as controlling station (IEC 60870-5-101 clause 7.4.11, types 120..127).
Without --get or --put: call the directory of the common address and list its files.

modes:
  (none)             list the directory (F_SC_NA_1 call directory, F_DR_TA_1)
  --get IOA          download the file at IOA (select, call file, call sections,
                     checksums verified, acknowledged); needs -o PATH
  -o, --output PATH  where the downloaded file goes (written to PATH.part, then renamed)
  --put PATH         upload the local file PATH (file ready, sections, segments)
  --ioa N            the IOA the uploaded file goes to (with --put)

options:
  --ca N             common address (required)
  --nof N            name of file (NOF) 1..65535 (default 1, transparent file)
  --from ISO --to ISO  with --get: query log (F_SC_NB_1), the archive file of this time range
  --section-size N   with --put: octets per section (default 65536; raised for files
                     that would need more than 255 sections)
  --timeout MS       silence allowed between two steps of the transfer (default 30000)
  --t0 MS            connection establishment time-out (default 30000)
  --port N           port, when not given as HOST:PORT (default ${IEC104_PORT}, ${DEFAULT_TLS_PORT} with --tls)
  --json             JSON lines on stdout: progress records, then the result
                     (otherwise a progress bar on stderr when it is a terminal)
  --log-level L      write link/master logs to stderr: debug, info, warn, error
  -h, --help         this text

TLS:
${tlsHelp('--tls-ca')}

examples:
  $ iec104 files 10.0.0.5 --ca 1
  IOA      NOF  LENGTH    TIME                      STATUS
  30000    1    800       2026-01-15T10:00:00.000Z
  $ iec104 files 10.0.0.5 --ca 1 --get 30000 -o record.cfg
  downloaded CA 1 IOA 30000: 800 octets in 2 section(s), checksum 0x20, 41 ms -> record.cfg
  $ iec104 files 10.0.0.5 --ca 1 --put settings.xml --ioa 30001 --json
  $ iec104 files 10.0.0.5 --tls --cert client.crt --key client.key --tls-ca ca.crt --ca 1

exit codes:
  0  done (listed, downloaded and verified, uploaded and acknowledged)
  2  usage error
  3  refused by the station: unknown file or CA, busy, negative file ready or
     acknowledgement, deactivated by the station
  4  timeout: the station stayed silent longer than --timeout (some stations,
     e.g. lib60870's, do not implement the call directory)
  5  connection failure (refused, t0 elapsed, STARTDT not confirmed, connection lost)
  6  integrity failure: checksum or length mismatch, sections out of order
     (after the allowed repeats); nothing is written
  7  local file error: cannot read --put PATH or write -o PATH
  130 interrupted (Ctrl-C): the transfer was deactivated at the station`;

/** Parsed `iec104 files` arguments. */
export interface FilesArgs {
  host: string;
  port: number;
  ca: number;
  mode: 'list' | 'get' | 'put';
  ioa?: number;
  output?: string;
  input?: string;
  nof?: number;
  range?: { from: Date; to: Date };
  sectionSize?: number;
  timeout?: number;
  t0?: number;
  json: boolean;
  logLevel?: LogLevel;
  tls?: TlsConfig;
}

/** Exit codes of `iec104 files`. */
export const FILES_EXIT = { OK: 0, USAGE: 2, REFUSED: 3, TIMEOUT: 4, CONNECTION: 5, INTEGRITY: 6, LOCAL: 7, INTERRUPTED: 130 } as const;

/** Parse `iec104 files` arguments. Throws {@link UsageError}. */
export function parseFilesArgs(argv: string[]): FilesArgs {
  const v = asUsage(() =>
    parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        ca: { type: 'string' },
        ioa: { type: 'string' },
        get: { type: 'string' },
        put: { type: 'string' },
        output: { type: 'string', short: 'o' },
        nof: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        'section-size': { type: 'string' },
        timeout: { type: 'string' },
        t0: { type: 'string' },
        port: { type: 'string' },
        json: { type: 'boolean' },
        'log-level': { type: 'string' },
        ...TLS_CLI_OPTIONS,
      },
    }),
  );
  const o = v.values;
  const tls = tlsConfigFromArgs(o);
  const hp = targetArg(v.positionals, o.port, tls !== undefined);
  const ca = intArg('ca', o.ca, 0, 65535);
  if (ca === undefined) throw new UsageError('--ca is required');
  if (o.get !== undefined && o.put !== undefined) throw new UsageError('--get and --put exclude each other');
  const mode = o.get !== undefined ? 'get' : o.put !== undefined ? 'put' : 'list';
  const a: FilesArgs = { host: hp.host, port: hp.port, ca, mode, json: o.json ?? false };
  if (mode === 'get') {
    a.ioa = intArg('get', o.get, 0, 0xffffff);
    if (o.output === undefined) throw new UsageError('--get needs -o PATH');
    if (o.ioa !== undefined) throw new UsageError('--ioa goes with --put (--get takes the IOA itself)');
    a.output = o.output;
  } else if (o.output !== undefined) throw new UsageError('-o goes with --get');
  if (mode === 'put') {
    if (o.ioa === undefined) throw new UsageError('--put needs --ioa N');
    a.ioa = intArg('ioa', o.ioa, 0, 0xffffff);
    a.input = o.put;
  } else if (o['section-size'] !== undefined) throw new UsageError('--section-size goes with --put');
  if (mode === 'list' && o.ioa !== undefined) throw new UsageError('--ioa goes with --put');
  if ((o.from === undefined) !== (o.to === undefined)) throw new UsageError('--from and --to go together');
  if (o.from !== undefined) {
    if (mode !== 'get') throw new UsageError('--from/--to go with --get');
    const from = new Date(o.from);
    const to = new Date(o.to!);
    if (!Number.isFinite(from.getTime())) throw new UsageError(`--from expects an ISO time, not '${o.from}'`);
    if (!Number.isFinite(to.getTime())) throw new UsageError(`--to expects an ISO time, not '${o.to}'`);
    a.range = { from, to };
  }
  const nof = intArg('nof', o.nof, 1, 65535);
  if (nof !== undefined) a.nof = nof;
  const ss = intArg('section-size', o['section-size'], 1, 0xffffff);
  if (ss !== undefined) a.sectionSize = ss;
  const timeout = intArg('timeout', o.timeout, 1, 2 ** 31);
  if (timeout !== undefined) a.timeout = timeout;
  const t0 = intArg('t0', o.t0, 1, 2 ** 31);
  if (t0 !== undefined) a.t0 = t0;
  const level = o['log-level'];
  if (level !== undefined && !['debug', 'info', 'warn', 'error'].includes(level)) throw new UsageError('--log-level must be one of debug, info, warn, error');
  if (level !== undefined) a.logLevel = level as LogLevel;
  if (tls) a.tls = tls;
  return a;
}

/** Where `runFiles` writes and how it connects. */
export interface FilesIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  connector?: (host: string, port: number) => Connector;
  clock?: Clock;
  /** Aborted to interrupt (Ctrl-C); default: SIGINT of the process. */
  signal?: AbortSignal;
}

function exitOf(e: FileTransferError): number {
  switch (e.code) {
    case 'E_FILE_REFUSED': case 'E_FILE_NEGATIVE_ACK': case 'E_FILE_DEACTIVATED': case 'E_FILE_BUSY': return FILES_EXIT.REFUSED;
    case 'E_FILE_TIMEOUT': return FILES_EXIT.TIMEOUT;
    case 'E_FILE_DISCONNECTED': case 'E_NOT_CONNECTED': return FILES_EXIT.CONNECTION;
    case 'E_FILE_CHECKSUM': case 'E_FILE_LENGTH': case 'E_FILE_SEQUENCE': return FILES_EXIT.INTEGRITY;
    case 'E_ABORTED': return FILES_EXIT.INTERRUPTED;
    case 'E_INVALID': return FILES_EXIT.USAGE;
  }
}

/** A progress bar on a terminal, JSON records with --json (at most one per 5 % and per section), nothing otherwise. */
function progressReporter(a: FilesArgs, io: FilesIo): { update(p: FileProgress): void; end(): void } {
  if (a.json) {
    let lastPct = -1;
    let lastSection = -1;
    return {
      update(p) {
        const pct = p.total === 0 ? 100 : Math.floor((p.transferred / p.total) * 20) * 5;
        if (pct === lastPct && p.section === lastSection) return;
        lastPct = pct;
        lastSection = p.section;
        io.stdout.write(JSON.stringify({ kind: 'progress', ...p }) + '\n');
      },
      end() {},
    };
  }
  if (!io.stderr.isTTY) return { update() {}, end() {} };
  let drawn = false;
  let last = '';
  return {
    update(p) {
      const width = Math.max(10, Math.min(40, (io.stderr.columns ?? 80) - 45));
      const frac = p.total === 0 ? 1 : p.transferred / p.total;
      const fill = Math.round(frac * width);
      const line = `\r${p.direction === 'download' ? 'get' : 'put'} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(frac * 100).toFixed(0).padStart(3)}% ${p.transferred}/${p.total} section ${p.section}`;
      if (line === last) return;
      last = line;
      drawn = true;
      io.stderr.write(line);
    },
    end() {
      if (drawn) io.stderr.write('\n');
    },
  };
}

function listText(files: RemoteFile[]): string {
  const rows = ['IOA      NOF    LENGTH     TIME                      STATUS'];
  for (const f of files) {
    const flags = [f.subdirectory ? 'subdirectory' : '', f.active ? 'transfer-active' : '', f.status ? `status=${f.status}` : ''].filter(Boolean).join(',');
    rows.push(`${String(f.ioa).padEnd(8)} ${String(f.nof).padEnd(6)} ${String(f.length).padEnd(10)} ${(Number.isFinite(f.time.getTime()) ? f.time.toISOString() : 'invalid').padEnd(25)} ${flags}`.trimEnd());
  }
  return rows.join('\n');
}

/** Run `iec104 files` (arguments after `files`). Resolves to the exit code ({@link FILES_EXIT}). */
export async function runFiles(argv: string[], io: FilesIo): Promise<number> {
  let a: FilesArgs;
  try {
    a = parseFilesArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr.write(`iec104 files: ${e.message}\n\nRun 'iec104 files --help' for usage.\n`);
    return FILES_EXIT.USAGE;
  }
  const fail = (code: number, text: string, json: Record<string, unknown>): number => {
    if (a.json) io.stdout.write(JSON.stringify({ kind: 'result', mode: a.mode, ca: a.ca, ...(a.ioa !== undefined ? { ioa: a.ioa } : {}), ...json }) + '\n');
    io.stderr.write(`iec104 files: ${text}\n`);
    return code;
  };
  let upload: Uint8Array | undefined;
  if (a.mode === 'put') {
    try {
      upload = new Uint8Array(await fs.readFile(a.input!));
    } catch (e) {
      return fail(FILES_EXIT.LOCAL, `cannot read ${a.input}: ${e instanceof Error ? e.message : String(e)}`, { outcome: 'local-error', error: e instanceof Error ? e.message : String(e) });
    }
  }
  const logger = a.logLevel ? createLogger({ level: a.logLevel, format: 'pretty', write: (l) => io.stderr.write(l + '\n') }) : nullLogger;
  let connector: Connector;
  try {
    connector = io.connector ? io.connector(a.host, a.port) : tcpConnector(a.host, a.port, a.tls ? { tls: a.tls } : {});
  } catch (e) {
    if (!(e instanceof TlsConfigError)) throw e;
    io.stderr.write(`iec104 files: ${e.message}\n`);
    return FILES_EXIT.USAGE;
  }
  const master = new ControllingStation({ connector, clock: io.clock ?? systemClock, logger, params: a.t0 !== undefined ? { t0: a.t0 } : undefined, reconnect: false });
  const ac = new AbortController();
  const onSigint = (): void => ac.abort();
  if (io.signal) io.signal.addEventListener('abort', onSigint, { once: true });
  else process.once('SIGINT', onSigint);
  const bar = progressReporter(a, io);
  try {
    try {
      await master.connect();
    } catch (e) {
      return fail(FILES_EXIT.CONNECTION, `connection failed: ${e instanceof Error ? e.message : String(e)}`, { outcome: 'connection-failed', error: e instanceof Error ? e.message : String(e) });
    }
    const common = { signal: ac.signal, onProgress: (p: FileProgress) => bar.update(p), ...(a.timeout !== undefined ? { timeout: a.timeout } : {}), ...(a.nof !== undefined ? { nof: a.nof } : {}) };
    try {
      if (a.mode === 'list') {
        const files = await master.listFiles(a.ca, { signal: ac.signal, ...(a.timeout !== undefined ? { timeout: a.timeout } : {}) });
        if (a.json) io.stdout.write(JSON.stringify({ kind: 'result', mode: 'list', ca: a.ca, outcome: 'listed', files: files.map((f) => ({ ...f, time: Number.isFinite(f.time.getTime()) ? f.time.toISOString() : null })) }) + '\n');
        else io.stdout.write(listText(files) + '\n');
        return FILES_EXIT.OK;
      }
      let r: FileTransferResult;
      if (a.mode === 'get') {
        const d = await master.downloadFile(a.ca, a.ioa!, { ...common, ...(a.range ? { range: a.range } : {}) });
        bar.end();
        const part = `${a.output!}.part`;
        try {
          await fs.writeFile(part, d.data);
          await fs.rename(part, a.output!);
        } catch (e) {
          await fs.rm(part, { force: true }).catch(() => {});
          return fail(FILES_EXIT.LOCAL, `cannot write ${a.output}: ${e instanceof Error ? e.message : String(e)}`, { outcome: 'local-error', error: e instanceof Error ? e.message : String(e) });
        }
        r = d;
      } else {
        r = await master.uploadFile(a.ca, a.ioa!, upload!, { ...common, ...(a.sectionSize !== undefined ? { sectionSize: a.sectionSize } : {}) });
        bar.end();
      }
      const { ca, ioa, nof, length, sections, checksum, durationMs } = r;
      if (a.json) io.stdout.write(JSON.stringify({ kind: 'result', mode: a.mode, outcome: a.mode === 'get' ? 'downloaded' : 'uploaded', ca, ioa, nof, length, sections, checksum, durationMs, path: a.mode === 'get' ? path.resolve(a.output!) : path.resolve(a.input!) }) + '\n');
      else io.stdout.write(`${a.mode === 'get' ? 'downloaded' : 'uploaded'} CA ${ca} IOA ${ioa}: ${length} octets in ${sections} section(s), checksum 0x${checksum.toString(16).padStart(2, '0')}, ${Math.round(durationMs)} ms ${a.mode === 'get' ? '->' : '<-'} ${a.mode === 'get' ? a.output : a.input}\n`);
      return FILES_EXIT.OK;
    } catch (e) {
      bar.end();
      if (e instanceof FileTransferError) return fail(exitOf(e), `${e.code}: ${e.message}`, { outcome: 'failed', code: e.code, error: e.message });
      throw e;
    }
  } finally {
    if (io.signal) io.signal.removeEventListener('abort', onSigint);
    else process.removeListener('SIGINT', onSigint);
    await master.close();
  }
}

/** The `files` sub-command. */
export const command: CliCommand = {
  summary: 'list, download or upload files of a station (file transfer, types 120..127)',
  help: HELP,
  run: (argv) => runFiles(argv, { stdout: process.stdout, stderr: process.stderr }),
};
