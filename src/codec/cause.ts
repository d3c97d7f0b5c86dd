/** Causes of transmission (IEC 60870-5-101 clause 7.2.3; 14..16 from IEC 60870-5-7). */
export const COT = {
  PERIODIC: 1,
  BACKGROUND: 2,
  SPONTANEOUS: 3,
  INITIALIZED: 4,
  REQUEST: 5,
  ACTIVATION: 6,
  ACTIVATION_CON: 7,
  DEACTIVATION: 8,
  DEACTIVATION_CON: 9,
  ACTIVATION_TERMINATION: 10,
  RETURN_REMOTE: 11,
  RETURN_LOCAL: 12,
  FILE_TRANSFER: 13,
  AUTHENTICATION: 14,
  SESSION_KEY: 15,
  USER_ROLE_KEY: 16,
  INTERROGATED_STATION: 20,
  /** Group 1; group n is 20 + n (n = 1..16). */
  INTERROGATED_GROUP_1: 21,
  REQUESTED_COUNTER_GENERAL: 37,
  /** Counter group 1; group n is 37 + n (n = 1..4). */
  REQUESTED_COUNTER_GROUP_1: 38,
  UNKNOWN_TYPE: 44,
  UNKNOWN_CAUSE: 45,
  UNKNOWN_CA: 46,
  UNKNOWN_IOA: 47,
} as const;

const NAMES: Record<number, [string, string]> = {
  1: ['per/cyc', 'periodic, cyclic'],
  2: ['back', 'background scan'],
  3: ['spont', 'spontaneous'],
  4: ['init', 'initialized'],
  5: ['req', 'request or requested'],
  6: ['act', 'activation'],
  7: ['actcon', 'activation confirmation'],
  8: ['deact', 'deactivation'],
  9: ['deactcon', 'deactivation confirmation'],
  10: ['actterm', 'activation termination'],
  11: ['retrem', 'return information caused by a remote command'],
  12: ['retloc', 'return information caused by a local command'],
  13: ['file', 'file transfer'],
  14: ['auth', 'authentication'],
  15: ['seskey', 'maintenance of association session key'],
  16: ['usrkey', 'maintenance of user role and update key'],
  20: ['inrogen', 'interrogated by station interrogation'],
  37: ['reqcogen', 'requested by general counter request'],
  44: ['uknown_type', 'unknown type identification'],
  45: ['uknown_cause', 'unknown cause of transmission'],
  46: ['unknown_asdu_address', 'unknown common address of ASDU'],
  47: ['unknown_object_address', 'unknown information object address'],
};
for (let g = 1; g <= 16; g++) NAMES[20 + g] = [`inro${g}`, `interrogated by group ${g} interrogation`];
for (let g = 1; g <= 4; g++) NAMES[37 + g] = [`reqco${g}`, `requested by group ${g} counter request`];

/** Short name of a cause as Wireshark and the standard's tables write it (`act`, `inrogen`, …). */
export function cotShortName(cot: number): string {
  return NAMES[cot]?.[0] ?? (cot >= 48 ? `private(${cot})` : `reserved(${cot})`);
}
/** Descriptive name of a cause (`activation confirmation`, …). */
export function cotName(cot: number): string {
  return NAMES[cot]?.[1] ?? (cot === 0 ? 'not used' : cot >= 48 ? 'special use (private range)' : 'reserved');
}
/** Whether the cause value is defined by the standard (1..16, 20..41, 44..47). */
export function isDefinedCause(cot: number): boolean {
  return NAMES[cot] !== undefined;
}

/**
 * Whether the cause marks an answer to a request rather than a request: activation confirmation
 * (7), deactivation confirmation (9), activation termination (10), or a negative mirror (44..47).
 * A station never answers an ASDU with such a cause (docs/CONFORMANCE.md A01).
 */
export function isAnswerCause(cot: number): boolean {
  return cot === 7 || cot === 9 || cot === 10 || (cot >= 44 && cot <= 47);
}
