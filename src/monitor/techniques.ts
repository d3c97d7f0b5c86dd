/**
 * MITRE ATT&CK for ICS tagging beyond one technique per rule. A rule's `mitre` in the catalogue
 * ({@link RULES}) is its primary technique; {@link ALSO_TECHNIQUES} lists the further techniques
 * the same evidence shows (following MITRE's definitions), and {@link tagTechniques} writes the
 * whole list into `Alert.techniques` (primary first). Some tags depend on what triggered the
 * alert: a master that is not in the policy or the baseline and interrogates or reads is
 * monitoring the process state (T0801), one that commands is not.
 *
 * Each technique belongs to a kill-chain phase ({@link phaseOf}) used by the incident view
 * (`incidents.ts`): discovery → collection → control.
 */
import { typeName } from '../codec/type-table.js';
import { RULES } from './rules.js';
import type { Alert } from './types.js';

/**
 * Further techniques per rule id (the primary one is the catalogue's `mitre`):
 *
 * * T0888 Remote System Information Discovery: common-address sweeps learn which logical
 *   devices a station has (its configuration), beyond listing the station (T0846).
 * * T0801 Monitor Process State: interrogation and read floods, read sweeps (Industroyer2 used
 *   general interrogation to read IOAs and their states).
 * * T0802 Automated Collection: the same loops run by a script (a changed interrogation period,
 *   `baseline.period-change`, has T0802 as its primary technique).
 * * T0815 Denial of View: the station is told to stop cyclic/periodic transmission (P_AC_NA_1
 *   deactivation); `link.t1-expired` and `link.no-keepalive` (the station or the master stops
 *   answering) have T0815 as their primary technique.
 * * T0858 Change Operating Mode: MITRE counts "Reset" among the operating modes; a reset process
 *   command puts the station through it.
 */
export const ALSO_TECHNIQUES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  'recon.ca-sweep': ['T0888'],
  'recon.unknown-ca': ['T0888'],
  'recon.ioa-sweep': ['T0801', 'T0802'],
  'flood.gi': ['T0801', 'T0802'],
  'flood.read': ['T0801', 'T0802'],
  'param.deactivation': ['T0815'],
  'sys.restart': ['T0858'],
  'sys.reset-process': ['T0858'],
});

/** Rules about an unexpected master or request: tagged T0801 when what raised them was an interrogation or a read. */
const UNEXPECTED_MASTER = new Set(['policy.unknown-master', 'baseline.new-master', 'policy.command-not-allowed']);
const POLLING_TYPES = new Set(['C_IC_NA_1', 'C_CI_NA_1', 'C_RD_NA_1']);

/** All techniques of a rule as the catalogue and {@link ALSO_TECHNIQUES} give them (primary first). */
export function ruleTechniques(rule: string, primary: string | undefined): string[] {
  const out = primary ? [primary] : [];
  for (const t of ALSO_TECHNIQUES[rule] ?? []) if (!out.includes(t)) out.push(t);
  return out;
}

/**
 * Set `a.techniques` (every technique, the alert's `mitre` first) when the alert shows more than
 * one; `typeId` is the type of the APDU that raised it, when one did.
 */
export function tagTechniques(a: Alert, typeId: number | undefined): void {
  // rules raised by parts that do not name a technique (session shadow, baseline) get the catalogue's
  if (a.mitre === undefined) {
    const m = RULES[a.rule]?.mitre;
    if (m !== undefined) a.mitre = m;
  }
  const all = ruleTechniques(a.rule, a.mitre);
  if (typeId !== undefined && UNEXPECTED_MASTER.has(a.rule) && POLLING_TYPES.has(typeName(typeId)) && !all.includes('T0801')) all.push('T0801');
  if (all.length > 1) a.techniques = all;
}

/** Kill-chain phases of the incident view, in their order. */
export type Phase = 'access' | 'discovery' | 'collection' | 'control';
/** The phases in kill-chain order. */
export const PHASES: readonly Phase[] = ['access', 'discovery', 'collection', 'control'];

/**
 * Phase of a technique: ATT&CK for ICS tactics folded into four steps an analyst reads in order.
 * `access`: initial access, persistence, evasion, lateral movement, command and control (T0849
 * Masquerading, T0859 Valid Accounts, T0869 Standard Application Layer Protocol); `discovery`:
 * T0846, T0888, T0861; `collection`: T0801, T0802, T0830; `control`: execution, impair process
 * control, inhibit response function and impact (commands, parameters, restarts, floods).
 */
export function phaseOf(technique: string): Phase {
  switch (technique) {
    case 'T0849':
    case 'T0859':
    case 'T0869':
      return 'access';
    case 'T0846':
    case 'T0888':
    case 'T0861':
      return 'discovery';
    case 'T0801':
    case 'T0802':
    case 'T0830':
      return 'collection';
    default:
      return 'control';
  }
}
