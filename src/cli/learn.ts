/**
 * `iec104 learn`: learn a baseline (peers, type/cause mix per station, objects, rates, periods, the
 * commands each master sends) from a capture of clean traffic and write it, with the policy it
 * implies, as YAML that `iec104 analyze --policy` and `iec104 proxy --policy` enforce.
 */
import { createReadStream, writeFileSync } from 'node:fs';
import { CaptureAnalyzer } from '../capture/analyze.js';
import { BaselineLearner, baselineToYaml } from '../monitor/baseline.js';
import { observedFromRecord } from '../monitor/from-capture.js';
import type { CliCommand } from './command.js';

const HELP = `usage: iec104 learn FILE|- [--port N ...] [--out FILE]

Learn what normal IEC 104 traffic looks like from a pcap / pcapng capture of clean traffic
and write a baseline plus the policy it implies (each master may send the command types
it sent, to the common addresses and IOAs it sent them to, with set-points in the range it
used) as one YAML document. Review it, then enforce it:

  iec104 analyze capture.pcap --policy baseline.yaml
  iec104 proxy --listen 0.0.0.0:2404 --upstream rtu:2404 --policy baseline.yaml --enforce

Enforcement raises baseline.* alerts for new masters or stations, unseen types, causes and
IOAs, I-frame rates and interrogation / clock-sync periods out of tolerance, and policy.*
alerts for commands outside the inferred policy.

options:
  --out FILE          write the YAML to FILE instead of standard output
  --port N            also treat TCP port N as IEC 104 (repeatable)
  --no-heuristic      only recognise IEC 104 by port
  -h, --help          this text

example:
  $ iec104 learn clean.pcap > baseline.yaml
  $ iec104 analyze today.pcap --policy baseline.yaml --alerts

exit codes:
  0  the baseline was written
  1  the input could not be read, is not a capture, or holds no IEC 104 traffic
  2  usage error
  3  the capture file is damaged; the baseline was learned from what could be read`;

/** Where `learn` reads and writes. */
export interface LearnIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  open(path: string): AsyncIterable<Uint8Array>;
  writeFile?(path: string, text: string): void;
}

/** Run `learn`; resolves to the exit code. */
export async function runLearn(argv: string[], io: LearnIo): Promise<number> {
  const files: string[] = [];
  const ports = [2404];
  let heuristic = true;
  let outFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--port') {
      const v = argv[++i];
      if (v === undefined || !/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 65535) return usage(io, `--port needs a number 1..65535, got '${v ?? ''}'`);
      ports.push(Number(v));
    } else if (a === '--out') {
      outFile = argv[++i];
      if (outFile === undefined) return usage(io, '--out needs a file');
    } else if (a === '--no-heuristic') heuristic = false;
    else if (a.startsWith('-') && a !== '-') return usage(io, `unknown option '${a}'`);
    else files.push(a);
  }
  if (files.length !== 1) return usage(io, files.length === 0 ? 'a capture file (or - for standard input) is needed' : 'only one capture file can be learned from at a time');
  const learner = new BaselineLearner();
  let damaged = false;
  let notCapture = false;
  let apdus = 0;
  const an = new CaptureAnalyzer(
    {
      record: (r, octets) => {
        apdus++;
        learner.observe(observedFromRecord(r, octets));
      },
      issue: (i) => {
        if (i.code === 'E_CAP_FORMAT') notCapture = true;
        else if (i.code.startsWith('E_CAP_')) damaged = true;
        if (i.severity === 'error') io.stderr.write(`iec104 learn: ${i.code}: ${i.message}\n`);
      },
    },
    { ports, heuristic },
  );
  try {
    for await (const chunk of io.open(files[0])) {
      an.push(chunk);
      if (notCapture) break;
    }
  } catch (err) {
    io.stderr.write(`iec104 learn: cannot read ${files[0]}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  an.end();
  if (notCapture) return 1;
  const b = learner.result();
  if (apdus === 0 || Object.keys(b.stations).length === 0) {
    io.stderr.write('iec104 learn: no IEC 104 traffic with known roles in the capture: nothing to learn\n');
    return 1;
  }
  const yaml = baselineToYaml(b);
  if (outFile !== undefined) (io.writeFile ?? ((p: string, t: string) => writeFileSync(p, t)))(outFile, yaml);
  else io.stdout.write(yaml);
  io.stderr.write(`iec104 learn: ${apdus} APDUs, ${Object.keys(b.stations).length} station(s), ${Object.keys(b.masters ?? {}).length} master(s) learned\n`);
  return damaged ? 3 : 0;
}

function usage(io: LearnIo, msg: string): number {
  io.stderr.write(`iec104 learn: ${msg}\n\nRun 'iec104 learn --help' for usage.\n`);
  return 2;
}

/** The `learn` sub-command. */
export const command: CliCommand = {
  summary: 'learn a baseline + policy (YAML) from a capture of clean traffic',
  help: HELP,
  run: (argv) =>
    runLearn(argv, {
      stdout: process.stdout,
      stderr: process.stderr,
      open: (path) => (path === '-' ? process.stdin : createReadStream(path, { highWaterMark: 1 << 20 })),
    }),
};
