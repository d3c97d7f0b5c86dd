/**
 * Structured logging: one JSON object a line, or a pretty single-line form for terminals.
 * Library code takes a {@link Logger}; the default discards everything.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** A log record: `event` is a stable machine name (e.g. `link.closed`), `msg` a human sentence. */
export interface LogRecord {
  level: LogLevel;
  event: string;
  msg: string;
  [field: string]: unknown;
}

/** Where library code writes its logs. */
export interface Logger {
  log(level: LogLevel, event: string, msg: string, fields?: Record<string, unknown>): void;
  /** A logger that adds `fields` to every record. */
  child(fields: Record<string, unknown>): Logger;
}

/** Discards everything. */
export const nullLogger: Logger = {
  log() {},
  child() {
    return nullLogger;
  },
};

/** Whether `l` discards everything (callers skip building messages for it on hot paths). */
export function isNullLogger(l: Logger): boolean {
  return l === nullLogger;
}

function jsonSafe(_k: string, v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Error) return { name: v.name, message: v.message, ...(v as unknown as Record<string, unknown>) };
  return v;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Lowest level written (default `info`). */
  level?: LogLevel;
  /** `json` (default): one JSON object a line; `pretty`: `time LEVEL event msg k=v`. */
  format?: 'json' | 'pretty';
  /** Sink for lines (default: process.stderr). */
  write?: (line: string) => void;
  /** Time source for the `time` field (default: wall clock ISO). */
  time?: () => string;
}

/**
 * A logger writing JSON lines or pretty lines.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { createLogger } from 'iec104';
 * const lines: string[] = [];
 * const log = createLogger({ write: (l) => lines.push(l), time: () => 't' });
 * log.child({ conn: 1 }).log('info', 'link.started', 'data transfer started');
 * assert.equal(lines[0], '{"time":"t","level":"info","event":"link.started","msg":"data transfer started","conn":1}');
 * ```
 */
export function createLogger(opts: LoggerOptions = {}, base: Record<string, unknown> = {}): Logger {
  const min = ORDER[opts.level ?? 'info'];
  const write = opts.write ?? ((l: string) => process.stderr.write(l + '\n'));
  const time = opts.time ?? (() => new Date().toISOString());
  const pretty = opts.format === 'pretty';
  return {
    log(level, event, msg, fields) {
      if (ORDER[level] < min) return;
      const rec = { time: time(), level, event, msg, ...base, ...fields };
      if (!pretty) {
        write(JSON.stringify(rec, jsonSafe));
        return;
      }
      const extra = Object.entries({ ...base, ...fields })
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v, jsonSafe)}`)
        .join(' ');
      write(`${rec.time} ${level.toUpperCase().padEnd(5)} ${event} ${msg}${extra ? ' ' + extra : ''}`);
    },
    child(fields) {
      return createLogger(opts, { ...base, ...fields });
    },
  };
}

/**
 * A line sink that gathers the lines of one event-loop turn and writes them as one chunk after the
 * turn's I/O (`setImmediate`). Writing to stderr is synchronous for files, pipes and terminals on
 * Linux: a line written in the middle of a command's processing delayed its ACT_CON by a system
 * call (the station's command path, BENCHMARKS.md); batched, the log goes out after the answer.
 * `flush()` writes what is gathered at once (call it before exiting).
 */
export function batchedLines(write: (chunk: string) => void): { write(line: string): void; flush(): void } {
  let lines: string[] = [];
  let scheduled: ReturnType<typeof setImmediate> | undefined;
  const flush = (): void => {
    if (scheduled !== undefined) clearImmediate(scheduled);
    scheduled = undefined;
    if (lines.length === 0) return;
    const chunk = lines.join('\n') + '\n';
    lines = [];
    write(chunk);
  };
  return {
    write(line) {
      lines.push(line);
      scheduled ??= setImmediate(flush);
    },
    flush,
  };
}
