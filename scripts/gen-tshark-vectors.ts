/**
 * Builds the codec's reference vectors and records Wireshark's decoding of them.
 *
 *   node --import tsx scripts/gen-tshark-vectors.ts [--out test/fixtures/tshark-vectors.json]
 *
 * 1. Builds byte vectors for every type of the type table (SQ=0, and SQ=1 where `sqAllowed`,
 *    several objects with non-trivial values and quality bits, see test/codec/samples.ts), for
 *    reserved, private and secure-authentication types (kept raw), for S/U frames, and a few
 *    edge values (NaN/Inf floats, sequence-number wrap).
 * 2. Writes them as one TCP segment each to port 2404 in a temporary pcap (scripts/pcap-writer.ts).
 * 3. Runs `tshark -r <pcap> -T fields -E occurrence=a -E aggregator=| -e <every iec60870_104.* and
 *    iec60870_asdu.* field>` and stores, per vector, every field tshark emitted.
 * 4. Compares tshark's decoding with ours (test/codec/tshark-map.ts). Documented, justified
 *    disagreements are listed in `differences`; any other disagreement aborts the script.
 *
 * test/codec/vectors.test.ts replays the stored decoding without tshark.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapWriter } from './pcap-writer.js';
import { type Asdu, allTypes, decodeApdu, encodeApdu, encodeIFrame, encodeSFrame, encodeUFrame, typeInfo, U_FUNCTIONS, type UFunction } from '../src/codec/index.js';
import { sampleAsdu } from '../test/codec/samples.js';
import { compareViews, type FieldView, type KnownDifference, ourView } from '../test/codec/tshark-map.js';

/** Every field of tshark 4.0's IEC 104 dissector (`tshark -G fields`), in its order. */
const FIELDS = [
  'iec60870_104.apdulen', 'iec60870_104.type', 'iec60870_104.utype', 'iec60870_104.tx', 'iec60870_104.rx', 'iec60870_104.data',
  'iec60870_asdu.addr', 'iec60870_asdu.oa', 'iec60870_asdu.typeid', 'iec60870_asdu.causetx', 'iec60870_asdu.nega', 'iec60870_asdu.test',
  'iec60870_asdu.ioa', 'iec60870_asdu.numix', 'iec60870_asdu.sq',
  'iec60870_asdu.cp24time', 'iec60870_asdu.cp24time.ms', 'iec60870_asdu.cp24time.min', 'iec60870_asdu.cp24time.iv',
  'iec60870_asdu.cp56time', 'iec60870_asdu.cp56time.ms', 'iec60870_asdu.cp56time.min', 'iec60870_asdu.cp56time.gen', 'iec60870_asdu.cp56time.iv',
  'iec60870_asdu.cp56time.hour', 'iec60870_asdu.cp56time.su', 'iec60870_asdu.cp56time.day', 'iec60870_asdu.cp56time.dow',
  'iec60870_asdu.cp56time.month', 'iec60870_asdu.cp56time.year',
  'iec60870_asdu.siq', 'iec60870_asdu.siq.spi', 'iec60870_asdu.siq.bl', 'iec60870_asdu.siq.sb', 'iec60870_asdu.siq.nt', 'iec60870_asdu.siq.iv',
  'iec60870_asdu.diq', 'iec60870_asdu.diq.dpi', 'iec60870_asdu.diq.bl', 'iec60870_asdu.diq.sb', 'iec60870_asdu.diq.nt', 'iec60870_asdu.diq.iv',
  'iec60870_asdu.qds', 'iec60870_asdu.qds.ov', 'iec60870_asdu.qds.bl', 'iec60870_asdu.qds.sb', 'iec60870_asdu.qds.nt', 'iec60870_asdu.qds.iv',
  'iec60870_asdu.vti', 'iec60870_asdu.vti.v', 'iec60870_asdu.vti.t', 'iec60870_asdu.qos', 'iec60870_asdu.qos.ql', 'iec60870_asdu.qos.se',
  'iec60870_asdu.sco', 'iec60870_asdu.sco.on', 'iec60870_asdu.sco.qu', 'iec60870_asdu.sco.se',
  'iec60870_asdu.dco', 'iec60870_asdu.dco.on', 'iec60870_asdu.dco.qu', 'iec60870_asdu.dco.se',
  'iec60870_asdu.rco', 'iec60870_asdu.rco.up', 'iec60870_asdu.rco.qu', 'iec60870_asdu.rco.se',
  'iec60870_asdu.qpm', 'iec60870_asdu.qpm.kpa', 'iec60870_asdu.qpm.lpc', 'iec60870_asdu.qpm.pop',
  'iec60870_asdu.coi', 'iec60870_asdu.coi_r', 'iec60870_asdu.coi_i', 'iec60870_asdu.qoi', 'iec60870_asdu.qcc', 'iec60870_asdu.rqt',
  'iec60870_asdu.frz', 'iec60870_asdu.qrp', 'iec60870_asdu.bcr.count', 'iec60870_asdu.bcr.sq', 'iec60870_asdu.bcr.cy', 'iec60870_asdu.bcr.ca',
  'iec60870_asdu.bcr.iv', 'iec60870_asdu.start', 'iec60870_asdu.bitstring', 'iec60870_asdu.float', 'iec60870_asdu.normval',
  'iec60870_asdu.scalval', 'iec60870_asdu.rawdata',
];

/** Disagreements investigated and judged (the standard wins). */
const DIFFERENCES: KnownDifference[] = [
  {
    field: 'iec60870_asdu.bitstring',
    transform: 'byteswap32',
    comment:
      'tshark 4.0 shows BSI (bitstring of 32 bit, types 7/8/33/51/64) read most-significant octet first (octets 01 02 03 04 -> 0x01020304). ' +
      'IEC 60870-5-4 transmits multi-octet fields least significant octet first, and lib60870 (BitString32 value = octet1 | octet2<<8 | ...) ' +
      'and j60870 read it the same way we do (0x04030201). Ours follows the standard; the test checks tshark = byteswap32(ours).',
  },
  {
    field: 'iec60870_asdu.cp56time',
    transform: 'asShown',
    comment:
      'Not a disagreement on the bits (every CP56Time2a sub-field matches), but on the conversion to an absolute time: tshark 4.0 maps ' +
      'years 70..99 to 1970..1999 (ours: 2070..2099, see the century rule in src/codec/time.ts) and subtracts one hour when SU=1. ' +
      'ourView renders our fields with tshark\'s convention (cp56AsTshark) so the absolute value is still checked.',
  },
];

interface Vector {
  name: string;
  hex: string;
  fields?: FieldView;
  comment?: string;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const vectors: Vector[] = [];
const add = (name: string, bytes: Uint8Array, comment?: string) => vectors.push({ name, hex: hex(bytes), ...(comment ? { comment } : {}) });

// 1. every type of the table, SQ=0 and SQ=1
let seq = 0;
for (const t of allTypes()) {
  if (t.raw) continue;
  add(`${t.id} ${t.name} SQ=0`, encodeIFrame(seq++, 7, sampleAsdu(t, false, 3, t.id)));
  if (t.sqAllowed) add(`${t.id} ${t.name} SQ=1`, encodeIFrame(seq++, 7, sampleAsdu(t, true, 4, t.id + 1)));
}
// single object variants and other header values
for (const id of [1, 13, 30, 36, 45, 100, 103]) {
  add(`${id} ${typeInfo(id)!.name} one object`, encodeIFrame(seq++, 0, sampleAsdu(typeInfo(id)!, false, 1, id + 5)));
}
// 2. edge values
const m13 = typeInfo(13)!;
const fl = (vals: number[]): Asdu => ({ ...sampleAsdu(m13, false, vals.length, 0), objects: vals.map((value, k) => ({ ioa: 100 + k, value, quality: { iv: k === 0, nt: false, sb: false, bl: false, ov: k === 1 } })) });
add('13 M_ME_NC_1 non-finite floats', encodeIFrame(seq++, 0, fl([NaN, Infinity, -Infinity, -0])), 'NaN, +Inf, -Inf, -0: decoder warns W_FLOAT_NOT_FINITE for the first three');
add('I-frame N(S)=32767 N(R)=32767', encodeIFrame(32767, 32767, sampleAsdu(typeInfo(100)!, false, 1, 0)));
add('I-frame N(S)=32768 wraps to 0', encodeIFrame(32768, 32769, sampleAsdu(typeInfo(100)!, false, 1, 0)), 'sequence numbers are taken modulo 32768');
// 3. raw types: secure authentication (layout not decoded), reserved and private
const rawPayload = (id: number, n: number) => Uint8Array.from({ length: 3 + n * 4 }, (_, k) => (k * 29 + id) & 0xff);
for (const id of [41, 81, 82, 83, 84, 85, 86, 87, 90, 91, 92, 93, 94, 95, 22, 29, 42, 44, 52, 57, 65, 69, 71, 80, 88, 89, 99, 108, 109, 114, 119, 128, 200, 255]) {
  const a: Asdu = { typeId: id, sq: id % 2 === 0, cot: id % 2 ? 6 : 3, negative: false, test: id === 255, originator: 1, ca: 0x0a0b, objects: [], raw: rawPayload(id, 2), rawCount: 2 };
  add(`${id} ${typeInfo(id)?.name ?? 'reserved/private'} raw`, encodeIFrame(seq++, 3, a));
}
// 4. S and U frames
add('S-frame N(R)=32767', encodeSFrame(32767));
add('S-frame N(R)=0', encodeSFrame(0));
for (const f of Object.keys(U_FUNCTIONS) as UFunction[]) add(`U-frame ${f}`, encodeUFrame(f));

// self-check: every vector decodes and re-encodes byte-identical
for (const v of vectors) {
  const b = Buffer.from(v.hex, 'hex');
  const r = decodeApdu(b);
  if (!r.ok) throw new Error(`${v.name}: ${r.error.message}`);
  const again = hex(encodeApdu(r.value));
  if (again !== v.hex) throw new Error(`${v.name}: re-encode differs\n${v.hex}\n${again}`);
}

// run tshark
const dir = mkdtempSync(join(tmpdir(), 'iec104-vectors-'));
const pcap = join(dir, 'vectors.pcap');
const w = new PcapWriter();
for (const v of vectors) w.addTcpSegment(Buffer.from(v.hex, 'hex'));
writeFileSync(pcap, w.bytes());
const version = execFileSync('tshark', ['--version'], { encoding: 'utf8' }).split('\n')[0].trim();
const args = ['-r', pcap, '-o', 'tcp.desegment_tcp_streams:TRUE', '-T', 'fields', '-E', 'header=n', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=|', '-e', 'frame.number', ...FIELDS.flatMap((f) => ['-e', f])];
const out = execFileSync('tshark', args, { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
rmSync(dir, { recursive: true, force: true });
const lines = out.split('\n').filter((l) => l.length > 0);
if (lines.length !== vectors.length) throw new Error(`tshark printed ${lines.length} packets for ${vectors.length} vectors`);
let problems = 0;
let compared = 0;
for (const line of lines) {
  const cols = line.split('\t');
  const v = vectors[Number(cols[0]) - 1];
  const fields: FieldView = {};
  FIELDS.forEach((f, k) => {
    const c = cols[k + 1];
    if (c !== undefined && c !== '') fields[f] = c.split('|');
  });
  v.fields = fields;
  const b = Buffer.from(v.hex, 'hex');
  const r = decodeApdu(b);
  if (!r.ok) throw new Error('unreachable');
  const cmp = compareViews(fields, ourView(r.value, b), DIFFERENCES);
  compared += cmp.compared;
  for (const m of cmp.mismatches) {
    problems++;
    console.error(`DISAGREE ${v.name}: ${m.field}[${m.index}] tshark=${m.tshark} ours=${m.ours}`);
  }
}

const outPath = process.argv.includes('--out') ? process.argv[process.argv.indexOf('--out') + 1] : 'test/fixtures/tshark-vectors.json';
const fixture = {
  _comment: [
    'Reference vectors for the IEC 104 codec with Wireshark\'s decoding of each. Generated by scripts/gen-tshark-vectors.ts; do not edit by hand.',
    'Each vector was written as one TCP segment to port 2404 in a pcap and decoded with:',
    `  tshark ${args.slice(2, 13).join(' ')} -e frame.number -e <each field of "fieldList">`,
    '"fields" holds every field tshark emitted for the vector (one value per occurrence, in order).',
    'test/codec/vectors.test.ts decodes each "hex" with our decoder, compares field by field (tshark-map.ts) and checks encode(decode(b)) = b.',
    '"differences" lists justified disagreements between tshark and the standard, with the transform the test applies.',
  ],
  tshark: version,
  generated: new Date().toISOString().slice(0, 10),
  fieldList: FIELDS,
  differences: DIFFERENCES,
  vectors,
};
writeFileSync(outPath, JSON.stringify(fixture, null, 1) + '\n');
console.log(`${vectors.length} vectors, ${compared} field values compared, ${problems} unexplained disagreements; tshark: ${version}; wrote ${outPath}`);
if (problems) process.exit(1);
