/**
 * Validation of APCI parameters (k, w, t0..t3).
 */
import { DEFAULT_LINK_PARAMETERS, type LinkParameters } from './types.js';

/**
 * An APCI parameter set that cannot work: names the field, what it must be and what was given.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { resolveLinkParameters, LinkParameterError } from 'iec104';
 * assert.throws(() => resolveLinkParameters({ k: 4, w: 8 }), (e) => e instanceof LinkParameterError && e.field === 'w');
 * ```
 */
export class LinkParameterError extends Error {
  override readonly name = 'LinkParameterError';
  readonly code = 'E_LINK_PARAMETER' as const;
  constructor(
    /** The parameter concerned: `k`, `w`, `t0`, `t1`, `t2` or `t3`. */
    readonly field: keyof LinkParameters,
    /** What it should be. */
    readonly expected: string,
    /** What was given. */
    readonly found: string,
  ) {
    super(`invalid link parameter ${field}: expected ${expected}, found ${found}`);
  }
}

/**
 * Fill defaults ({@link DEFAULT_LINK_PARAMETERS}) and check the set: `k` integer 1..32767,
 * `w` integer 1..k, every time finite and > 0, and `t2 < t1` (the peer must see our acknowledgement
 * before its t1 expires). Throws {@link LinkParameterError} naming the first bad field.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { resolveLinkParameters } from 'iec104';
 * const p = resolveLinkParameters({ k: 32767, w: 21844 });
 * assert.equal(p.t1, 15_000);
 * ```
 */
export function resolveLinkParameters(p?: Partial<LinkParameters>): LinkParameters {
  const r: LinkParameters = { ...DEFAULT_LINK_PARAMETERS, ...stripUndefined(p) };
  if (!Number.isInteger(r.k) || r.k < 1 || r.k > 32767) throw new LinkParameterError('k', 'an integer 1..32767', String(r.k));
  if (!Number.isInteger(r.w) || r.w < 1 || r.w > r.k) throw new LinkParameterError('w', `an integer 1..k (${r.k})`, String(r.w));
  for (const f of ['t0', 't1', 't2', 't3'] as const) {
    const v = r[f];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new LinkParameterError(f, 'a finite number of milliseconds > 0', String(v));
  }
  if (r.t2 >= r.t1) throw new LinkParameterError('t2', `less than t1 (${r.t1} ms)`, String(r.t2));
  return r;
}

function stripUndefined(p: Partial<LinkParameters> | undefined): Partial<LinkParameters> {
  if (!p) return {};
  const o: Partial<LinkParameters> = {};
  for (const [key, v] of Object.entries(p) as [keyof LinkParameters, number | undefined][]) if (v !== undefined) o[key] = v;
  return o;
}
