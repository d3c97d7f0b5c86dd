/**
 * TEST-ONLY: deliberate protocol violations of the controlled station, so that the behaviour
 * validation suites (`src/validate/suites.ts`, `iec104 test --suite ...`) can be shown to catch
 * them on our own station (`test/validate/real-station.test.ts`).
 *
 * A station with any of these flags set violates IEC 60870-5-104 / -101 on purpose. Never use it
 * to operate anything: `createStation` logs a `warn` (`station.misbehave`) naming the flags, and
 * `iec104 serve` prints a warning on stderr.
 *
 * Every flag is interpreted here: {@link misbehaviourHooks} turns the flags into the test seam a
 * station injects into its link parameters and sessions (`SessionTestHooks`); the production code
 * of `session.ts` / `station.ts` knows no flag, only the seam:
 *
 * | flag | effect | caught by |
 * |---|---|---|
 * | `ignoreSelect` | an execute on a select-before-operate object is carried out without (or after an expired) select | C12, C13 |
 * | `noActTerm` | no ACT_TERM (COT 10) is ever sent: interrogations, counter interrogations, commands | C03 |
 * | `slowAcks` | w is raised to k and t2 to 90 % of t1, and received ASDUs are processed only when that t2 runs out (an answer would carry the acknowledgement): no S-frame after w I-frames | C05 |
 * | `acceptStale` | time-tagged commands are executed whatever their age (`maxCommandAgeMs` ignored) | C16 |
 * | `unknownIoaPositive` | a command to an IOA without command object is confirmed positively (ACT_CON, ACT_TERM) instead of COT 47 | C10 |
 * | `noActCon` | process commands (45..64) get no ACT_CON, positive or negative (they are still executed, ACT_TERM follows) | C11, C12, C15 |
 */
import type { Asdu } from '../codec/asdu.js';
import { COT } from '../codec/cause.js';
import { isProcessCommand } from '../codec/type-table.js';
import type { LinkParameters } from '../link/types.js';
import type { SessionTestHooks } from './session.js';

/** TEST-ONLY deliberate misbehaviours of the controlled station (see the table in this module). */
export interface StationMisbehaviour {
  /** Execute commands on select-before-operate objects without a prior (valid) select. */
  ignoreSelect?: boolean;
  /** Never send ACT_TERM. */
  noActTerm?: boolean;
  /** Never acknowledge after w I-frames: w = k, t2 = 90 % of t1, requests answered only when t2 runs out. */
  slowAcks?: boolean;
  /** Ignore the maximum age of time-tagged commands. */
  acceptStale?: boolean;
  /** Confirm commands to unknown IOAs positively instead of COT 47. */
  unknownIoaPositive?: boolean;
  /** Send no ACT_CON for process commands. */
  noActCon?: boolean;
}

/** The flags with their command-line / YAML list names (`iec104 serve --misbehave ignore-select,no-actterm`). */
export const MISBEHAVIOUR_NAMES: Readonly<Record<string, keyof StationMisbehaviour>> = Object.freeze({
  'ignore-select': 'ignoreSelect',
  'no-actterm': 'noActTerm',
  'slow-acks': 'slowAcks',
  'accept-stale': 'acceptStale',
  'unknown-ioa-positive': 'unknownIoaPositive',
  'no-actcon': 'noActCon',
});

const FLAGS = Object.values(MISBEHAVIOUR_NAMES);

/**
 * Parse a comma-separated list of misbehaviour names (`ignore-select,no-actterm`; the option names
 * `ignoreSelect` are accepted too). Throws an `Error` naming an unknown entry and the valid ones.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { parseMisbehaviourList } from 'iec104';
 * assert.deepEqual(parseMisbehaviourList('ignore-select, no-actterm'), { ignoreSelect: true, noActTerm: true });
 * assert.throws(() => parseMisbehaviourList('be-nice'), /unknown misbehaviour 'be-nice'/);
 * ```
 */
export function parseMisbehaviourList(text: string): StationMisbehaviour {
  const out: StationMisbehaviour = {};
  for (const raw of text.split(',')) {
    const name = raw.trim();
    if (name === '') continue;
    const flag = MISBEHAVIOUR_NAMES[name] ?? FLAGS.find((f) => f === name);
    if (!flag) throw new Error(`unknown misbehaviour '${name}' (one of ${Object.keys(MISBEHAVIOUR_NAMES).join(', ')})`);
    out[flag] = true;
  }
  return out;
}

/** The list names of the flags set (`['ignore-select', 'slow-acks']`); empty for a correct station. */
export function activeMisbehaviours(m: StationMisbehaviour | undefined): string[] {
  if (!m) return [];
  return Object.entries(MISBEHAVIOUR_NAMES).filter(([, f]) => m[f] === true).map(([n]) => n);
}

/** The link parameters of a station with `m`: `slowAcks` raises w to k and t2 to 90 % of t1. */
export function misbehavingLinkParameters(p: LinkParameters, m: StationMisbehaviour | undefined): LinkParameters {
  if (!m?.slowAcks) return p;
  return { ...p, w: p.k, t2: Math.max(p.t2, Math.floor(p.t1 * 0.9)) };
}

/** `slowAcks`: how long a received ASDU waits before the session processes it (the link's t2), or undefined. */
export function slowAckDelay(p: LinkParameters, m: StationMisbehaviour | undefined): number | undefined {
  return m?.slowAcks ? p.t2 : undefined;
}

/** Whether the session must not send `asdu` (`noActTerm`: ACT_TERM; `noActCon`: ACT_CON of process commands). */
export function misbehaviourWithholds(m: StationMisbehaviour, asdu: Asdu): boolean {
  if (m.noActTerm && asdu.cot === COT.ACTIVATION_TERMINATION) return true;
  return m.noActCon === true && asdu.cot === COT.ACTIVATION_CON && isProcessCommand(asdu.typeId);
}

/**
 * The test seam of a station: how it adjusts its link parameters, delays received ASDUs, and
 * which deviations its sessions make. A correct station has none.
 * @internal
 */
export interface StationTestHooks {
  /** The link parameters the station's connections use, from the configured ones. */
  linkParameters?(p: LinkParameters): LinkParameters;
  /** How long a received ASDU waits before the session processes it (undefined: at once). */
  receiveDelay?(p: LinkParameters): number | undefined;
  /** Deviations of every session. */
  session?: SessionTestHooks;
}

/** The test seam that makes a station misbehave as `m` says, or undefined when no flag is set. */
export function misbehaviourHooks(m: StationMisbehaviour | undefined): StationTestHooks | undefined {
  if (!m || activeMisbehaviours(m).length === 0) return undefined;
  const session: SessionTestHooks = {};
  if (m.noActTerm || m.noActCon) session.withhold = (asdu) => misbehaviourWithholds(m, asdu);
  if (m.unknownIoaPositive) session.confirmUnknownCommandObject = true;
  if (m.acceptStale) session.skipCommandAgeCheck = true;
  if (m.ignoreSelect) session.skipSelectCheck = true;
  return {
    linkParameters: (p) => misbehavingLinkParameters(p, m),
    receiveDelay: (p) => slowAckDelay(p, m),
    session,
  };
}
