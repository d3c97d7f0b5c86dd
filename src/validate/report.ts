/**
 * Results of scenario runs and suites in one shape, with text and JUnit XML renderings (JUnit is
 * what CI systems — Jenkins, GitLab, GitHub Actions reporters — read).
 */

/** Outcome of one case (a scenario step or a suite check). */
export type CaseStatus = 'pass' | 'fail' | 'skip';

/** One reported case. */
export interface CaseResult {
  /** Stable identifier (`C03`, `step 4`, `step 5.2[i=1]`). */
  id: string;
  /** Human name. */
  name: string;
  status: CaseStatus;
  /** Duration (ms). */
  ms: number;
  /** Why it failed or was skipped, or what was observed when it passed. */
  message?: string;
  /** What was expected and why (suites: the clause of the standard, in words). */
  expectation?: string;
  /** Source line (scenarios). */
  line?: number;
}

/** A group of cases: one scenario, or one suite. */
export interface SuiteResult {
  name: string;
  /** Scenario file or `suite:conformance`. */
  file?: string;
  target: string;
  /** Wall-clock start (ISO 8601). */
  startedAt: string;
  ms: number;
  cases: CaseResult[];
  /** An error that stopped the whole group (e.g. a template error), besides the cases. */
  error?: string;
}

/** Totals of a set of results. */
export interface Totals {
  tests: number;
  passed: number;
  failed: number;
  skipped: number;
  errors: number;
}

/** Count cases. */
export function totals(results: SuiteResult[]): Totals {
  const t: Totals = { tests: 0, passed: 0, failed: 0, skipped: 0, errors: 0 };
  for (const r of results) {
    if (r.error) {
      t.errors++;
      t.tests++;
    }
    for (const c of r.cases) {
      t.tests++;
      if (c.status === 'pass') t.passed++;
      else if (c.status === 'fail') t.failed++;
      else t.skipped++;
    }
  }
  return t;
}

/** Whether every group passed (no failed case, no error). */
export function allPassed(results: SuiteResult[]): boolean {
  const t = totals(results);
  return t.failed === 0 && t.errors === 0;
}

/** Text report for a terminal. */
export function formatResults(results: SuiteResult[], opts: { verbose?: boolean } = {}): string {
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${r.name}${r.file ? ` (${r.file})` : ''} against ${r.target}`);
    for (const c of r.cases) {
      const mark = c.status === 'pass' ? 'PASS' : c.status === 'fail' ? 'FAIL' : 'SKIP';
      lines.push(`  ${mark} ${c.id.padEnd(8)} ${c.name}  (${Math.round(c.ms)} ms)`);
      if (c.message && (c.status !== 'pass' || opts.verbose)) lines.push(`         ${c.message}`);
      if (c.expectation && (c.status === 'fail' || opts.verbose)) lines.push(`         expected: ${c.expectation}`);
    }
    if (r.error) lines.push(`  ERROR ${r.error}`);
  }
  const t = totals(results);
  lines.push(`${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped${t.errors ? `, ${t.errors} error(s)` : ''}`);
  return lines.join('\n');
}

/** Escape text for XML content and attribute values (and drop characters XML 1.0 cannot carry). */
export function xmlEscape(s: string): string {
  return s
     
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const sec = (ms: number): string => (ms / 1000).toFixed(3);

/** JUnit XML: one `<testsuite>` per scenario or suite, one `<testcase>` per step or check. */
export function toJUnit(results: SuiteResult[], name = 'iec104'): string {
  const t = totals(results);
  const total = results.reduce((s, r) => s + r.ms, 0);
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xmlEscape(name)}" tests="${t.tests}" failures="${t.failed}" errors="${t.errors}" skipped="${t.skipped}" time="${sec(total)}">`,
  ];
  for (const r of results) {
    const tr = totals([r]);
    const attrs = [`name="${xmlEscape(r.name)}"`, `tests="${tr.tests}"`, `failures="${tr.failed}"`, `errors="${tr.errors}"`, `skipped="${tr.skipped}"`, `time="${sec(r.ms)}"`, `timestamp="${xmlEscape(r.startedAt)}"`];
    if (r.file) attrs.push(`file="${xmlEscape(r.file)}"`);
    out.push(`  <testsuite ${attrs.join(' ')}>`);
    out.push('    <properties>', `      <property name="target" value="${xmlEscape(r.target)}"/>`, '    </properties>');
    for (const c of r.cases) {
      const ca = [`classname="${xmlEscape(r.name)}"`, `name="${xmlEscape(`${c.id} ${c.name}`)}"`, `time="${sec(c.ms)}"`];
      if (r.file) ca.push(`file="${xmlEscape(r.file)}"`);
      if (c.line !== undefined) ca.push(`line="${c.line}"`);
      const body: string[] = [];
      if (c.status === 'fail') body.push(`      <failure message="${xmlEscape(c.message ?? 'failed')}" type="failure">${xmlEscape([c.message, c.expectation ? `expected: ${c.expectation}` : ''].filter(Boolean).join('\n'))}</failure>`);
      else if (c.status === 'skip') body.push(`      <skipped message="${xmlEscape(c.message ?? 'skipped')}"/>`);
      else if (c.message) body.push(`      <system-out>${xmlEscape(c.message)}</system-out>`);
      if (body.length === 0) out.push(`    <testcase ${ca.join(' ')}/>`);
      else out.push(`    <testcase ${ca.join(' ')}>`, ...body, '    </testcase>');
    }
    if (r.error) out.push(`    <testcase classname="${xmlEscape(r.name)}" name="(run)" time="0.000">`, `      <error message="${xmlEscape(r.error)}" type="error"/>`, '    </testcase>');
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return out.join('\n') + '\n';
}
