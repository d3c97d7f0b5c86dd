/**
 * `iec104 measure HOST[:PORT] --ca N --ioa N --single toggle --count N`: command latency
 * measurement with text, JSON and SVG output (see src/validate/measure.ts and plot.ts).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { CliCommand } from './command.js';
import { COMMAND_VALUE_OPTIONS, UsageError, intArg, joinNegativeValues, numArg, tlsArgs, TLS_HELP, VALIDATE_TLS_CLI_OPTIONS } from './args.js';
import { parseTarget } from '../validate/connection.js';
import { formatMeasure, measure, type MeasureKind, type MeasureOptions } from '../validate/measure.js';
import { measureSvg } from '../validate/plot.js';

const HELP = `usage: iec104 measure HOST[:PORT] --ca N --ioa N COMMAND [options]

Send a series of process commands as controlling station and measure the answers:
ACT_CON and ACT_TERM latency (min, p50, p90, p99, max, mean), outcomes (positive,
negative with cause, timeout), and with --feedback-ioa the time until the feedback
point reports the commanded state (spontaneous, retrem or retloc). Commands operate
the point: use a test point.

COMMAND (exactly one):
  --single on|off|toggle          single command C_SC_NA_1 (toggle alternates ON/OFF)
  --double on|off|toggle          double command C_DC_NA_1
  --setpoint-normalized V|toggle  set-point, normalized value (toggle: 0 / 0.5)
  --setpoint-scaled V|toggle      set-point, scaled value (toggle: 0 / 100)
  --setpoint-float V|toggle       set-point, short float (toggle: 0 / 1)

options:
  --ca N             common address (required)
  --ioa N            information object address of the command (required)
  --count N          number of commands (default 100)
  --rate N           at most N commands per second (default: the next command as soon
                     as the previous one ended)
  --select           select before each execute
  --time             time-tagged variant (58..63) with the current time
  --feedback-ioa N   measure the time until this point reports the commanded state
  --no-actterm       do not wait for ACT_TERM
  --timeout MS       time allowed for ACT_CON, ACT_TERM and feedback (default 5000)
  --t0 MS            connection establishment time-out (default 10000)
  --port N           port when not given as HOST:PORT (default 2404)
${TLS_HELP}
  --json             print the result (with every sample) as JSON
  --plot FILE.svg    write an SVG: latency histogram and latency over time
  -h, --help         this text

example:
  $ iec104 measure 10.0.0.5 --ca 1 --ioa 5000 --single toggle --count 1000 --rate 20 \\
      --feedback-ioa 100 --plot latency.svg

exit codes:
  0  every command confirmed positively (and terminated, unless --no-actterm)
  1  unexpected error
  2  usage error
  3  some commands were refused (negative confirmation)
  4  some answers timed out (ACT_CON, ACT_TERM or feedback)
  5  connection failure or connection lost`;

async function run(argv: string[]): Promise<number> {
  const args = joinNegativeValues(argv);
  let opts: MeasureOptions;
  let json = false;
  let plot: string | undefined;
  try {
    const { values: v, positionals } = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        ...COMMAND_VALUE_OPTIONS,
        count: { type: 'string' },
        rate: { type: 'string' },
        'feedback-ioa': { type: 'string' },
        'no-actterm': { type: 'boolean' },
        timeout: { type: 'string' },
        t0: { type: 'string' },
        port: { type: 'string' },
        ...VALIDATE_TLS_CLI_OPTIONS,
        json: { type: 'boolean' },
        plot: { type: 'string' },
      },
    });
    if (positionals.length !== 1) throw new UsageError('expected one HOST[:PORT]');
    const kinds = (['single', 'double', 'setpoint-normalized', 'setpoint-scaled', 'setpoint-float'] as MeasureKind[]).filter((k) => v[k] !== undefined);
    if (kinds.length !== 1) throw new UsageError('give exactly one of --single, --double, --setpoint-normalized, --setpoint-scaled, --setpoint-float');
    const kind = kinds[0];
    const text = String(v[kind]).trim().toLowerCase();
    let value: MeasureOptions['value'];
    let toggleValues: [number, number] | undefined;
    if (text === 'toggle') {
      value = 'toggle';
      toggleValues = kind === 'setpoint-normalized' ? [0, 0.5] : kind === 'setpoint-scaled' ? [0, 100] : [0, 1];
    } else if (kind === 'single' || kind === 'double') {
      if (text !== 'on' && text !== 'off') throw new UsageError(`--${kind} expects on, off or toggle, not '${text}'`);
      value = text;
    } else {
      const n = Number(text);
      if (text === '' || !Number.isFinite(n)) throw new UsageError(`--${kind} expects a number or toggle, not '${text}'`);
      if (kind === 'setpoint-normalized' && (n < -1 || n > 1)) throw new UsageError('--setpoint-normalized expects -1..+1');
      if (kind === 'setpoint-scaled' && (!Number.isInteger(n) || n < -32768 || n > 32767)) throw new UsageError('--setpoint-scaled expects an integer -32768..32767');
      value = n;
    }
    const ca = intArg('ca', v.ca, 0, 65535);
    const ioa = intArg('ioa', v.ioa, 0, 0xffffff);
    if (ca === undefined || ioa === undefined) throw new UsageError('--ca and --ioa are required');
    json = v.json === true;
    plot = v.plot;
    opts = {
      target: parseTarget(positionals[0], intArg('port', v.port, 1, 65535) ?? 2404),
      ca,
      ioa,
      kind,
      value,
      ...(toggleValues ? { toggleValues } : {}),
      count: intArg('count', v.count, 1) ?? 100,
      rate: numArg('rate', v.rate, 0.001),
      select: v.select === true,
      timeTag: v.time === true,
      feedbackIoa: intArg('feedback-ioa', v['feedback-ioa'], 0, 0xffffff),
      waitTerm: v['no-actterm'] !== true,
      timeout: intArg('timeout', v.timeout, 1),
      t0: intArg('t0', v.t0, 1),
      tls: tlsArgs(v),
    };
  } catch (e) {
    if (e instanceof UsageError || (e instanceof Error && ((e as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || /^(invalid port|no host|port must)/.test(e.message)))) {
      process.stderr.write(`iec104 measure: ${e.message}\n\nRun 'iec104 measure --help' for the options.\n`);
      return 2;
    }
    throw e;
  }
  const tty = process.stderr.isTTY === true && !json;
  const r = await measure({ ...opts, onSample: tty ? (s) => process.stderr.write(`\r${s.index + 1}/${opts.count}`) : undefined });
  if (tty) process.stderr.write('\r');
  if (plot) writeFileSync(plot, measureSvg(r));
  process.stdout.write((json ? JSON.stringify(r, null, 2) : formatMeasure(r) + (plot ? `\nplot written to ${plot}` : '')) + '\n');
  if (r.error && r.samples.length < opts.count) return 5;
  if (r.outcomes.closed) return 5;
  if (r.outcomes.negative) return 3;
  if (r.outcomes.timeout || r.actTermTimeouts || r.feedbackTimeouts) return 4;
  return 0;
}

/** The `measure` sub-command. */
export const command: CliCommand = { summary: 'measure command latency (ACT_CON, ACT_TERM, feedback) with statistics and an SVG plot', help: HELP, run };
