/**
 * Structural validation of a serialised {@link Baseline} (read back from YAML).
 */
import type { Baseline } from './baseline.js';

interface Issue {
  path: string;
  message: string;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Check the shape of a baseline; pushes problems to `issues` and returns the value typed when it is sound. */
export function checkBaselineShape(v: unknown, path: string, issues: Issue[]): Baseline | undefined {
  const before = issues.length;
  const err = (p: string, m: string): void => {
    issues.push({ path: p, message: m });
  };
  if (!isObj(v)) {
    err(path, 'expected a mapping (a baseline written by baselineToYaml)');
    return undefined;
  }
  if (v.version !== 1) err(`${path}.version`, 'expected 1');
  if (!isObj(v.learned)) err(`${path}.learned`, 'expected a mapping with start, end, frames');
  if (!isObj(v.stations)) err(`${path}.stations`, 'expected a mapping of station address to its baseline');
  else {
    for (const [addr, s] of Object.entries(v.stations)) {
      const p = `${path}.stations[${JSON.stringify(addr)}]`;
      if (!isObj(s)) {
        err(p, 'expected a mapping');
        continue;
      }
      if (!Array.isArray(s.masters) || !s.masters.every((m) => typeof m === 'string')) err(`${p}.masters`, 'expected a list of master hosts');
      if (!Array.isArray(s.commonAddresses) || !s.commonAddresses.every((m) => Number.isInteger(m))) err(`${p}.commonAddresses`, 'expected a list of numbers');
      if (!isObj(s.types) || !Object.values(s.types).every((c) => Array.isArray(c) && c.every((x) => Number.isInteger(x)))) err(`${p}.types`, 'expected a mapping of type name to a list of causes');
      if (!isObj(s.objects) || !Object.values(s.objects).every((r) => typeof r === 'string')) err(`${p}.objects`, "expected a mapping of CA to IOA ranges like '1-10,15'");
      if (!isObj(s.rate) || typeof s.rate.maxPerMinute !== 'number' || typeof s.rate.meanPerMinute !== 'number') err(`${p}.rate`, 'expected a mapping with meanPerMinute and maxPerMinute');
      if (!isObj(s.periods)) err(`${p}.periods`, 'expected a mapping (interrogationMs, clockSyncMs, counterInterrogationMs)');
    }
  }
  if (v.masters !== undefined && !isObj(v.masters)) err(`${path}.masters`, 'expected a mapping of master host to its commands');
  return issues.length === before ? (v as unknown as Baseline) : undefined;
}
