/**
 * Reconnect back-off: exponential with a ceiling and symmetric jitter.
 */

/** Reconnect policy. Times in milliseconds. */
export interface BackoffOptions {
  /** Delay before the first retry. Default 1 000. */
  min: number;
  /** Ceiling of the delay. Default 30 000. */
  max: number;
  /** Growth factor per failed attempt. Default 2. */
  factor: number;
  /** Relative jitter 0..1: the delay is spread uniformly over ±jitter × delay (then capped at max). Default 0.1. */
  jitter: number;
}

/** Default reconnect policy: 1 s, 2 s, 4 s, ... up to 30 s, ±10 %. */
export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({ min: 1_000, max: 30_000, factor: 2, jitter: 0.1 });

/**
 * Delay before retry number `attempt` (1 = first retry): `min × factor^(attempt-1)` capped at
 * `max`, spread by jitter using `random()` in [0, 1) (0.5 = no jitter), never above `max` or below 0.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { backoffDelay } from 'iec104';
 * assert.equal(backoffDelay(1, { min: 1000, max: 8000, factor: 2, jitter: 0 }), 1000);
 * assert.equal(backoffDelay(5, { min: 1000, max: 8000, factor: 2, jitter: 0 }), 8000);
 * ```
 */
export function backoffDelay(attempt: number, o: BackoffOptions, random: () => number = Math.random): number {
  const n = Math.max(1, Math.floor(attempt));
  const base = Math.min(o.max, o.min * Math.pow(o.factor, n - 1));
  const j = Math.min(1, Math.max(0, o.jitter));
  const spread = j === 0 ? 0 : base * j * (2 * random() - 1);
  return Math.max(0, Math.min(o.max, Math.round(base + spread)));
}
