/**
 * The fleet envelope: what a sensor publishes and a collector consumes.
 *
 * One JSON object per message, the same on NATS JetStream and MQTT. The `id` is the
 * de-duplication key (`<sensor>:<seq>`), unique per sensor and increasing: a message delivered
 * twice (at-least-once) carries the same id, and the collector stores it once. `seq` is the
 * sensor's own counter, persisted with its disk buffer so that a restarted sensor continues it.
 *
 * Subjects (NATS) are `iec104.<site>.<kind>`; topics (MQTT) are `iec104/<site>/<kind>`. A site
 * name is 1–64 characters of `[A-Za-z0-9_-]` so that it is one subject token and one topic level.
 *
 * @packageDocumentation
 */

/** What a message carries. */
export const FLEET_KINDS = ['record', 'alert', 'command', 'inventory', 'point', 'health'] as const;

/** What a message carries: a decoded APDU record, an alert, a command with its outcome, an
 * inventory delta (station, master, CA, IOA seen), a point value, or the sensor's health. */
export type FleetKind = (typeof FLEET_KINDS)[number];

/** Version of the envelope format; a collector refuses versions it does not know. */
export const FLEET_ENVELOPE_VERSION = 1;

/** One published message. */
export interface FleetEnvelope<B = unknown> {
  /** Envelope format version ({@link FLEET_ENVELOPE_VERSION}). */
  v: number;
  /** De-duplication id: `<sensor>:<seq>`. */
  id: string;
  /** Site label (`--site`). */
  site: string;
  /** Sensor identity: unique per sensor process/buffer directory (default `<hostname>-<command>-<site>`). */
  sensor: string;
  /** The sensor's message counter, from 1, increasing by one per message it publishes. */
  seq: number;
  kind: FleetKind;
  /** When the sensor made the message (ms since the epoch, the sensor's clock). */
  ts: number;
  /** The payload: the same JSON shapes the CLI writes with `--json` for that kind. */
  body: B;
}

/** A site or sensor name that is not usable as one subject token and topic level. */
export class FleetNameError extends Error {
  readonly code = 'E_FLEET_NAME';
  constructor(readonly what: 'site' | 'sensor', readonly value: string) {
    super(`${what} name ${JSON.stringify(value)} must be 1-64 characters of A-Z a-z 0-9 _ -`);
    this.name = 'FleetNameError';
  }
}

/** A message that is not a valid envelope; `field` names what was wrong. */
export class FleetEnvelopeError extends Error {
  readonly code = 'E_FLEET_ENVELOPE';
  constructor(readonly field: string, message: string) {
    super(`fleet envelope: ${field}: ${message}`);
    this.name = 'FleetEnvelopeError';
  }
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Checks a site or sensor name; throws {@link FleetNameError}. */
export function checkFleetName(what: 'site' | 'sensor', value: string): string {
  if (!NAME.test(value)) throw new FleetNameError(what, value);
  return value;
}

/** NATS subject of a message: `iec104.<site>.<kind>`. */
export function natsSubject(site: string, kind: FleetKind): string {
  return `iec104.${site}.${kind}`;
}

/** MQTT topic of a message: `iec104/<site>/<kind>`. */
export function mqttTopic(site: string, kind: FleetKind): string {
  return `iec104/${site}/${kind}`;
}

/**
 * Makes an envelope.
 * @example
 * ```ts
 * import { makeEnvelope } from 'iec104';
 * const e = makeEnvelope({ site: 'north', sensor: 'tap1', seq: 1, kind: 'alert', ts: 0, body: { rule: 'x' } });
 * console.assert(e.id === 'tap1:1');
 * ```
 */
export function makeEnvelope<B>(m: { site: string; sensor: string; seq: number; kind: FleetKind; ts: number; body: B }): FleetEnvelope<B> {
  return { v: FLEET_ENVELOPE_VERSION, id: `${m.sensor}:${m.seq}`, site: m.site, sensor: m.sensor, seq: m.seq, kind: m.kind, ts: m.ts, body: m.body };
}

/** Encodes an envelope as the UTF-8 JSON payload of a message. */
export function encodeEnvelope(e: FleetEnvelope): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(e));
}

/** Decodes and validates a message payload; throws {@link FleetEnvelopeError} naming the field. */
export function decodeEnvelope(payload: Uint8Array | string): FleetEnvelope {
  let o: unknown;
  try {
    o = JSON.parse(typeof payload === 'string' ? payload : new TextDecoder().decode(payload));
  } catch (e) {
    throw new FleetEnvelopeError('payload', `not JSON (${(e as Error).message})`);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new FleetEnvelopeError('payload', 'not a JSON object');
  const r = o as Record<string, unknown>;
  if (r.v !== FLEET_ENVELOPE_VERSION) throw new FleetEnvelopeError('v', `unknown version ${JSON.stringify(r.v)}`);
  for (const f of ['site', 'sensor'] as const) {
    if (typeof r[f] !== 'string' || !NAME.test(r[f] as string)) throw new FleetEnvelopeError(f, 'missing or not a valid name');
  }
  if (typeof r.seq !== 'number' || !Number.isSafeInteger(r.seq) || r.seq < 1) throw new FleetEnvelopeError('seq', 'not a positive integer');
  if (r.id !== `${r.sensor as string}:${r.seq}`) throw new FleetEnvelopeError('id', 'must be <sensor>:<seq>');
  if (typeof r.kind !== 'string' || !(FLEET_KINDS as readonly string[]).includes(r.kind)) throw new FleetEnvelopeError('kind', `unknown kind ${JSON.stringify(r.kind)}`);
  if (typeof r.ts !== 'number' || !Number.isFinite(r.ts)) throw new FleetEnvelopeError('ts', 'not a number');
  if (!('body' in r)) throw new FleetEnvelopeError('body', 'missing');
  return r as unknown as FleetEnvelope;
}
