/**
 * What a new user hit in the output of `analyze` and `decode` (issue 10, item 7): short floats as
 * widened doubles, JSON times in two formats, `--no-summary` ignored with `--json`, text lines
 * without values, alert texts without the field, `decode` hiding the error code, no
 * IEC-101-only warning.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type DecodeIo, runDecode } from '../../src/cli/decode.js';
import { explainApdu, formatExplanation } from '../../src/codec/explain.js';
import { readCapture } from '../helpers/captures.js';
import { runAnalyzeOn } from '../capture/helpers.js';

/** M_ME_NC_1, spontaneous, CA 1, IOA 1001, value float32(3.14) (C3 F5 48 40), quality 0. */
const FLOAT_314 = '68 12 02 00 02 00 0D 01 03 00 01 00 E9 03 00 C3 F5 48 40 00';

async function decode(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: DecodeIo = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    readStdin: async () => '',
    stdinIsTTY: true,
    color: false,
  };
  const code = await runDecode(args, io);
  return { code, stdout, stderr };
}

const lines = (s: string): string[] => s.trimEnd().split('\n');
const jsonLines = (s: string): Array<Record<string, unknown>> => lines(s).map((l) => JSON.parse(l) as Record<string, unknown>);
const hexBytes = (h: string): Uint8Array => Uint8Array.from(h.split(' ').map((x) => parseInt(x, 16)));

test('short floats: decode --json and the decode table print 3.14, not 3.140000104904175', async () => {
  const j = await decode(['--json', ...FLOAT_314.split(' ')]);
  assert.equal(j.code, 0, j.stderr);
  assert.match(j.stdout, /"value":3\.14,/);
  assert.doesNotMatch(j.stdout, /3\.1400001/);
  const t = await decode(FLOAT_314.split(' '));
  assert.match(t.stdout, /float 3\.14$/m);
  assert.match(formatExplanation(explainApdu(hexBytes(FLOAT_314))), /float 3\.14$/m);
});

test('short floats: analyze --json prints the set-point 3.14 of the fkie capture in the APDU and in the command record', async () => {
  const cap = readCapture('fkie_epf_iec104.pcap');
  const r = await runAnalyzeOn(['-', '--json'], cap);
  assert.equal(r.code, 0, r.err);
  const apdus = jsonLines(r.out).filter((x) => x.frame === 78 && x.apdu !== undefined);
  assert.equal(apdus.length, 1);
  assert.match(JSON.stringify(apdus[0]), /"typeName":"C_SE_NC_1".*"value":3\.14,/);
  assert.doesNotMatch(r.out, /3\.140000104904175|9\.869999885559082/);
  const c = await runAnalyzeOn(['-', '--commands', '--json'], cap);
  const cmd = jsonLines(c.out).find((x) => x.kind === 'command' && x.frame === 78)!;
  assert.equal(cmd.value, 3.14);
  const text = await runAnalyzeOn(['-', '--commands'], cap);
  assert.match(text.out, /C_SE_NC_1 execute ca=10 ioa=1 value=3\.14 /);
  assert.match(text.out, /C_SE_NC_1 execute ca=10 ioa=12 value=9\.87 /);
});
