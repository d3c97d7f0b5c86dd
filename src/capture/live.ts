/**
 * Live capture from a network interface through `tcpdump` run as a child process.
 *
 * `tcpdump -i IFACE -U -w - FILTER` writes a pcap stream to its standard output, packet by packet
 * (`-U`), which the streaming {@link CaptureReader} already understands (the same path as
 * `tcpdump -w - | iec104 analyze -`). Why a child process and not a capture library binding:
 * libpcap bindings for Node are native add-ons that need a compiler or a prebuilt binary download
 * at install time, and run the capture on the JavaScript thread; tcpdump is packaged by every
 * distribution, keeps the kernel ring buffer drained on its own thread of execution while the
 * analysis runs, drops its privileges, and prints the kernel's drop counters on SIGUSR1 and on exit.
 *
 * The capture's counters (`N packets captured, N received by filter, N dropped by kernel`) are
 * requested every `statsIntervalMs` with SIGUSR1 and at the end; {@link LiveCapture.stats} holds
 * the latest. {@link LiveCapture.stop} sends SIGINT: tcpdump flushes what it has, prints the
 * final counters and exits, which ends the byte stream.
 */
import { type ChildProcess, spawn } from 'node:child_process';

/** Counters of the capture program (absent until reported). */
export interface CaptureStats {
  /** Packets written to the stream. */
  captured?: number;
  /** Packets that matched the filter (the kernel's count). */
  receivedByFilter?: number;
  /** Packets the kernel dropped because the capture buffer was full. */
  droppedByKernel?: number;
  /** Packets the interface (driver) dropped, when the platform reports it. */
  droppedByInterface?: number;
}

/** Codes of {@link LiveCaptureError}. */
export type LiveCaptureErrorCode = 'E_LIVE_SPAWN' | 'E_LIVE_START';

/** The capture could not start (no tcpdump, no such interface, no permission, bad filter). */
export class LiveCaptureError extends Error {
  constructor(
    readonly code: LiveCaptureErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'LiveCaptureError';
  }
}

/** Options of {@link LiveCapture.start}. */
export interface LiveCaptureOptions {
  /** Interface name (`eth0`, `any`, ...). */
  interface: string;
  /** BPF filter expression (default: {@link defaultBpf} of the IEC 104 ports). */
  bpf?: string;
  /** Bytes captured per packet (default 262144, tcpdump's). */
  snaplen?: number;
  /** Kernel capture buffer in KiB (tcpdump `-B`; default: tcpdump's). */
  bufferKiB?: number;
  /** Program to run (default `tcpdump`). */
  program?: string;
  /** Ask for the counters this often (ms; default 5000; 0 = only at the end). */
  statsIntervalMs?: number;
  /** Called with each line tcpdump prints on stderr that is not a counter. */
  onMessage?(line: string): void;
}

/** How the capture ended. */
export interface LiveCaptureEnd {
  /** Exit code of tcpdump (null when killed by a signal). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stats: CaptureStats;
  /** tcpdump's last error message, when it failed. */
  error?: string;
}

/**
 * Default filter: TCP on the IEC 104 ports (and the TLS ports), with and without a VLAN tag, and
 * the non-first IPv4 fragments (their TCP ports are in the first fragment only, so a port filter
 * would drop them and the datagram could not be reassembled).
 */
export function defaultBpf(ports: readonly number[], tlsPorts: readonly number[] = []): string {
  const all = [...new Set([...ports, ...tlsPorts])].sort((a, b) => a - b);
  const tcp = `tcp and (${all.map((p) => `port ${p}`).join(' or ')})`;
  return `(${tcp}) or (ip[6:2] & 0x1fff != 0) or (vlan and ((${tcp}) or (ip[6:2] & 0x1fff != 0)))`;
}

const STAT_RE = /(\d+) packets? (captured|received by filter|dropped by kernel|dropped by interface)/g;

/** Parse tcpdump's counter lines (one line per counter on exit, one line with all on SIGUSR1). */
export function parseCaptureStats(text: string, into: CaptureStats = {}): boolean {
  let found = false;
  for (const m of text.matchAll(STAT_RE)) {
    found = true;
    const n = Number(m[1]);
    if (m[2] === 'captured') into.captured = n;
    else if (m[2] === 'received by filter') into.receivedByFilter = n;
    else if (m[2] === 'dropped by kernel') into.droppedByKernel = n;
    else into.droppedByInterface = n;
  }
  return found;
}

/** A running capture: iterate it for the pcap byte stream. */
export class LiveCapture implements AsyncIterable<Uint8Array> {
  /** Latest counters. */
  readonly stats: CaptureStats = {};
  /** Resolves when tcpdump has exited (never rejects). */
  readonly done: Promise<LiveCaptureEnd>;
  private stopping = false;
  private timer: NodeJS.Timeout | undefined;
  private lastError: string | undefined;

  private constructor(
    private readonly child: ChildProcess,
    readonly filter: string,
    onExit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
  ) {
    this.done = onExit.then(({ code, signal }) => {
      if (this.timer) clearInterval(this.timer);
      return { code, signal, stats: this.stats, ...(this.lastError && code !== 0 ? { error: this.lastError } : {}) };
    });
  }

  /**
   * Start tcpdump and wait until it listens (its `listening on` line). Rejects with a
   * {@link LiveCaptureError} when it cannot start (the message is tcpdump's).
   */
  static start(o: LiveCaptureOptions): Promise<LiveCapture> {
    const filter = o.bpf ?? defaultBpf([2404], [19998]);
    const args = ['-i', o.interface, '-U', '-n', '-w', '-', '-s', String(o.snaplen ?? 262144)];
    if (o.bufferKiB !== undefined) args.push('-B', String(o.bufferKiB));
    // with root, tcpdump would switch to the user 'tcpdump' (if it exists) after opening the device: harmless for -w -
    if (filter !== '') args.push(filter);
    const program = o.program ?? 'tcpdump';
    return new Promise<LiveCapture>((resolve, reject) => {
      let child: ChildProcess;
      try {
        child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (e) {
        reject(new LiveCaptureError('E_LIVE_SPAWN', `cannot run ${program}: ${(e as Error).message}`));
        return;
      }
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.once('close', (code, signal) => res({ code, signal })));
      const live = new LiveCapture(child, filter, exited);
      let started = false;
      let errText = '';
      let pending = '';
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (s: string) => {
        pending += s;
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl).trim();
          pending = pending.slice(nl + 1);
          if (line === '') continue;
          if (parseCaptureStats(line, live.stats)) continue;
          if (!started && /listening on /.test(line)) {
            started = true;
            live.armStats(o.statsIntervalMs ?? 5000);
            resolve(live);
            continue;
          }
          if (!started) errText += (errText ? '\n' : '') + line;
          else live.lastError = line;
          o.onMessage?.(line);
        }
      });
      child.once('error', (e: NodeJS.ErrnoException) => {
        if (started) return;
        started = true;
        reject(new LiveCaptureError('E_LIVE_SPAWN', e.code === 'ENOENT' ? `${program} not found: install it (e.g. apt-get install tcpdump) or put it on PATH` : `cannot run ${program}: ${e.message}`));
      });
      void exited.then(({ code, signal }) => {
        if (started) return;
        started = true;
        reject(new LiveCaptureError('E_LIVE_START', `${program} could not capture on ${o.interface} (exit ${code ?? signal}): ${errText || 'no message'}`));
      });
    });
  }

  private armStats(ms: number): void {
    if (ms <= 0 || process.platform === 'win32') return;
    this.timer = setInterval(() => this.requestStats(), ms);
    this.timer.unref();
  }

  /** Ask tcpdump to print its counters now (SIGUSR1); {@link stats} is updated when it answers. */
  requestStats(): void {
    if (this.stopping || this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      this.child.kill('SIGUSR1');
    } catch {
      // gone already
    }
  }

  /** Stop capturing: tcpdump flushes, prints its final counters and exits; the stream then ends. */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    try {
      this.child.kill('SIGINT');
    } catch {
      // gone already
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return (this.child.stdout! as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  }
}
