/**
 * `iec104 decode`: explain APDUs given as hex, byte by byte, or print them as JSON lines.
 *
 * Input: hex arguments (joined into one stream) or, without arguments or with `-`, standard
 * input (one or more frames per line). Frames are cut with the {@link ApduSplitter}; octets that
 * are not part of a frame are reported. Exit codes: 0 every frame decoded, 1 some frame, junk or
 * hex text failed, 2 usage error.
 */
import { ApduSplitter } from '../codec/frame-splitter.js';
import { CodecError, hex2 } from '../codec/errors.js';
import { explainApdu, formatExplanation, octetsToHex } from '../codec/explain.js';
import { apduToJson } from '../codec/json-view.js';
import type { CodecOptions } from '../codec/options.js';
import { START_BYTE } from '../codec/apci.js';
import type { CliCommand } from './command.js';
import { type HexLine, parseHexLines } from './hex-input.js';

const HELP = `usage: iec104 decode [options] [HEX...]
       ... | iec104 decode [options] [-]

Explain IEC 60870-5-104 APDUs given as hex, octet by octet.

Hex may be written as '68 04 07 00 00 00', '68:04:07:00:00:00', '0x68,0x04,0x07,...',
'\\x68\\x04...' or one run '680407000000', in upper or lower case; '#' starts a comment.
Several APDUs may follow each other directly or be on separate lines; the frames are cut
by their length octets. Arguments are joined into one stream; without arguments (or
with '-') standard input is read, where each line starts a new frame unless the previous
line ended inside a frame and the next does not begin with 68.

options:
  --json            one JSON object per APDU on stdout, instead of the table
  --cot-size 1|2    octets of the cause of transmission (default 2)
  --ca-size 1|2     octets of the common address (default 2)
  --ioa-size 1|2|3  octets of the information object address (default 3)
  --color, --no-color
                    ANSI colours in the table (default: when stdout is a terminal
                    and NO_COLOR is not set)
  -h, --help        this text

example:
  $ iec104 decode 68 0E 00 00 00 00 64 01 06 00 01 00 00 00 00 14
  APDU 1: 16 octets at input offset 0
  offset │ bytes       │ field         │ meaning
       0 │ 68          │ start         │ start byte
       1 │ 0E          │ length        │ 14 octets follow: control field 4 + ASDU 10
       2 │ 00 00 00 00 │ control       │ I-format, N(S)=0, N(R)=0
       6 │ 64          │ type ID       │ 100 C_IC_NA_1: interrogation command
       7 │ 01          │ VSQ           │ SQ=0 (one IOA per object), 1 object
       8 │ 06 00       │ COT           │ 6 activation (act), P/N=0 positive, T=0 not a test, originator 0
      10 │ 01 00       │ CA            │ common address 1
      12 │ 00 00 00    │ object[0].IOA │ address 0
      15 │ 14          │ object[0].QOI │ QOI=20 station interrogation (global)

  $ iec104 decode --json 680400000000 680443000000

JSON lines: {"offset", "hex", "apci", "asdu"} for a decoded APDU (warnings in
asdu.warnings), {"offset", "hex", "error": {code, offset, field, expected, found, message}}
for a frame that does not decode or octets that are not a frame.

A frame that does not decode ends its table with the error (code, byte, field), which
also goes to stderr, as do octets that are not a frame (with their code, e.g.
E_START_BYTE); the rest of the input is still decoded. Types defined for IEC 60870-5-101
only (CP24Time2a time tags, C_TS_NA_1, C_CD_NA_1) get the warning W_IEC101_ONLY_TYPE.

exit codes:
  0  every APDU decoded (warnings do not count)
  1  some APDU did not decode, octets were skipped, or text was not hex
  2  usage error (unknown option, bad option value, no input)`;

/** Where `runDecode` reads and writes; {@link command} uses the process's streams. */
export interface DecodeIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  /** All of standard input as text. */
  readStdin(): Promise<string>;
  /** Whether standard input is a terminal (then it is not read without `-`). */
  stdinIsTTY: boolean;
  /** Default for colours when neither `--color` nor `--no-color` is given. */
  color: boolean;
}

interface Parsed {
  json: boolean;
  color: boolean | undefined;
  opts: Partial<CodecOptions>;
  hex: string[];
  stdin: boolean;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Parsed {
  const p: Parsed = { json: false, color: undefined, opts: {}, hex: [], stdin: false };
  const sizes: Record<string, { key: keyof CodecOptions; allowed: number[] }> = {
    '--cot-size': { key: 'cotSize', allowed: [1, 2] },
    '--ca-size': { key: 'caSize', allowed: [1, 2] },
    '--ioa-size': { key: 'ioaSize', allowed: [1, 2, 3] },
  };
  let rest = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (rest || !a.startsWith('-') || a.length === 1) {
      if (a === '-' && !rest) p.stdin = true;
      else p.hex.push(a);
      continue;
    }
    if (a === '--') {
      rest = true;
      continue;
    }
    if (a === '--json') p.json = true;
    else if (a === '--color') p.color = true;
    else if (a === '--no-color') p.color = false;
    else {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(0, eq) : a;
      const spec = sizes[name];
      if (!spec) throw new UsageError(`unknown option '${a}'`);
      let value: string | undefined;
      if (eq >= 0) value = a.slice(eq + 1);
      else value = argv[++i];
      if (value === undefined) throw new UsageError(`${name} needs a value (${spec.allowed.join(', ')})`);
      const v = Number(value);
      if (!spec.allowed.includes(v)) throw new UsageError(`${name} must be ${spec.allowed.join(' or ')}, not '${value}'`);
      (p.opts as Record<string, number>)[spec.key] = v;
    }
  }
  return p;
}

type Event =
  | { kind: 'frame'; offset: number; bytes: Uint8Array }
  | { kind: 'junk'; offset: number; bytes: Uint8Array; reason?: CodecError };

/** Cut the parsed lines into frames and junk, with input offsets (counted in octets). */
function cut(lines: HexLine[]): Event[] {
  const events: Event[] = [];
  const total = lines.reduce((n, l) => n + l.bytes.length, 0);
  const all = new Uint8Array(total);
  let badLength: CodecError | undefined;
  const sp = new ApduSplitter({
    frame: (f, offset) => events.push({ kind: 'frame', offset, bytes: f.slice() }),
    error: (e) => {
      badLength = e;
    },
    junk: (j, offset) => {
      const last = events[events.length - 1];
      const reason = badLength;
      badLength = undefined;
      if (last && last.kind === 'junk' && last.offset + last.bytes.length === offset) {
        const merged = new Uint8Array(last.bytes.length + j.length);
        merged.set(last.bytes);
        merged.set(j, last.bytes.length);
        last.bytes = merged;
      } else {
        events.push({ kind: 'junk', offset, bytes: j.slice(), reason });
      }
    },
  });
  let consumed = 0;
  const flushPartial = (): void => {
    const n = sp.buffered;
    if (n > 0) {
      events.push({ kind: 'frame', offset: consumed - n, bytes: all.slice(consumed - n, consumed) });
      sp.reset();
    }
  };
  for (const l of lines) {
    if (sp.buffered > 0 && l.bytes[0] === START_BYTE) flushPartial();
    all.set(l.bytes, consumed);
    sp.push(l.bytes);
    consumed += l.bytes.length;
  }
  flushPartial();
  return events;
}

function junkError(e: Extract<Event, { kind: 'junk' }>): CodecError {
  if (e.bytes[0] === START_BYTE && e.reason) return new CodecError('E_APDU_LENGTH', 1, 'APDU length', e.reason.expected, e.reason.found);
  return new CodecError('E_START_BYTE', 0, 'start byte', '0x68', hex2(e.bytes[0]));
}

/**
 * Run `iec104 decode` with `argv` (the arguments after `decode`) on the given streams.
 * Resolves to the exit code (0 all decoded, 1 some failed, 2 usage).
 */
export async function runDecode(argv: string[], io: DecodeIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(HELP + '\n');
    return 0;
  }
  let args: Parsed;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr.write(`iec104 decode: ${e.message}\n\nRun 'iec104 decode --help' for usage.\n`);
    return 2;
  }
  let text = args.hex.join(' ');
  if (args.stdin || args.hex.length === 0) {
    if (args.hex.length === 0 && !args.stdin && io.stdinIsTTY) {
      io.stderr.write(`iec104 decode: no hex given (pass it as arguments or on standard input)\n\nRun 'iec104 decode --help' for usage.\n`);
      return 2;
    }
    const input = await io.readStdin();
    text = text ? `${text}\n${input}` : input;
  }
  const parsed = parseHexLines(text);
  let failed = false;
  for (const pr of parsed.problems) {
    failed = true;
    io.stderr.write(`iec104 decode: line ${pr.line}, column ${pr.column}: ${pr.message}; line skipped\n`);
  }
  if (parsed.lines.length === 0) {
    if (parsed.problems.length === 0) {
      io.stderr.write(`iec104 decode: no hex octets in the input\n\nRun 'iec104 decode --help' for usage.\n`);
      return 2;
    }
    return 1;
  }
  const color = !args.json && (args.color ?? io.color);
  let index = 0;
  let firstTable = true;
  for (const ev of cut(parsed.lines)) {
    if (ev.kind === 'junk') {
      failed = true;
      const err = junkError(ev);
      const why = ev.reason ? ` (start byte followed by an invalid length octet: ${ev.reason.found})` : '';
      io.stderr.write(`iec104 decode: ${err.code}: skipped ${ev.bytes.length} octet${ev.bytes.length === 1 ? '' : 's'} at input offset ${ev.offset} that are not an APDU${why}: ${octetsToHex(ev.bytes)}\n`);
      if (args.json) io.stdout.write(JSON.stringify({ offset: ev.offset, hex: octetsToHex(ev.bytes), error: err.toJSON() }) + '\n');
      continue;
    }
    index++;
    const x = explainApdu(ev.bytes, args.opts);
    if (x.error) {
      failed = true;
      io.stderr.write(`iec104 decode: APDU ${index} at input offset ${ev.offset}: ${x.error.message}\n`);
    }
    if (args.json) {
      const line = x.apdu && !x.error
        ? { offset: ev.offset, hex: octetsToHex(ev.bytes), ...apduToJson(x.apdu) }
        : { offset: ev.offset, hex: octetsToHex(ev.bytes), error: (x.error ?? new CodecError('E_TRUNCATED', 0, 'APDU', 'an APDU', 'nothing')).toJSON() };
      io.stdout.write(JSON.stringify(line) + '\n');
    } else {
      if (!firstTable) io.stdout.write('\n');
      firstTable = false;
      io.stdout.write(`APDU ${index}: ${ev.bytes.length} octet${ev.bytes.length === 1 ? '' : 's'} at input offset ${ev.offset}\n`);
      // the error line (code, byte, field) closes the table too: the same facts as --json's `error`
      io.stdout.write(formatExplanation(x, { color }) + '\n');
    }
  }
  return failed ? 1 : 0;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** The `decode` sub-command. */
export const command: CliCommand = {
  summary: 'explain APDUs given as hex, octet by octet (or as JSON lines)',
  help: HELP,
  run: (argv) =>
    runDecode(argv, {
      stdout: process.stdout,
      stderr: process.stderr,
      readStdin: () => readAll(process.stdin),
      stdinIsTTY: process.stdin.isTTY === true,
      color: process.stdout.isTTY === true && !process.env.NO_COLOR,
    }),
};
