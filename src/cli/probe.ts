/**
 * `iec104 probe HOST[:PORT]`: step-by-step reachability check of a controlled station with a
 * plain-words diagnosis (see src/validate/probe.ts).
 */
import { parseArgs } from 'node:util';
import type { CliCommand } from './command.js';
import { UsageError, intArg, tlsArgs, TLS_HELP, VALIDATE_TLS_CLI_OPTIONS } from './args.js';
import { parseTarget } from '../validate/connection.js';
import { formatProbe, probe, PROBE_EXIT_CODES } from '../validate/probe.js';

const HELP = `usage: iec104 probe HOST[:PORT] [options]

Check step by step that a controlled station is reachable and speaks IEC 60870-5-104:
TCP connect -> TLS handshake (with --tls: version, cipher, station certificate subject,
issuer and validity) -> STARTDT act/con -> TESTFR act/con -> station interrogation of
--ca N (optional: counts the objects until ACT_TERM). Each step is timed. When a step
fails the probe stops and explains the probable cause in plain words.

options:
  --ca N             interrogate common address N after TESTFR (with --tls, a value that
                     is not a number is taken as the CA certificate file, like --tls-ca)
  --qoi N            qualifier of interrogation (default 20, station interrogation)
  --t0 MS            connection establishment time-out (default 30000)
  --t1 MS            time allowed for STARTDT con and TESTFR con (default 15000)
  --timeout MS       time allowed for the interrogation (default 30000)
  --port N           port when not given as HOST:PORT (default 2404)
${TLS_HELP}
  --json             print the result as one JSON object
  -h, --help         this text

example:
  $ iec104 probe 10.0.0.5 --ca 1
  probe 10.0.0.5:2404
    ok   connect             2.1 ms   TCP connection established with 10.0.0.5:2404
    ok   startdt             3.0 ms   STARTDT con received: data transfer started
    ok   testfr              1.2 ms   TESTFR con received
    ok   interrogation      84.3 ms   CA 1: 112 object(s) in 9 ASDU(s) (...)
  result: ok

exit codes:
   0  every step succeeded
   1  unexpected error
   2  usage error
   3  connection refused (service not running, wrong port)
   4  connection timed out after t0 (firewall dropping packets, host down)
   5  host or network unreachable (routing)
   6  host name does not resolve
   7  TLS handshake failed (certificate, version or cipher; the reason is printed)
   8  connection closed by the station right after accept (source not allowed,
      too many masters)
   9  no STARTDT con (wrong role, station busy / stand-by, connection limit)
  10  no TESTFR con
  11  interrogation refused, not terminated (no ACT_TERM) or connection lost
  12  this is not IEC 104: the service sent something else (an SSH banner, an HTTP
      page, a TLS record; what it looks like is printed)`;

async function run(argv: string[]): Promise<number> {
  try {
    const { values: v, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        ca: { type: 'string' },
        qoi: { type: 'string' },
        t0: { type: 'string' },
        t1: { type: 'string' },
        timeout: { type: 'string' },
        port: { type: 'string' },
        ...VALIDATE_TLS_CLI_OPTIONS,
        json: { type: 'boolean' },
      },
    });
    if (positionals.length !== 1) throw new UsageError('expected one HOST[:PORT]');
    let caText = v.ca;
    let tlsCa = v['tls-ca'];
    if (caText !== undefined && !/^(0x[0-9a-f]+|\d+)$/i.test(caText.trim())) {
      if (!v.tls) throw new UsageError(`--ca expects a common address (integer), not '${caText}'`);
      tlsCa = [...(tlsCa ?? []), caText];
      caText = undefined;
    }
    const target = parseTarget(positionals[0], intArg('port', v.port, 1, 65535) ?? 2404);
    const ca = intArg('ca', caText, 0, 65535);
    const qoi = intArg('qoi', v.qoi, 0, 255);
    const r = await probe({
      target,
      t0: intArg('t0', v.t0, 1),
      t1: intArg('t1', v.t1, 1),
      tls: tlsArgs({ ...v, 'tls-ca': tlsCa }),
      interrogation: ca === undefined ? undefined : { ca, qoi, timeout: intArg('timeout', v.timeout, 1) },
    });
    process.stdout.write((v.json ? JSON.stringify(r, null, 2) : formatProbe(r)) + '\n');
    return r.exitCode;
  } catch (e) {
    if (e instanceof UsageError || (e instanceof Error && /^(ERR_PARSE_ARGS|invalid port|no host|port must)/.test(String((e as { code?: string }).code ?? e.message)))) {
      process.stderr.write(`iec104 probe: ${e.message}\n\n${HELP}\n`);
      return 2;
    }
    throw e;
  }
}

/** The `probe` sub-command. */
export const command: CliCommand = { summary: 'check reachability step by step (TCP, TLS, STARTDT, TESTFR, interrogation) with a diagnosis', help: HELP, run };
export { PROBE_EXIT_CODES };
