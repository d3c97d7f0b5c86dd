/**
 * Generate test/fixtures/captures/<capture>.json: Wireshark's (tshark's) decoding of the real
 * captures in test/fixtures/captures (or the directory given as first argument), one entry per
 * APDU, so that test/capture/real-captures.test.ts runs without tshark.
 *
 * Command used for each file (default preferences; TCP reassembly on, as shipped):
 *
 *     tshark -r FILE -Y iec60870_104 -T pdml
 *
 * Generated with TShark (Wireshark) 4.0.17 (Debian 12 package 4.0.17-0+deb12u3). The version in
 * use is recorded in every fixture. Run:
 *
 *     npx tsx scripts/gen-capture-expectations.ts [/path/to/captures]
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';

/** One APDU as tshark decoded it. */
export interface TsharkApdu {
  frame: number;
  /** frame.time_epoch as printed by tshark (seconds with 9 decimals). */
  epoch: string;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  /** iec60870_104.type: 0 I, 1 S, 3 U. */
  type: number;
  utype?: number;
  tx?: number;
  rx?: number;
  typeId?: number;
  sq?: boolean;
  numix?: number;
  cot?: number;
  negative?: boolean;
  test?: boolean;
  oa?: number;
  ca?: number;
  ioas?: number[];
}

/** A fixture file. */
export interface TsharkFixture {
  capture: string;
  tshark: string;
  command: string;
  apdus: TsharkApdu[];
}

function attr(line: string, name: string): string | undefined {
  const m = line.match(new RegExp(`${name}="([^"]*)"`));
  return m ? m[1] : undefined;
}

/** Parse tshark PDML into per-APDU entries. */
export function parsePdml(pdml: string): TsharkApdu[] {
  const out: TsharkApdu[] = [];
  let frame = 0;
  let epoch = '';
  let src = '';
  let dst = '';
  let sp = 0;
  let dp = 0;
  let cur: TsharkApdu | undefined;
  for (const line of pdml.split('\n')) {
    const t = line.trim();
    if (t.startsWith('<packet>')) {
      cur = undefined;
      continue;
    }
    if (t.startsWith('<proto name="iec60870_104"')) {
      cur = { frame, epoch, src, dst, srcPort: sp, dstPort: dp, type: -1 };
      out.push(cur);
      continue;
    }
    if (!t.startsWith('<field ')) continue;
    const name = attr(t, 'name');
    const show = attr(t, 'show') ?? '';
    switch (name) {
      case 'frame.number':
        frame = Number(show);
        break;
      case 'frame.time_epoch':
        epoch = show;
        break;
      case 'ip.src':
      case 'ipv6.src':
        src = show;
        break;
      case 'ip.dst':
      case 'ipv6.dst':
        dst = show;
        break;
      case 'tcp.srcport':
        sp = Number(show);
        break;
      case 'tcp.dstport':
        dp = Number(show);
        break;
      default:
        if (!cur) break;
        if (name === 'iec60870_104.type') cur.type = Number(show);
        else if (name === 'iec60870_104.utype') cur.utype = Number(show);
        else if (name === 'iec60870_104.tx') cur.tx = Number(show);
        else if (name === 'iec60870_104.rx') cur.rx = Number(show);
        else if (name === 'iec60870_asdu.typeid') cur.typeId = Number(show);
        else if (name === 'iec60870_asdu.sq') cur.sq = show === '1' || show === 'True';
        else if (name === 'iec60870_asdu.numix') cur.numix = Number(show);
        else if (name === 'iec60870_asdu.causetx') cur.cot = Number(show);
        else if (name === 'iec60870_asdu.nega') cur.negative = show === '1' || show === 'True';
        else if (name === 'iec60870_asdu.test') cur.test = show === '1' || show === 'True';
        else if (name === 'iec60870_asdu.oa') cur.oa = Number(show);
        else if (name === 'iec60870_asdu.addr') cur.ca = Number(show);
        else if (name === 'iec60870_asdu.ioa') (cur.ioas ??= []).push(Number(show));
    }
  }
  return out;
}

function main(): void {
  const dir = process.argv[2] ?? join(new URL('..', import.meta.url).pathname, 'test', 'fixtures', 'captures');
  const outDir = join(new URL('..', import.meta.url).pathname, 'test', 'fixtures', 'captures');
  mkdirSync(outDir, { recursive: true });
  const version = execFileSync('tshark', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0];
  for (const f of readdirSync(dir).sort()) {
    if (!/\.pcap(ng)?$/.test(f)) continue;
    const args = ['-r', join(dir, f), '-Y', 'iec60870_104', '-T', 'pdml'];
    const pdml = execFileSync('tshark', args, { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] });
    const fx: TsharkFixture = { capture: f, tshark: version, command: `tshark -r ${f} -Y iec60870_104 -T pdml`, apdus: parsePdml(pdml) };
    const out = join(outDir, basename(f).replace(/\.pcap(ng)?$/, '') + '.json');
    writeFileSync(out, JSON.stringify(fx, null, 1) + '\n');
    console.log(`${out}: ${fx.apdus.length} APDUs`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();
