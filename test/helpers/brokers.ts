/**
 * Real message brokers for the fleet tests: a NATS server with JetStream and a mosquitto MQTT
 * broker, each on a loopback port the helper picks, with its own temporary data directory.
 *
 * Each broker can be stopped (gracefully or killed) and started again on the SAME port and data
 * directory, which is what the broker-restart tests need. `close()` stops it and removes the data
 * directory; call it from `t.after()` / `after()`. Brokers still running when the test process
 * exits are killed by an exit hook.
 *
 * The binaries come from Debian's packages `nats-server` and `mosquitto` (installed in /usr/sbin,
 * which is not always on a non-root PATH). When one is missing the helper throws
 * {@link BrokerMissingError} saying that `.ci/run` installs it: the fleet tests never skip silently.
 *
 * @example
 * ```ts
 * const nats = await startNats();
 * t.after(() => nats.close());
 * // ... publish to nats.url ...
 * await nats.stop('SIGKILL'); // broker crash
 * await nats.start();         // same port, same JetStream store
 * ```
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';

/** A broker binary that is not installed. */
export class BrokerMissingError extends Error {
  readonly code = 'E_BROKER_MISSING';
  constructor(readonly binary: string, searched: string[]) {
    super(
      `${binary} is not installed (searched ${searched.join(', ')}): the fleet tests need the real broker; ` +
        `.ci/run installs it (apt-get install -y ${binary})`,
    );
    this.name = 'BrokerMissingError';
  }
}

/** A broker process the test controls. */
export interface TestBroker {
  /** `'nats'` or `'mqtt'`. */
  readonly kind: 'nats' | 'mqtt';
  /** 127.0.0.1. */
  readonly host: string;
  /** The loopback port, the same across restarts. */
  readonly port: number;
  /** `nats://127.0.0.1:PORT` or `mqtt://127.0.0.1:PORT`. */
  readonly url: string;
  /** The broker's data directory (JetStream store / mosquitto persistence), kept across restarts. */
  readonly dataDir: string;
  /** True while the process runs. */
  readonly running: boolean;
  /** The last lines the broker wrote (for assertion messages). */
  log(): string;
  /** Starts the broker again (same port and data directory); resolves when it accepts connections. */
  start(): Promise<void>;
  /** Stops the broker: SIGTERM (graceful, default) or SIGKILL (crash); resolves when it has exited. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Stops the broker and removes its data directory. Safe to call twice. */
  close(): Promise<void>;
}

const SEARCH = ['/usr/sbin', '/usr/local/sbin', '/usr/bin', '/usr/local/bin'];

/** Finds a broker binary on PATH or in the Debian locations; throws {@link BrokerMissingError}. */
export function findBrokerBinary(name: 'nats-server' | 'mosquitto'): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...SEARCH];
  for (const d of dirs) {
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  throw new BrokerMissingError(name, [...new Set(dirs)]);
}

/** A free loopback TCP port (bound on port 0 then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

const live = new Set<ChildProcess>();
let hooked = false;
function track(p: ChildProcess): void {
  live.add(p);
  p.once('exit', () => live.delete(p));
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
}

/** Resolves once a TCP connection to the port succeeds (and, if `greeting`, the server's first bytes match it). */
async function waitAccepting(port: number, proc: () => ChildProcess | undefined, what: string, log: () => string, greeting?: RegExp): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const p = proc();
    if (!p || p.exitCode !== null || p.signalCode !== null) {
      throw new Error(`${what} exited before accepting connections on 127.0.0.1:${port}:\n${log()}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const c = createConnection({ host: '127.0.0.1', port });
      const done = (v: boolean): void => {
        c.destroy();
        resolve(v);
      };
      c.setTimeout(2000, () => done(false));
      c.once('error', () => done(false));
      if (greeting) c.once('data', (d) => done(greeting.test(d.toString('latin1'))));
      else c.once('connect', () => done(true));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what} did not accept connections on 127.0.0.1:${port} within 15 s:\n${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Spec {
  kind: 'nats' | 'mqtt';
  binary: string;
  args: (port: number, dataDir: string) => string[];
  greeting?: RegExp;
  prepare?: (port: number, dataDir: string) => void;
}

async function launch(spec: Spec, dataDir: string): Promise<TestBroker> {
  const port = await freePort();
  spec.prepare?.(port, dataDir);
  let proc: ChildProcess | undefined;
  let lines: string[] = [];
  let closed = false;
  const log = (): string => lines.slice(-40).join('\n');
  const what = `${spec.kind === 'nats' ? 'nats-server' : 'mosquitto'} (${spec.binary})`;
  const start = async (): Promise<void> => {
    if (closed) throw new Error(`${what}: start() after close()`);
    if (proc && proc.exitCode === null && proc.signalCode === null) return;
    const p = spawn(spec.binary, spec.args(port, dataDir), { stdio: ['ignore', 'pipe', 'pipe'] });
    proc = p;
    track(p);
    const take = (d: Buffer): void => {
      lines.push(...d.toString('utf8').split('\n').filter(Boolean));
      if (lines.length > 200) lines = lines.slice(-100);
    };
    p.stdout?.on('data', take);
    p.stderr?.on('data', take);
    p.once('error', (e) => lines.push(`spawn error: ${e.message}`));
    await waitAccepting(port, () => proc, what, log, spec.greeting);
  };
  const stop = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill(signal);
    const t = setTimeout(() => p.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  };
  const broker: TestBroker = {
    kind: spec.kind,
    host: '127.0.0.1',
    port,
    url: `${spec.kind}://127.0.0.1:${port}`,
    dataDir,
    get running() {
      return !!proc && proc.exitCode === null && proc.signalCode === null;
    },
    log,
    start,
    stop,
    close: async () => {
      if (closed) return;
      await stop('SIGKILL');
      closed = true;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  try {
    await start();
  } catch (e) {
    await broker.close();
    throw e;
  }
  return broker;
}

/** Starts `nats-server -js` on a free loopback port with a temporary JetStream store. */
export async function startNats(): Promise<TestBroker> {
  const binary = findBrokerBinary('nats-server');
  const dataDir = mkdtempSync(join(tmpdir(), 'iec104-nats-'));
  return launch(
    {
      kind: 'nats',
      binary,
      // the INFO line proves the client listener is up; JetStream is enabled before it listens
      greeting: /^INFO /,
      args: (port, dir) => ['-js', '-sd', dir, '-a', '127.0.0.1', '-p', String(port), '-n', `iec104-test-${port}`],
    },
    dataDir,
  );
}

/** Starts mosquitto on a free loopback port with a temporary config and persistence directory. */
export async function startMosquitto(): Promise<TestBroker> {
  const binary = findBrokerBinary('mosquitto');
  const dataDir = mkdtempSync(join(tmpdir(), 'iec104-mqtt-'));
  const conf = join(dataDir, 'mosquitto.conf');
  return launch(
    {
      kind: 'mqtt',
      binary,
      prepare: (port, dir) => {
        writeFileSync(
          conf,
          [
            `listener ${port} 127.0.0.1`,
            'allow_anonymous true',
            'persistence true',
            `persistence_location ${dir}/`,
            'autosave_interval 1',
            // run as whoever runs the tests (as root, mosquitto would otherwise switch to a user
            // that cannot write the temporary directory)
            `user ${userInfo().username}`,
            'log_dest stderr',
            'log_type error',
            'log_type warning',
            'log_type notice',
            'max_queued_messages 100000',
            '',
          ].join('\n'),
        );
      },
      args: () => ['-c', conf],
    },
    dataDir,
  );
}
