/**
 * `iec104 analyze`: read a pcap / pcapng capture (file or stdin), reassemble TCP, and print one
 * line (or JSON object) per IEC 104 APDU, then a summary.
 */
import { createReadStream } from 'node:fs';
import { cotShortName } from '../codec/cause.js';
import { octetsToHex } from '../codec/explain.js';
import type { CodecOptions } from '../codec/options.js';
import { typeName } from '../codec/type-table.js';
import { type AnalyzeSummary, type ApduRecord, CaptureAnalyzer, type FlowInfo, recordToJson } from '../capture/analyze.js';
import { compileFilter, FilterSyntaxError, type RecordFilter } from '../capture/filter.js';
import type { CaptureIssue } from '../capture/issues.js';
import type { CliCommand } from './command.js';

const HELP = `usage: iec104 analyze FILE|- [--json] [--filter EXPR] [--port N ...] [options]

Read a pcap or pcapng capture (or '-' for standard input, e.g. from tcpdump -w -),
reassemble TCP and decode every IEC 60870-5-104 APDU: one line per APDU, then a summary
of flows, APDU counts by format and type, and errors.

IEC 104 is recognised on port 2404 and the --port ports, and on any other port when the
first bytes of a direction are valid APDUs. Port 19998 (IEC 62351-3, TLS) is shown as an
encrypted flow with what its ClientHello / ServerHello reveal.

options:
  --json              one JSON object per APDU on stdout:
                      {frame, ts, src, dst, direction, flow, apdu:{apci, asdu}} or
                      {frame, ts, src, dst, direction, flow, error:{...}, raw}
  --filter EXPR       only APDUs matching a Wireshark-style expression, e.g.
                      'iec60870_asdu.typeid == 45 && ip.src == 10.0.0.0/8'
                      fields: frame.number ip.src ip.dst ip.addr tcp.port tcp.srcport
                      tcp.dstport iec60870_104.type (0 I, 1 S, 3 U) iec60870_104.utype
                      iec60870_104.tx .rx iec60870_asdu.typeid .causetx .addr .ioa
                      .nega .test .oa .sq .numix; operators == != < <= > >= in {..}
                      && || ! and or not ( )
  --port N            also treat TCP port N as IEC 104 (repeatable)
  --tls-port N        also treat TCP port N as TLS-protected IEC 104 (repeatable)
  --no-heuristic      only recognise IEC 104 by port
  --cot-size 1|2      octets of the cause of transmission (default 2)
  --ca-size 1|2       octets of the common address (default 2)
  --ioa-size 1|2|3    octets of the information object address (default 3)
  --no-summary        no summary after the APDU lines
  --max-issues N      print at most N problems of each kind on stderr (default 20)
  -h, --help          this text

example:
  $ iec104 analyze capture.pcap --filter 'iec60870_104.type == 0'
       12 2013-07-04T06:23:17.333710Z 10.20.100.108:2404 → 10.20.102.1:46413 S→M I(1,1) C_IC_NA_1 actcon ca=10 ioa=0
  ...
  $ tcpdump -i eth0 -w - 'tcp port 2404' | iec104 analyze - --json | jq .apdu.asdu.typeName

Problems in the file (truncated records, bad blocks), in packets and in TCP streams (gaps,
retransmissions with other bytes) are printed on stderr and counted in the summary; the
analysis goes on after each.

exit codes:
  0  the capture was read (APDUs that did not decode do not count)
  1  the input could not be read, or is not a pcap / pcapng file
  2  usage error (unknown option, bad value, bad filter expression)
  3  the capture file is damaged (truncated or bad records); what could be read was analysed`;

/** Where the command reads and writes. */
export interface AnalyzeIo {
  stdout: NodeJS.WritableStream;
  stderr: { write(s: string): unknown };
  /** Open the capture (`-` is standard input). */
  open(path: string): AsyncIterable<Uint8Array>;
}

interface Parsed {
  file: string;
  json: boolean;
  filter?: RecordFilter;
  ports: number[];
  tlsPorts: number[];
  heuristic: boolean;
  codec: Partial<CodecOptions>;
  summary: boolean;
  maxIssues: number;
}

function parseArgs(argv: string[]): Parsed | string {
  const p: Parsed = { file: '', json: false, ports: [2404], tlsPorts: [19998], heuristic: true, codec: {}, summary: true, maxIssues: 20 };
  const files: string[] = [];
  const intArg = (name: string, v: string | undefined, lo: number, hi: number): number | string => {
    if (v === undefined || !/^\d+$/.test(v) || Number(v) < lo || Number(v) > hi) return `${name} needs a number ${lo}..${hi}, got '${v ?? ''}'`;
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--json':
        p.json = true;
        break;
      case '--no-heuristic':
        p.heuristic = false;
        break;
      case '--no-summary':
        p.summary = false;
        break;
      case '--filter': {
        const e = argv[++i];
        if (e === undefined) return '--filter needs an expression';
        try {
          p.filter = compileFilter(e);
        } catch (err) {
          if (err instanceof FilterSyntaxError) return `bad filter: ${err.message}\n  ${e}\n  ${' '.repeat(err.column - 1)}^`;
          throw err;
        }
        break;
      }
      case '--port':
      case '--tls-port': {
        const n = intArg(a, argv[++i], 1, 65535);
        if (typeof n === 'string') return n;
        (a === '--port' ? p.ports : p.tlsPorts).push(n);
        break;
      }
      case '--cot-size':
      case '--ca-size': {
        const n = intArg(a, argv[++i], 1, 2);
        if (typeof n === 'string') return n;
        if (a === '--cot-size') p.codec.cotSize = n as 1 | 2;
        else p.codec.caSize = n as 1 | 2;
        break;
      }
      case '--ioa-size': {
        const n = intArg(a, argv[++i], 1, 3);
        if (typeof n === 'string') return n;
        p.codec.ioaSize = n as 1 | 2 | 3;
        break;
      }
      case '--max-issues': {
        const n = intArg(a, argv[++i], 0, 1e9);
        if (typeof n === 'string') return n;
        p.maxIssues = n;
        break;
      }
      default:
        if (a.startsWith('-') && a !== '-') return `unknown option '${a}'`;
        files.push(a);
    }
  }
  if (files.length !== 1) return files.length === 0 ? 'a capture file (or - for standard input) is needed' : 'only one capture file can be analysed at a time';
  p.file = files[0];
  return p;
}

/** Compact one-line form of an APDU record. */
export function formatRecordLine(r: ApduRecord): string {
  const dir = r.direction === 'master→station' ? 'M→S' : r.direction === 'station→master' ? 'S→M' : '?→?';
  const head = `${String(r.frame).padStart(8)} ${r.ts} ${r.src} → ${r.dst} ${dir}`;
  if (!r.apdu) return `${head} ERROR ${r.error?.message ?? ''}${r.raw ? ' [' + octetsToHex(r.raw) + ']' : ''}`;
  const c = r.apdu.apci;
  if (c.format === 'U') return `${head} U ${c.uFunction}`;
  if (c.format === 'S') return `${head} S(${c.recvSeq})`;
  const a = r.apdu.asdu!;
  let s = `${head} I(${c.sendSeq},${c.recvSeq}) ${typeName(a.typeId)} ${cotShortName(a.cot)}${a.negative ? ' neg' : ''}${a.test ? ' test' : ''} ca=${a.ca}`;
  if (a.originator) s += ` oa=${a.originator}`;
  const n = a.objects.length;
  if (n > 0) {
    if (a.sq && n > 1) s += ` ioa=${a.objects[0].ioa}..${a.objects[n - 1].ioa}`;
    else s += ` ioa=${a.objects.slice(0, 4).map((o) => o.ioa).join(',')}${n > 4 ? `,…(+${n - 4})` : ''}`;
  } else if (a.rawCount !== undefined) s += ` objects=${a.rawCount} (raw)`;
  if (a.warnings?.length) s += ` !${a.warnings.map((w) => w.code).join(',')}`;
  return s;
}

function flowLine(f: FlowInfo): string {
  const role = (side: 'a' | 'b'): string => (f.station === undefined ? '' : f.station === side ? ' (station)' : ' (master)');
  let s = `  flow ${f.index}: ${f.a.text}${role('a')} ⇄ ${f.b.text}${role('b')}  ${f.kind}`;
  if (f.detectedBy) s += ` (${f.detectedBy})`;
  if (f.kind === 'iec104') s += `  ${f.apdus} APDUs${f.decodeErrors ? `, ${f.decodeErrors} undecodable` : ''}`;
  if (f.tls) {
    const t = f.tls;
    const parts = [t.sni && `SNI ${t.sni}`, t.clientVersion && `client offers ${t.clientVersion}`, t.serverVersion && `server chose ${t.serverVersion}`, t.cipher && `cipher ${t.cipher}`].filter(Boolean);
    s += `  ${parts.length ? parts.join(', ') : 'no hello seen'}`;
  }
  if (f.arrivalOrder) s += '  [arrival order: sequence numbers do not advance]';
  s += `  frames ${f.firstFrame}-${f.lastFrame}`;
  return s;
}

/** Text of the summary printed after the APDU lines. */
export function formatSummary(s: AnalyzeSummary): string {
  const lines: string[] = [];
  const kinds = { iec104: 0, tls: 0, other: 0, pending: 0 };
  for (const f of s.flows) kinds[f.kind]++;
  lines.push(`summary: ${s.format ?? 'unknown format'}, ${s.frames} frames, ${s.tcpSegments} TCP segments, ${s.flows.length} TCP flows (IEC 104 ${kinds.iec104}, TLS ${kinds.tls}, other ${kinds.other + kinds.pending})`);
  for (const f of s.flows) if (f.kind === 'iec104' || f.kind === 'tls') lines.push(flowLine(f));
  const undecodable = Object.values(s.decodeErrors).reduce((a, b) => a + b, 0);
  lines.push(`APDUs: ${s.apdus.total} (I ${s.apdus.I}, S ${s.apdus.S}, U ${s.apdus.U}${undecodable ? `, undecodable ${undecodable}` : ''})`);
  const types = Object.entries(s.types).sort((a, b) => Number(a[0]) - Number(b[0]));
  if (types.length) lines.push(`types: ${types.map(([t, n]) => `${typeName(Number(t))}(${t}) ${n}`).join(', ')}`);
  const u = Object.entries(s.uFunctions);
  if (u.length) lines.push(`U-frames: ${u.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  if (undecodable) lines.push(`undecodable: ${Object.entries(s.decodeErrors).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  const iss = Object.entries(s.issues);
  lines.push(`problems: ${iss.length ? iss.map(([k, n]) => `${k} ${n}`).join(', ') : 'none'}`);
  return lines.join('\n');
}

function issueLine(i: CaptureIssue): string {
  const loc: string[] = [];
  if (i.frame !== undefined) loc.push(`frame ${i.frame}`);
  if (i.flow !== undefined) loc.push(`flow ${i.flow}`);
  if (i.record !== undefined) loc.push(`record ${i.record}`);
  if (i.fileOffset !== undefined) loc.push(`file offset ${i.fileOffset}`);
  if (i.streamOffset !== undefined) loc.push(`stream offset ${i.streamOffset}`);
  return `iec104 analyze: ${i.severity} ${i.code}${loc.length ? ` (${loc.join(', ')})` : ''}: ${i.message}\n`;
}

/** Run `analyze` with the given streams; resolves to the exit code. */
export async function runAnalyze(argv: string[], io: AnalyzeIo): Promise<number> {
  const p = parseArgs(argv);
  if (typeof p === 'string') {
    io.stderr.write(`iec104 analyze: ${p}\n\nRun 'iec104 analyze --help' for usage.\n`);
    return 2;
  }
  let out: string[] = [];
  const perCode = new Map<string, number>();
  let damaged = false;
  let notCapture = false;
  const an = new CaptureAnalyzer(
    {
      record: (r) => {
        if (p.filter && !p.filter(r)) return;
        out.push(p.json ? JSON.stringify(recordToJson(r)) : formatRecordLine(r));
      },
      issue: (i) => {
        if (i.code === 'E_CAP_FORMAT') notCapture = true;
        else if (i.code.startsWith('E_CAP_')) damaged = true;
        const n = (perCode.get(i.code) ?? 0) + 1;
        perCode.set(i.code, n);
        if (n <= p.maxIssues) io.stderr.write(issueLine(i));
        else if (n === p.maxIssues + 1) io.stderr.write(`iec104 analyze: further ${i.code} problems are only counted\n`);
      },
    },
    { ports: p.ports, tlsPorts: p.tlsPorts, heuristic: p.heuristic, codec: p.codec },
  );
  let broken = false;
  const onErr = (): void => {
    broken = true;
  };
  io.stdout.on('error', onErr);
  const flush = async (): Promise<void> => {
    if (out.length === 0 || broken) return;
    const text = out.join('\n') + '\n';
    out = [];
    if (!io.stdout.write(text)) await new Promise<void>((res) => {
      const done = (): void => {
        io.stdout.off('drain', done);
        io.stdout.off('error', done);
        res();
      };
      io.stdout.on('drain', done);
      io.stdout.on('error', done);
    });
  };
  try {
    for await (const chunk of io.open(p.file)) {
      an.push(chunk);
      if (notCapture) break;
      await flush();
      if (broken) return 0; // reader went away (e.g. | head)
    }
  } catch (err) {
    io.stderr.write(`iec104 analyze: cannot read ${p.file === '-' ? 'standard input' : p.file}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  an.end();
  if (!p.json && p.summary && !notCapture) out.push(formatSummary(an.summary()));
  await flush();
  io.stdout.off('error', onErr);
  if (notCapture) return 1;
  return damaged ? 3 : 0;
}

/** The `analyze` sub-command. */
export const command: CliCommand = {
  summary: 'decode every IEC 104 APDU in a pcap/pcapng capture (TCP reassembled)',
  help: HELP,
  run: (argv) =>
    runAnalyze(argv, {
      stdout: process.stdout,
      stderr: process.stderr,
      open: (path) => (path === '-' ? process.stdin : createReadStream(path, { highWaterMark: 1 << 20 })),
    }),
};
