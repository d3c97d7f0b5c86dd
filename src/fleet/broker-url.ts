/**
 * Broker URLs of `--publish` (and of the collector's `--from`): `nats://HOST:PORT` (NATS
 * JetStream) and `mqtt://HOST:PORT[?protocol=5]` (MQTT 3.1.1, or 5 when asked).
 *
 * @packageDocumentation
 */

/** A broker URL that cannot be used; `flag` names the option, `part` what was wrong. */
export class FleetUrlError extends Error {
  readonly code = 'E_FLEET_URL';
  constructor(
    readonly flag: string,
    readonly url: string,
    readonly part: 'scheme' | 'host' | 'port' | 'query' | 'syntax',
    message: string,
  ) {
    super(`${flag} ${JSON.stringify(url)}: ${message}`);
    this.name = 'FleetUrlError';
  }
}

/** A parsed broker address. */
export interface BrokerUrl {
  scheme: 'nats' | 'mqtt';
  host: string;
  port: number;
  /** MQTT protocol version: 4 (3.1.1, default) or 5. */
  mqttVersion?: 4 | 5;
  /** The URL as given, normalised (`scheme://host:port[?protocol=5]`); the key of the buffer's delivery position. */
  key: string;
}

const DEFAULT_PORT = { nats: 4222, mqtt: 1883 } as const;

/**
 * Parses a broker URL; throws {@link FleetUrlError} naming `flag` (e.g. `--publish`).
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { parseBrokerUrl } from 'iec104';
 * const u = parseBrokerUrl('mqtt://broker.example?protocol=5', '--publish');
 * assert.deepEqual([u.scheme, u.port, u.mqttVersion], ['mqtt', 1883, 5]);
 * ```
 */
export function parseBrokerUrl(text: string, flag: string): BrokerUrl {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/.exec(text);
  if (!m) throw new FleetUrlError(flag, text, 'syntax', 'expected nats://HOST[:PORT] or mqtt://HOST[:PORT][?protocol=5]');
  const scheme = m[1].toLowerCase();
  if (scheme !== 'nats' && scheme !== 'mqtt') {
    throw new FleetUrlError(flag, text, 'scheme', `unknown scheme '${m[1]}://' (nats:// for NATS JetStream, mqtt:// for MQTT)`);
  }
  const hp = /^(\[[^\]]*\]|[^:/?#]*)(?::([^/?#]*))?/.exec(m[2]);
  if (!hp || hp[1] === '' || hp[1] === '[]') throw new FleetUrlError(flag, text, 'host', 'the host is missing');
  let port: number = DEFAULT_PORT[scheme];
  if (hp[2] !== undefined) {
    if (!/^\d{1,5}$/.test(hp[2]) || Number(hp[2]) < 1 || Number(hp[2]) > 65535) {
      throw new FleetUrlError(flag, text, 'port', `port '${hp[2]}' is not 1..65535`);
    }
    port = Number(hp[2]);
  }
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new FleetUrlError(flag, text, 'host', `'${hp[1]}' is not a valid host`);
  }
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (host === '') throw new FleetUrlError(flag, text, 'host', 'the host is missing');
  if (u.username || u.password) throw new FleetUrlError(flag, text, 'syntax', 'credentials in the URL are not supported');
  if (u.pathname !== '' && u.pathname !== '/') throw new FleetUrlError(flag, text, 'syntax', `unexpected path '${u.pathname}'`);
  let mqttVersion: 4 | 5 | undefined;
  for (const [k, v] of u.searchParams) {
    if (scheme === 'mqtt' && k === 'protocol' && (v === '5' || v === '4' || v === '3.1.1')) mqttVersion = v === '5' ? 5 : 4;
    else throw new FleetUrlError(flag, text, 'query', `unknown parameter '${k}=${v}'${scheme === 'mqtt' ? ' (only protocol=5 or protocol=3.1.1)' : ' (none for nats://)'}`);
  }
  const h = host.includes(':') ? `[${host}]` : host;
  const out: BrokerUrl = { scheme, host, port, key: `${scheme}://${h}:${port}${mqttVersion === 5 ? '?protocol=5' : ''}` };
  if (scheme === 'mqtt') out.mqttVersion = mqttVersion ?? 4;
  return out;
}
