/**
 * The fleet publishing options shared by `analyze`, `proxy`, `serve` and `connect`: `--publish URL`
 * (repeatable), `--site`, `--sensor`, `--stream`, `--buffer-dir`, `--buffer-size`,
 * `--publish-records`, `--health-interval`, `--publish-wait`. Parsing, the help text, and opening
 * the {@link FleetSensor}. The fleet modules (and the broker clients behind them) are loaded only
 * when `--publish` is given.
 */
import { createHash } from 'node:crypto';
import { homedir, hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BrokerUrl } from '../fleet/broker-url.js';
import type { FleetSensor } from '../fleet/sensor.js';

/** Parsed publishing options. */
export interface PublishArgs {
  /** `--publish` URLs as given (parsed by {@link checkPublishArgs}). */
  urls: string[];
  parsed?: BrokerUrl[];
  site?: string;
  sensor?: string;
  stream?: string;
  bufferDir?: string;
  bufferBytes?: number;
  records: boolean;
  healthMs?: number;
  waitMs?: number;
}

/** A new, empty {@link PublishArgs}. */
export function publishArgs(): PublishArgs {
  return { urls: [], records: false };
}

/** Default `--buffer-size` (256 MiB). */
export const DEFAULT_BUFFER_SIZE = 256 * 1024 * 1024;

/** Default `--publish-wait`, seconds. */
export const DEFAULT_PUBLISH_WAIT_S = 10;

/** Help text of the publishing options (part of the commands' `--help`). */
export const PUBLISH_HELP = `fleet publishing (docs/fleet.md):
  --publish URL         also publish to a broker (repeatable): nats://HOST[:4222] (NATS
                        JetStream, subjects iec104.<site>.<kind>) or mqtt://HOST[:1883]
                        [?protocol=5] (MQTT 3.1.1 or 5, QoS 1, topics iec104/<site>/<kind>);
                        published: point values, alerts, commands with outcomes, inventory
                        deltas and a health message; at least once, in order, each message
                        with the de-duplication id <sensor>:<seq>
  --site NAME           site label of every message (required with --publish; A-Z a-z 0-9 _ -)
  --sensor NAME         this sensor's name, unique in the fleet (default <hostname>-<command>-<site>,
                        plus a hash of --buffer-dir when given); one per buffer
  --stream NAME         JetStream stream to use or create (default IEC104, subjects iec104.>)
  --publish-records     also publish every APDU record (the --json shape; high volume)
  --buffer-dir DIR      disk buffer: every message is written here before it is sent and
                        kept until the broker acknowledged it; the sequence number persists
                        (default $XDG_CACHE_HOME or ~/.cache, else the temp dir:
                        iec104/fleet/<sensor>)
  --buffer-size BYTES   most disk the buffer uses (default 256M; K, M, G suffixes; at least
                        8K); when full the OLDEST messages are dropped, counted in the health
                        message and reported as a fleet.buffer-drop alert
  --health-interval S   seconds between health messages (default 10; 0 = only the last)
  --publish-wait S      at the end, wait up to S seconds for the brokers to acknowledge what
                        is buffered (default 10); the rest is sent by the next run`;

/** Octets of `256M`, `8K`, `1G`, `4096`; undefined when not a size. */
export function parseSize(v: string): number | undefined {
  const m = /^(\d+)([KMG]i?B?)?$/i.exec(v.trim());
  if (!m) return undefined;
  const mult = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2]?.[0] ?? '').toLowerCase() as 'k' | 'm' | 'g'] ?? 1;
  const n = Number(m[1]) * mult;
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * Parse one publishing option at `argv[i]`: the index of its last argument, an error text, or
 * undefined when `argv[i]` is not one.
 */
export function parsePublishArg(argv: readonly string[], i: number, s: PublishArgs): number | string | undefined {
  const a = argv[i];
  const v = argv[i + 1];
  const need = (what: string): string => `${a} needs ${what}`;
  switch (a) {
    case '--publish':
      if (!v) return need('a broker URL (nats://HOST:PORT or mqtt://HOST:PORT)');
      s.urls.push(v);
      return i + 1;
    case '--site':
    case '--sensor':
    case '--stream':
      if (v === undefined || v.startsWith('--')) return need('a name');
      if (a === '--site') s.site = v;
      else if (a === '--sensor') s.sensor = v;
      else s.stream = v;
      return i + 1;
    case '--buffer-dir':
      if (!v) return need('a directory');
      s.bufferDir = v;
      return i + 1;
    case '--buffer-size': {
      const n = v === undefined ? undefined : parseSize(v);
      if (n === undefined || n < 8192) return need(`a size of at least 8K (e.g. 64M, 1G), got '${v ?? ''}'`);
      s.bufferBytes = n;
      return i + 1;
    }
    case '--publish-records':
      s.records = true;
      return i;
    case '--health-interval':
    case '--publish-wait': {
      const n = v === undefined || v.trim() === '' ? NaN : Number(v);
      if (!Number.isFinite(n) || n < 0 || n > 86400) return need(`seconds 0..86400, got '${v ?? ''}'`);
      if (a === '--health-interval') s.healthMs = Math.round(n * 1000);
      else s.waitMs = Math.round(n * 1000);
      return i + 1;
    }
    default:
      return undefined;
  }
}

/**
 * Takes the publishing options out of `argv` (for the commands that parse the rest with
 * `node:util` parseArgs): the options, or an error text.
 */
export function takePublishArgs(argv: string[]): PublishArgs | string {
  const s = publishArgs();
  for (let i = 0; i < argv.length; i++) {
    const r = parsePublishArg(argv, i, s);
    if (typeof r === 'string') return r;
    if (r === undefined) continue;
    argv.splice(i, r - i + 1);
    i--;
  }
  return s;
}

/**
 * The default sensor name: `<hostname>-<command>-<site>`, made a valid name; with an explicit
 * `--buffer-dir`, `-<6 hex digits of its absolute path>` is added. The name is the first half of
 * every de-duplication id (`<sensor>:<seq>`), so two sensors on one host (two proxies, one per
 * site or both at one site with their own buffers) must never share it: JetStream and the
 * collector would take the second one's messages for repeats of the first one's.
 */
export function defaultSensorName(command: string, site: string, bufferDir?: string, host = hostname()): string {
  const n = `${host}-${command}-${site}`.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || command;
  if (bufferDir === undefined) return n.slice(0, 64);
  const tag = createHash('sha256').update(resolve(bufferDir)).digest('hex').slice(0, 6);
  return `${n.slice(0, 57)}-${tag}`;
}

/** The default buffer directory of a sensor. */
export function defaultBufferDir(sensor: string, env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || (safeHome() ? join(safeHome()!, '.cache') : join(tmpdir()));
  return join(base, 'iec104', 'fleet', sensor);
}

function safeHome(): string | undefined {
  try {
    const h = homedir();
    return h && h !== '/' ? h : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Checks the combination and the values (names, URLs); fills in the defaults. Returns an error
 * text (a usage error, exit 2) or undefined. Loads the URL parser only when `--publish` is given.
 */
export async function checkPublishArgs(s: PublishArgs, command: string): Promise<string | undefined> {
  if (s.urls.length === 0) {
    const given = (
      [
        ['--site', s.site],
        ['--sensor', s.sensor],
        ['--stream', s.stream],
        ['--buffer-dir', s.bufferDir],
        ['--buffer-size', s.bufferBytes],
        ['--health-interval', s.healthMs],
        ['--publish-wait', s.waitMs],
        ['--publish-records', s.records || undefined],
      ] as const
    )
      .filter(([, x]) => x !== undefined)
      .map(([f]) => f);
    return given.length ? `${given.join(', ')} need${given.length === 1 ? 's' : ''} --publish` : undefined;
  }
  const [{ parseBrokerUrl, FleetUrlError }, { checkFleetName, FleetNameError }] = await Promise.all([import('../fleet/broker-url.js'), import('../fleet/envelope.js')]);
  if (s.site === undefined) return '--publish needs --site NAME (the site label of every message)';
  try {
    checkFleetName('site', s.site);
    s.sensor ??= defaultSensorName(command, s.site, s.bufferDir);
    checkFleetName('sensor', s.sensor);
    if (s.stream !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(s.stream)) return `--stream name ${JSON.stringify(s.stream)} must be 1-64 characters of A-Z a-z 0-9 _ -`;
    s.parsed = s.urls.map((u) => parseBrokerUrl(u, '--publish'));
  } catch (e) {
    if (e instanceof FleetNameError) return `--${e.what}: ${e.message}`;
    if (e instanceof FleetUrlError) return e.message;
    throw e;
  }
  const keys = new Set(s.parsed.map((u) => u.key));
  if (keys.size !== s.parsed.length) return '--publish: the same broker is given twice';
  s.bufferDir ??= defaultBufferDir(s.sensor);
  return undefined;
}

/**
 * Opens the sensor's publisher (after {@link checkPublishArgs}); undefined without `--publish`, an
 * error text when the buffer directory cannot be used (exit 1). Connection problems are not
 * errors: the messages wait on disk and `log` says what happens.
 */
export async function openFleetSensor(s: PublishArgs, log: (line: string) => void): Promise<FleetSensor | string | undefined> {
  if (!s.parsed?.length) return undefined;
  const [{ FleetSensor }, { FleetBufferError }] = await Promise.all([import('../fleet/sensor.js'), import('../fleet/disk-buffer.js')]);
  try {
    const fs = FleetSensor.open({
      site: s.site!,
      sensor: s.sensor!,
      urls: s.parsed,
      bufferDir: s.bufferDir!,
      bufferBytes: s.bufferBytes ?? DEFAULT_BUFFER_SIZE,
      records: s.records,
      ...(s.healthMs !== undefined ? { healthIntervalMs: s.healthMs } : {}),
      transport: { ...(s.stream ? { stream: s.stream } : {}), clientId: `iec104-${s.sensor!}` },
      log: (m) => log(`publish: ${m}`),
    });
    log(`publish: site ${s.site}, sensor ${s.sensor}, to ${s.parsed.map((u) => u.key).join(', ')}; buffer ${s.bufferDir} (next seq ${fs.publisher.nextSeq})`);
    return fs;
  } catch (e) {
    if (e instanceof FleetBufferError) return `--buffer-dir: ${e.message}`;
    throw e;
  }
}

/** Closes the publisher: waits up to `--publish-wait` for the brokers, then reports what is left on disk. */
export async function closeFleetSensor(f: FleetSensor | undefined, s: PublishArgs, log: (line: string) => void): Promise<void> {
  if (!f) return;
  const h = await f.close(s.waitMs ?? DEFAULT_PUBLISH_WAIT_S * 1000);
  const waiting = h.destinations.filter((d) => d.pending > 0);
  const made = Object.values(h.published).reduce((a, b) => a + (b ?? 0), 0);
  log(
    `publish: ${made} message(s) this run, ${h.dropped} dropped (buffer full)` +
      (waiting.length ? `; ${waiting.map((d) => `${d.pending} wait for ${d.url}`).join(', ')} (sent by the next run)` : '; all delivered'),
  );
}
