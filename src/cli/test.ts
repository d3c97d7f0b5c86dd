/**
 * `iec104 test`: run scenario files or a built-in suite against a controlled station and report
 * pass/fail per step or check as text, JSON or JUnit XML (see src/validate/).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { CliCommand } from './command.js';
import { UsageError, intArg, tlsArgs, TLS_HELP, VALIDATE_TLS_CLI_OPTIONS } from './args.js';
import { parseTarget, type Target } from '../validate/connection.js';
import { allPassed, formatResults, type SuiteResult, toJUnit } from '../validate/report.js';
import { type Scenario, ScenarioError, parseScenario, type Template } from '../validate/scenario.js';
import { runScenario } from '../validate/scenario-runner.js';
import { listChecks, runSuite, type SuiteName, type SuiteTiming } from '../validate/suites.js';

const HELP = `usage: iec104 test SCENARIO.yaml... --target HOST[:PORT] [options]
       iec104 test --suite conformance|robustness --target HOST[:PORT] [options]
       iec104 test --list conformance|robustness

Run scenario files (YAML scripts of sessions: connect, startdt, command, expect, ...;
see docs/validate.md and examples/scenarios/) or a built-in suite against a
controlled station, and report pass/fail per step or check.

Suites:
  conformance  STARTDT/TESTFR answered, k and w honoured, close on t1, interrogation
               with COT 20 and ACT_TERM, refusals with COT 44/45/46/47, select-before-
               operate (execute without select, expired select), stale time-tagged
               commands, clock synchronisation
  robustness   junk, wrong lengths, malformed control fields, sequence errors, I-frames
               before STARTDT, floods: the station must close or refuse, and accept a
               clean connection afterwards
  Commands are sent to --ioa-single / --ioa-sbo points only: use test points.

options:
  --target HOST[:PORT]  the station (scenarios may name one with 'target:')
  --var NAME=VALUE      set a scenario variable (repeatable; numbers stay numbers)
  --timeout MS          default time allowed for waiting steps / answers (default 5000)
  --t0 MS               connection establishment time-out (default 10000)
  --json                print the results as JSON
  --junit FILE          also write JUnit XML (for CI systems)
  --verbose             print what passed steps observed, and every expectation
${TLS_HELP}

suite options:
  --suite NAME          conformance or robustness
  --check ID,...        run only these checks (e.g. C04,C06)
  --ca N                common address (default 1)
  --ioa-single N        a single-command point with direct execute (repeatable)
  --ioa-sbo N           a command point with select-before-operate
  --sbo-type T          its command type: single (C_SC_NA_1, default) or double (C_DC_NA_1)
  --ioa-read N          IOA for read commands (default: first IOA of the interrogation)
  --unknown-ioa N       an IOA the station does not have (default 16777200)
  --unknown-ca N        a common address it does not have (default ca+1)
  --unknown-type N      a type it does not support (default 24, reserved)
  --k N --w N           the station's k and w (defaults 12, 8)
  --t1 MS --t2 MS       the station's t1 and t2 (defaults 15000, 10000)
  --margin MS           tolerance on t1/t2 deadlines (default 1000)
  --settle MS           silence that ends a burst (default 500)
  --select-timeout MS   the station's select timeout (default 10000)
  --stale-age MS        age of the stale time tag (default 3600000)
  --close-wait MS       time allowed to close after a violation (default 5000)
  --flood-count N       frames per flood (default 500)
  --flood-ms MS         flood duration bound (default 5000)
  --flood-connections N simultaneous connections of the connection burst (default 20)

examples:
  $ iec104 test examples/scenarios/interrogation.yaml --target 10.0.0.5 --junit report.xml
  $ iec104 test --suite conformance --target 10.0.0.5 --ca 1 --ioa-single 5000 --ioa-sbo 5001

exit codes:
  0  every step / check passed (skipped checks do not fail the run)
  1  some step or check failed, or a scenario could not run
  2  usage error, or a malformed scenario file (file:line:column: reason)`;

function parseVar(s: string): [string, Template] {
  const i = s.indexOf('=');
  if (i <= 0) throw new UsageError(`--var expects NAME=VALUE, not '${s}'`);
  const name = s.slice(0, i);
  if (!/^[A-Za-z_]\w*$/.test(name)) throw new UsageError(`--var: '${name}' is not a variable name`);
  const raw = s.slice(i + 1);
  const value: Template = /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw === 'true' ? true : raw === 'false' ? false : raw;
  return [name, value];
}

async function run(argv: string[]): Promise<number> {
  let v;
  let positionals: string[];
  try {
    ({ values: v, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        target: { type: 'string' },
        var: { type: 'string', multiple: true },
        timeout: { type: 'string' },
        t0: { type: 'string' },
        json: { type: 'boolean' },
        junit: { type: 'string' },
        verbose: { type: 'boolean' },
        suite: { type: 'string' },
        list: { type: 'string' },
        check: { type: 'string', multiple: true },
        ca: { type: 'string' },
        'ioa-single': { type: 'string', multiple: true },
        'ioa-sbo': { type: 'string' },
        'sbo-type': { type: 'string' },
        'ioa-read': { type: 'string' },
        'unknown-ioa': { type: 'string' },
        'unknown-ca': { type: 'string' },
        'unknown-type': { type: 'string' },
        k: { type: 'string' },
        w: { type: 'string' },
        t1: { type: 'string' },
        t2: { type: 'string' },
        margin: { type: 'string' },
        settle: { type: 'string' },
        'select-timeout': { type: 'string' },
        'stale-age': { type: 'string' },
        'close-wait': { type: 'string' },
        'flood-count': { type: 'string' },
        'flood-ms': { type: 'string' },
        'flood-connections': { type: 'string' },
        ...VALIDATE_TLS_CLI_OPTIONS,
      },
    }));
  } catch (e) {
    process.stderr.write(`iec104 test: ${(e as Error).message}\n\nRun 'iec104 test --help' for the options.\n`);
    return 2;
  }
  const usage = (m: string): number => {
    process.stderr.write(`iec104 test: ${m}\n\nRun 'iec104 test --help' for the options.\n`);
    return 2;
  };
  const isSuite = (s: string | undefined): s is SuiteName => s === 'conformance' || s === 'robustness';
  if (v.list !== undefined) {
    if (!isSuite(v.list)) return usage(`unknown suite '${v.list}' (conformance or robustness)`);
    for (const c of listChecks(v.list)) process.stdout.write(`${c.id}  ${c.title}\n     expects: ${c.expectation}\n`);
    return 0;
  }
  const results: SuiteResult[] = [];
  try {
    const target: Target | undefined = v.target ? parseTarget(v.target) : undefined;
    const timeout = intArg('timeout', v.timeout, 1);
    const t0 = intArg('t0', v.t0, 1);
    const tlsOpts = tlsArgs(v);
    const progress = !v.json && process.stdout.isTTY === true;
    if (v.suite !== undefined) {
      if (!isSuite(v.suite)) return usage(`unknown suite '${v.suite}' (conformance or robustness)`);
      if (positionals.length) return usage('give either scenario files or --suite, not both');
      if (!target) return usage('--suite needs --target HOST[:PORT]');
      const timing: SuiteTiming = {
        answer: timeout,
        t0,
        margin: intArg('margin', v.margin, 0),
        settle: intArg('settle', v.settle, 1),
        selectTimeout: intArg('select-timeout', v['select-timeout'], 0),
        staleAge: intArg('stale-age', v['stale-age'], 1),
        closeWait: intArg('close-wait', v['close-wait'], 1),
        floodCount: intArg('flood-count', v['flood-count'], 1, 100_000),
        floodMs: intArg('flood-ms', v['flood-ms'], 1),
        floodConnections: intArg('flood-connections', v['flood-connections'], 1, 1000),
      };
      for (const k of Object.keys(timing) as Array<keyof SuiteTiming>) if (timing[k] === undefined) delete timing[k];
      const only = v.check?.flatMap((c) => c.split(',')).map((c) => c.trim().toUpperCase()).filter(Boolean);
      results.push(
        await runSuite(v.suite, {
          target,
          ca: intArg('ca', v.ca, 0, 65535),
          ioaSingle: v['ioa-single']?.map((x) => intArg('ioa-single', x, 0, 0xffffff)!),
          ioaSbo: intArg('ioa-sbo', v['ioa-sbo'], 0, 0xffffff),
          sboType: v['sbo-type'] === undefined ? undefined : v['sbo-type'] === 'double' ? 'double' : v['sbo-type'] === 'single' ? 'single' : (() => { throw new UsageError(`--sbo-type expects single or double, not '${v['sbo-type']}'`); })(),
          ioaRead: intArg('ioa-read', v['ioa-read'], 0, 0xffffff),
          unknownIoa: intArg('unknown-ioa', v['unknown-ioa'], 0, 0xffffff),
          unknownCa: intArg('unknown-ca', v['unknown-ca'], 0, 65535),
          unknownType: intArg('unknown-type', v['unknown-type'], 1, 255),
          peer: { k: intArg('k', v.k, 1, 32767), w: intArg('w', v.w, 1, 32767), t1: intArg('t1', v.t1, 1), t2: intArg('t2', v.t2, 1) },
          timing,
          ...(only && only.length ? { only } : {}),
          tls: tlsOpts,
          onCheck: progress ? (c) => process.stderr.write(`${c.status.toUpperCase()} ${c.id} ${c.name}\n`) : undefined,
        }),
      );
    } else {
      if (positionals.length === 0) return usage('give scenario files or --suite NAME');
      const scenarios: Scenario[] = [];
      for (const f of positionals) {
        let text: string;
        try {
          text = readFileSync(f, 'utf8');
        } catch (e) {
          return usage(`cannot read ${f}: ${(e as Error).message}`);
        }
        try {
          scenarios.push(parseScenario(text, f));
        } catch (e) {
          if (e instanceof ScenarioError) {
            process.stderr.write(`iec104 test: ${e.message}\n`);
            return 2;
          }
          throw e;
        }
      }
      const vars = Object.fromEntries((v.var ?? []).map(parseVar));
      for (const sc of scenarios) {
        if (!target && !sc.target) return usage(`${sc.file}: no target (give --target HOST[:PORT] or target: in the file)`);
        results.push(await runScenario(sc, { target, defaultTimeout: timeout, t0, vars, tls: tlsOpts, onStep: progress ? (c) => process.stderr.write(`${c.status.toUpperCase()} ${c.id} ${c.name}\n`) : undefined }));
      }
    }
  } catch (e) {
    if (e instanceof UsageError || (e instanceof Error && /^(invalid port|no host|port must)/.test(e.message))) return usage(e.message);
    throw e;
  }
  if (v.junit) writeFileSync(v.junit, toJUnit(results));
  process.stdout.write((v.json ? JSON.stringify(results, null, 2) : formatResults(results, { verbose: v.verbose === true })) + '\n');
  return allPassed(results) ? 0 : 1;
}

/** The `test` sub-command. */
export const command: CliCommand = { summary: 'run scenario files or the conformance/robustness suites; text, JSON or JUnit XML', help: HELP, run };
