import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { command, type DecodeIo, runDecode } from '../../src/cli/decode.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

const GI = '68 0E 00 00 00 00 64 01 06 00 01 00 00 00 00 14';
const FLOAT = '68 12 02 00 02 00 0D 01 03 00 01 00 E9 03 00 00 80 66 43 00';
const STARTDT = '68 04 07 00 00 00';

/** Run the CLI as a child process through the dispatcher. */
function cli(args: string[], input?: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'decode', ...args], {
    cwd: root,
    input: input ?? '',
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Run `runDecode` in-process with captured streams. */
async function inProcess(args: string[], stdin = '', opts: { tty?: boolean; color?: boolean } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: DecodeIo = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    readStdin: async () => stdin,
    stdinIsTTY: opts.tty ?? false,
    color: opts.color ?? false,
  };
  const code = await runDecode(args, io);
  return { code, stdout, stderr };
}

const jsonLines = (s: string): Array<Record<string, unknown>> => s.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

test('child process: a GI frame as arguments prints the table, exit 0', () => {
  const r = cli(GI.split(' '));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines[0], 'APDU 1: 16 octets at input offset 0');
  assert.equal(lines[1], 'offset │ bytes       │ field         │ meaning');
  assert.equal(lines[5], '     6 │ 64          │ type ID       │ 100 C_IC_NA_1: interrogation command');
  assert.equal(lines[7], '     8 │ 06 00       │ COT           │ 6 activation (act), P/N=0 positive, T=0 not a test, originator 0');
  assert.equal(lines[10], '    15 │ 14          │ object[0].QOI │ QOI=20 station interrogation (global)');
  assert.equal(lines.length, 11);
});

test('child process: stdin with several frames, one bad, JSON lines', () => {
  const input = [
    FLOAT.replace(/ /g, ''),
    '68 0E 00 00 00 00 64 01 06 00 01 00 00 00 00', // truncated GI
    `${STARTDT} 0x68,0x04,0x0B,0,0,0`, // two frames on one line
  ].join('\n');
  const r = cli(['--json'], input);
  assert.equal(r.code, 1);
  const out = jsonLines(r.stdout);
  assert.equal(out.length, 4);
  assert.deepEqual(out[0].apci, { format: 'I', sendSeq: 1, recvSeq: 1 });
  const asdu = out[0].asdu as Record<string, unknown>;
  assert.equal(asdu.typeName, 'M_ME_NC_1');
  assert.equal(asdu.cotName, 'spontaneous');
  assert.deepEqual(asdu.objects, [{ ioa: 1001, value: 230.5, quality: { ov: false, bl: false, sb: false, nt: false, iv: false } }]);
  const err = out[1].error as Record<string, unknown>;
  assert.deepEqual(Object.keys(err).sort(), ['code', 'expected', 'field', 'found', 'message', 'offset']);
  assert.equal(err.code, 'E_TRUNCATED');
  assert.equal(out[1].hex, '68 0E 00 00 00 00 64 01 06 00 01 00 00 00 00');
  assert.equal(out[1].offset, 20);
  // later frames still decode
  assert.deepEqual(out[2].apci, { format: 'U', uFunction: 'STARTDT_ACT' });
  assert.deepEqual(out[3].apci, { format: 'U', uFunction: 'STARTDT_CON' });
  assert.match(r.stderr, /APDU 2 at input offset 20: E_TRUNCATED at byte 15/);
});

test('child process: a bad frame goes to stderr with exit 1, and the next frame is still explained', () => {
  const r = cli([], `68 04 0F 00 00 00\n${GI}\n`);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^iec104 decode: APDU 1 at input offset 0: E_CONTROL_FIELD at byte 2 \(U-format function\)/);
  assert.match(r.stdout, /APDU 2: 16 octets at input offset 6\n/);
  assert.match(r.stdout, /QOI=20 station interrogation \(global\)/);
});

test('child process: usage errors exit 2, --help exits 0 with an example', () => {
  const bad = cli(['--ioa-size', '4', GI]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--ioa-size must be 1 or 2 or 3, not '4'/);
  assert.equal(bad.stdout, '');
  const unknown = cli(['--frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown option '--frobnicate'/);
  const help = cli(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^usage: iec104 decode/);
  assert.match(help.stdout, /example:/);
  assert.match(help.stdout, /exit codes:/);
});

test('child process: empty input is a usage error', () => {
  const r = cli([], '\n# nothing\n');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no hex octets in the input/);
});

test('in-process command.run: decodes a frame written to process.stdout', async () => {
  assert.match(command.summary, /explain/);
  assert.match(command.help, /--cot-size/);
  let out = '';
  let err = '';
  const w1 = process.stdout.write;
  const w2 = process.stderr.write;
  process.stdout.write = ((s: string | Uint8Array) => ((out += String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => ((err += String(s)), true)) as typeof process.stderr.write;
  let code: number;
  let code2: number;
  let err1: string;
  try {
    code = await command.run(['--no-color', STARTDT]);
    err1 = err;
    code2 = await command.run(['--json', '680400000000', '68 04 01 00 0A 00']);
  } finally {
    process.stdout.write = w1;
    process.stderr.write = w2;
  }
  assert.equal(code, 0);
  assert.equal(err1, '');
  assert.match(err, /APDU 1 at input offset 0: E_APDU_LENGTH/);
  assert.match(out, /│ control │ U-format, STARTDT act \(start data transfer, activation\)/);
  assert.equal(code2, 1); // 68 04 00 00 00 00 is an I-frame without ASDU
  const lines = out.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 2);
  assert.equal((lines[0].error as { code: string }).code, 'E_APDU_LENGTH');
  assert.deepEqual(lines[1], { offset: 6, hex: '68 04 01 00 0A 00', apci: { format: 'S', recvSeq: 5 } });
});

test('in-process: the float frame as one run', async () => {
  const r = await inProcess([FLOAT.replace(/ /g, '')]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /\n {4}15 │ 00 80 66 43 │ object\[0\]\.R32 │ float 230\.5\n/);
  assert.match(r.stdout, /object\[0\]\.QDS │ OV=0 BL=0 SB=0 NT=0 IV=0/);
});

test('in-process: concatenated frames on stdin are split, junk is reported', async () => {
  const r = await inProcess([], `01 02 03 ${STARTDT}${GI.replace(/ /g, '')} 68 02 ${STARTDT}`);
  assert.equal(r.code, 1);
  const heads = r.stdout.split('\n').filter((l) => l.startsWith('APDU '));
  assert.deepEqual(heads, ['APDU 1: 6 octets at input offset 3', 'APDU 2: 16 octets at input offset 9', 'APDU 3: 6 octets at input offset 27']);
  assert.match(r.stderr, /skipped 3 octets at input offset 0 that are not an APDU: 01 02 03/);
  assert.match(r.stderr, /skipped 2 octets at input offset 25 that are not an APDU \(start byte followed by an invalid length octet: 2 \(0x02\)\): 68 02/);
});

test('in-process: junk in JSON mode is one line with an error', async () => {
  const r = await inProcess(['--json', 'AA BB', STARTDT]);
  const out = jsonLines(r.stdout);
  assert.equal(r.code, 1);
  assert.deepEqual(out[0], {
    offset: 0,
    hex: 'AA BB',
    error: { code: 'E_START_BYTE', offset: 0, field: 'start byte', expected: '0x68', found: '0xAA', message: 'E_START_BYTE at byte 0 (start byte): expected 0x68, found 0xAA' },
  });
  assert.equal(out.length, 2);
});

test('in-process: a frame wrapped over two lines is joined, a new line starting with 68 starts a new frame', async () => {
  const r = await inProcess(['--json'], `68 0E 00 00 00 00 64 01\n06 00 01 00 00 00 00 14\n${STARTDT}\n`);
  assert.equal(r.code, 0, r.stderr);
  const out = jsonLines(r.stdout);
  assert.equal(out.length, 2);
  assert.equal((out[0].asdu as { typeName: string }).typeName, 'C_IC_NA_1');
});

test('in-process: field widths', async () => {
  // COT 1 octet, CA 1 octet, IOA 2 octets: C_IC_NA_1 to CA 5
  const small = '68 0B 00 00 00 00 64 01 06 05 00 00 14';
  const r = await inProcess(['--json', '--cot-size', '1', '--ca-size=1', '--ioa-size', '2', small]);
  assert.equal(r.code, 0, r.stderr);
  const a = jsonLines(r.stdout)[0].asdu as Record<string, unknown>;
  assert.equal(a.ca, 5);
  assert.equal(a.originator, 0);
  assert.deepEqual(a.objects, [{ ioa: 0, qoi: 20 }]);
  const t = await inProcess(['--cot-size', '1', '--ca-size', '1', '--ioa-size', '2', small]);
  assert.match(t.stdout, /\n {5}8 │ 06 +│ COT +│ 6 activation \(act\), P\/N=0 positive, T=0 not a test\n/);
  assert.match(t.stdout, /\n {5}9 │ 05 +│ CA +│ common address 5\n/);
  assert.match(t.stdout, /\n {4}10 │ 00 00 +│ object\[0\]\.IOA/);
  // with the default widths the same frame does not decode
  const d = await inProcess([small]);
  assert.equal(d.code, 1);
  assert.match(d.stderr, /E_TRUNCATED|E_ASDU_LENGTH/);
});

test('in-process: warnings are printed after the table', async () => {
  const r = await inProcess(['68 0E 00 00 00 00 64 01 03 00 01 00 00 00 00 14']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /\nwarning W_COT_NOT_ALLOWED at byte 8 \(cause of transmission\): cause 3 is not allowed for C_IC_NA_1\n$/);
  const j = await inProcess(['--json', '68 0E 00 00 00 00 64 01 03 00 01 00 00 00 00 14']);
  const w = (jsonLines(j.stdout)[0].asdu as { warnings: Array<{ code: string }> }).warnings;
  assert.deepEqual(w.map((x) => x.code), ['W_COT_NOT_ALLOWED']);
});

test('in-process: bad hex lines are reported, the others decoded', async () => {
  const r = await inProcess([], `zz 68\n${STARTDT}\n`);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /line 1, column 1: 'zz' is not hex; line skipped/);
  assert.match(r.stdout, /STARTDT act/);
});

test('in-process: a terminal on stdin without arguments is a usage error; - reads stdin anyway', async () => {
  const r = await inProcess([], STARTDT, { tty: true });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no hex given/);
  const s = await inProcess(['-'], STARTDT, { tty: true });
  assert.equal(s.code, 0);
  assert.match(s.stdout, /STARTDT act/);
});

test('in-process: colour on request only', async () => {
  const plain = await inProcess([STARTDT]);
  assert.doesNotMatch(plain.stdout, /\x1b\[/);
  const c = await inProcess(['--color', STARTDT]);
  assert.match(c.stdout, /\x1b\[36m/);
  const off = await inProcess(['--no-color', STARTDT], '', { color: true });
  assert.doesNotMatch(off.stdout, /\x1b\[/);
  const json = await inProcess(['--json', '--color', STARTDT]);
  assert.doesNotMatch(json.stdout, /\x1b\[/);
});
