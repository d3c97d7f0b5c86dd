/**
 * Output formats of `iec104 analyze --format`: every EVE event and every ECS document of two
 * public captures validated against the published definitions (subsets in test/fixtures/outputs,
 * sources and licences in its README); Zeek TSV logs checked against their own #fields / #types
 * header; Zeek JSON, CEF escaping; one event per APDU and per alert in each.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cefAlert, cefHeader, cefValue } from '../../src/outputs/cef.js';
import { ecsAlert } from '../../src/outputs/ecs.js';
import { eveAlert, eveTimestamp } from '../../src/outputs/eve.js';
import { zeekEscape } from '../../src/outputs/zeek.js';
import type { Alert } from '../../src/monitor/types.js';
import { readCapture } from '../helpers/captures.js';
import { runAnalyzeOn } from '../capture/helpers.js';

const FIX = fileURLToPath(new URL('../fixtures/outputs/', import.meta.url));
const ECS = JSON.parse(readFileSync(join(FIX, 'ecs-fields-subset.json'), 'utf8')) as {
  fieldSets: string[];
  fields: Record<string, { type: string; normalize?: string[]; allowed_values?: string[]; expected_values?: string[]; expected_event_types?: Record<string, string[]> }>;
};
interface Schema {
  type?: string;
  required?: string[];
  additionalProperties?: boolean;
  properties?: Record<string, Schema>;
  items?: Schema;
  pattern?: string;
}
const EVE = JSON.parse(readFileSync(join(FIX, 'eve-schema-subset.json'), 'utf8')) as { schema: Schema; extensions: Record<string, Schema> };

const CAPTURES = ['fkie_epf_iec104.pcap', 'ITI_090813_diverse.pcap'];

/** Alert with characters every format must escape. */
const NASTY: Alert = {
  kind: 'alert',
  rule: 'cmd.toggle',
  severity: 'high',
  message: 'a|b=c\\d\n"quoted" ]x',
  frame: 7,
  ts: 1700000000123.456,
  src: '10.0.0.1:50000',
  dst: '[2001:db8::2]:2404',
  evidence: { flow: '3', note: 'x' },
  mitre: 'T0855',
};

/** JSON Schema subset: type, required, properties, additionalProperties, items, pattern. */
function validate(v: unknown, s: Schema, path: string, extensions: Record<string, Schema> = {}): string[] {
  const errs: string[] = [];
  const t = s.type;
  const typeOk =
    t === undefined ||
    (t === 'object' && typeof v === 'object' && v !== null && !Array.isArray(v)) ||
    (t === 'array' && Array.isArray(v)) ||
    (t === 'string' && typeof v === 'string') ||
    (t === 'integer' && Number.isInteger(v)) ||
    (t === 'number' && typeof v === 'number') ||
    (t === 'boolean' && typeof v === 'boolean');
  if (!typeOk) return [`${path}: expected ${t}, got ${JSON.stringify(v)}`];
  if (t === 'string' && s.pattern && !new RegExp(s.pattern).test(v as string)) errs.push(`${path}: '${String(v)}' does not match ${s.pattern}`);
  if (t === 'array' && s.items) (v as unknown[]).forEach((x, i) => errs.push(...validate(x, s.items!, `${path}[${i}]`)));
  if (t === 'object') {
    const o = v as Record<string, unknown>;
    for (const r of s.required ?? []) if (!(r in o)) errs.push(`${path}.${r}: required`);
    for (const [k, x] of Object.entries(o)) {
      const ps = s.properties?.[k] ?? extensions[k];
      if (ps) errs.push(...validate(x, ps, `${path}.${k}`));
      else if (s.additionalProperties === false) errs.push(`${path}.${k}: not in the published schema`);
    }
  }
  return errs;
}

/** Flatten an ECS document to dotted keys (arrays kept as values). */
function flatten(o: Record<string, unknown>, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  for (const [k, v] of Object.entries(o)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) flatten(v as Record<string, unknown>, key, out);
    else out[key] = v;
  }
  return out;
}

function validateEcs(doc: Record<string, unknown>): string[] {
  const errs: string[] = [];
  if (ECS.fieldSets.includes('iec104')) errs.push('iec104 is an ECS field set now: the custom object must move');
  const flat = flatten(doc);
  for (const [k, v] of Object.entries(flat)) {
    if (k.startsWith('iec104.')) continue; // our custom object, outside ECS names
    const f = ECS.fields[k];
    if (!f) {
      errs.push(`${k}: not an ECS field of the subset`);
      continue;
    }
    const values = Array.isArray(v) ? v : [v];
    if (f.normalize?.includes('array') && !Array.isArray(v)) errs.push(`${k}: ECS normalises it to an array`);
    for (const x of values) {
      const ok =
        f.type === 'keyword' || f.type === 'match_only_text' || f.type === 'wildcard'
          ? typeof x === 'string'
          : f.type === 'long'
            ? Number.isInteger(x)
            : f.type === 'date'
              ? typeof x === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(x) && !Number.isNaN(Date.parse(x))
              : f.type === 'ip'
                ? typeof x === 'string' && isIP(x) !== 0
                : false;
      if (!ok) errs.push(`${k}: ${JSON.stringify(x)} is not of ECS type ${f.type}`);
      if (f.allowed_values && !f.allowed_values.includes(x as string)) errs.push(`${k}: '${String(x)}' is not an allowed value`);
      if (f.expected_values && !f.expected_values.includes(x as string)) errs.push(`${k}: '${String(x)}' is not an expected value`);
    }
  }
  const cats = (flat['event.category'] as string[] | undefined) ?? [];
  const expected = new Set(cats.flatMap((c) => ECS.fields['event.category'].expected_event_types?.[c] ?? []));
  for (const ty of (flat['event.type'] as string[] | undefined) ?? []) if (!expected.has(ty)) errs.push(`event.type '${ty}' is not expected with event.category ${cats.join(',')}`);
  for (const req of ['@timestamp', 'ecs.version', 'event.kind']) if (!(req in flat)) errs.push(`${req}: missing`);
  return errs;
}

async function counts(name: string): Promise<{ apdus: number; alerts: number }> {
  const r = await runAnalyzeOn([name, '--json', '--no-aggregate'], readCapture(name));
  const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as { kind?: string });
  return { apdus: lines.filter((l) => l.kind === undefined).length, alerts: lines.filter((l) => l.kind === 'alert').length };
}

test('EVE: every event of two public captures fits the published Suricata EVE schema', async () => {
  for (const name of CAPTURES) {
    const want = await counts(name);
    assert.ok(want.alerts > 0, `${name} raises alerts`);
    const r = await runAnalyzeOn([name, '--format', 'eve'], readCapture(name));
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /summary: pcap/); // the summary goes to stderr: stdout is events only
    const events = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const alerts = events.filter((e) => e.event_type === 'alert');
    const recs = events.filter((e) => e.event_type === 'iec104');
    assert.equal(alerts.length, want.alerts);
    assert.equal(recs.length, want.apdus);
    assert.equal(alerts.length + recs.length, events.length);
    for (const a of alerts) assert.deepEqual(validate(a, EVE.schema, 'alert'), []); // no extension allowed
    for (const e of recs) assert.deepEqual(validate(e, EVE.schema, 'iec104', EVE.extensions), []);
  }
  // an alert with the odd characters and a MITRE technique
  const e = eveAlert(NASTY);
  assert.deepEqual(validate(e, EVE.schema, 'nasty'), []);
  assert.equal(e.timestamp, '2023-11-14T22:13:20.123456+0000');
  assert.equal(e.dest_ip, '2001:db8::2');
  assert.deepEqual((e.alert as { metadata: unknown }).metadata, { tag: ['cmd.toggle', 'mitre:T0855'], signature_severity: ['high'] });
  assert.equal((e.alert as { severity: number }).severity, 2);
  assert.equal(eveTimestamp('2013-07-04T06:23:17.333710123Z'), '2013-07-04T06:23:17.333710+0000');
});

test('ECS: every document of two public captures uses ECS 9.4 fields with their types and allowed values', async () => {
  for (const name of CAPTURES) {
    const want = await counts(name);
    const r = await runAnalyzeOn([name, '--format', 'ecs'], readCapture(name));
    assert.equal(r.code, 0, r.err);
    const docs = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown> & { event: { kind: string } });
    assert.equal(docs.filter((d) => d.event.kind === 'alert').length, want.alerts);
    assert.equal(docs.filter((d) => d.event.kind === 'event').length, want.apdus);
    for (const d of docs) assert.deepEqual(validateEcs(d), [], JSON.stringify(d));
  }
  const d = ecsAlert(NASTY);
  assert.deepEqual(validateEcs(d), []);
  assert.deepEqual((d.threat as { technique: { id: string[] } }).technique.id, ['T0855']);
  assert.equal((d.event as { severity: number }).severity, 73);
  // the validator catches what ECS does not define
  assert.notDeepEqual(validateEcs({ ...d, event: { ...(d.event as object), kind: 'bogus' } }), []);
  assert.notDeepEqual(validateEcs({ ...d, source: { ip: 'not-an-ip', port: 1 } }), []);
  assert.notDeepEqual(validateEcs({ ...d, foo: 1 }), []);
});

test('Zeek TSV: iec104.log and iec104_alerts.log follow their #fields / #types header', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'iec104-zeek-'));
  try {
    const name = CAPTURES[0];
    const want = await counts(name);
    const r = await runAnalyzeOn([name, '--format', 'zeek', '--log-dir', dir], readCapture(name));
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^summary: pcap/m); // stdout keeps the summary, the records are in the logs
    for (const [file, n, path] of [
      ['iec104.log', want.apdus, 'iec104'],
      ['iec104_alerts.log', want.alerts, 'iec104_alerts'],
    ] as const) {
      const lines = readFileSync(join(dir, file), 'utf8').trimEnd().split('\n');
      assert.equal(lines[0], '#separator \\x09');
      assert.equal(lines[4], `#path\t${path}`);
      const fields = lines.find((l) => l.startsWith('#fields\t'))!.split('\t').slice(1);
      const types = lines.find((l) => l.startsWith('#types\t'))!.split('\t').slice(1);
      assert.equal(fields.length, types.length);
      assert.deepEqual(fields.slice(0, 6), ['ts', 'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p']);
      assert.match(lines.at(-1)!, /^#close\t\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}$/);
      const data = lines.filter((l) => !l.startsWith('#'));
      assert.equal(data.length, n);
      for (const l of data) {
        const cols = l.split('\t');
        assert.equal(cols.length, fields.length, l);
        cols.forEach((c, i) => {
          if (c === '-') return;
          const ok = { time: /^\d+\.\d{6}$/, port: /^\d{1,5}$/, count: /^\d+$/, bool: /^[TF]$/, 'vector[count]': /^(\(empty\)|\d+(,\d+)*)$/, string: /^[^\t\n]+$/ }[types[i] as 'time'];
          if (types[i] === 'addr') assert.ok(isIP(c) !== 0, `${fields[i]}=${c}`);
          else assert.match(c, ok, `${fields[i]}=${c}`);
        });
      }
    }
    // the master is the originator: the STARTDT act line comes from id.orig_h
    const log = readFileSync(join(dir, 'iec104.log'), 'utf8').split('\n');
    const f = log.find((l) => l.startsWith('#fields'))!.split('\t').slice(1);
    const start = log.find((l) => l.includes('STARTDT_ACT'))!.split('\t');
    assert.equal(start[f.indexOf('is_orig')], 'T');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(zeekEscape('a\tb\\c\n'), 'a\\x09b\\x5cc\\x0a');
  assert.equal(zeekEscape('-'), '\\x2d');
});

test('Zeek JSON: one object a line with the log fields, unset fields left out', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'iec104-zeekj-'));
  try {
    const name = CAPTURES[1];
    const want = await counts(name);
    const r = await runAnalyzeOn([name, '--format', 'zeek-json', '--log-dir', dir], readCapture(name));
    assert.equal(r.code, 0, r.err);
    const recs = readFileSync(join(dir, 'iec104.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(recs.length, want.apdus);
    for (const x of recs) {
      assert.equal(typeof x.ts, 'number');
      assert.equal(typeof x['id.orig_h'], 'string');
      assert.ok(!Object.values(x).includes(null));
    }
    const alerts = readFileSync(join(dir, 'iec104_alerts.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(alerts.length, want.alerts);
    assert.equal(typeof alerts[0].rule, 'string');
    assert.deepEqual(JSON.parse(alerts[0].evidence as string).flow, '0');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Split a CEF line into its 7 header fields and the extension (escape-aware). */
function parseCef(line: string): { header: string[]; ext: Record<string, string> } {
  const header: string[] = [];
  let cur = '';
  let i = 0;
  for (; i < line.length && header.length < 7; i++) {
    const c = line[i];
    if (c === '\\' && (line[i + 1] === '|' || line[i + 1] === '\\')) cur += line[++i];
    else if (c === '|') {
      header.push(cur);
      cur = '';
    } else cur += c;
  }
  const rest = line.slice(i);
  const ext: Record<string, string> = {};
  const re = /(\w+)=((?:[^=\\]|\\.)*?)(?=\s\w+=|$)/g;
  for (const m of rest.matchAll(re)) ext[m[1]] = m[2].replace(/\\n/g, '\n').replace(/\\r/g, '\r').replace(/\\(.)/g, '$1');
  return { header, ext };
}

test('CEF: header and extension escaping, one line per APDU and per alert', async () => {
  const line = cefAlert(NASTY, { version: '0.1.0' });
  assert.ok(!line.includes('\n'));
  const p = parseCef(line);
  assert.deepEqual(p.header, ['CEF:0', 'iec104', 'iec104', '0.1.0', 'cmd.toggle', 'a|b=c\\d "quoted" ]x', '8']);
  assert.equal(p.ext.msg, NASTY.message);
  assert.equal(p.ext.src, '10.0.0.1');
  assert.equal(p.ext.dst, '2001:db8::2');
  assert.equal(p.ext.dpt, '2404');
  assert.equal(p.ext.cs2, 'T0855');
  assert.equal(p.ext.rt, '1700000000123');
  assert.equal(cefHeader('a|b\\c'), 'a\\|b\\\\c');
  assert.equal(cefValue('a=b\\c\nd'), 'a\\=b\\\\c\\nd');

  const name = CAPTURES[0];
  const want = await counts(name);
  const r = await runAnalyzeOn([name, '--format', 'cef'], readCapture(name));
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split('\n');
  assert.equal(lines.length, want.apdus + want.alerts);
  for (const l of lines) {
    const c = parseCef(l);
    assert.equal(c.header.length, 7, l);
    assert.equal(c.header[0], 'CEF:0');
    assert.match(c.header[6], /^(10|[0-9])$/);
    assert.ok(isIP(c.ext.src) && isIP(c.ext.dst), l);
  }
});

test('formats with the monitor on its own thread: the same lines in the same order', async () => {
  for (const format of ['eve', 'ecs', 'cef']) {
    for (const name of CAPTURES) {
      const one = await runAnalyzeOn([name, '--format', format, '--threads', '1'], readCapture(name));
      const two = await runAnalyzeOn([name, '--format', format, '--threads', '2'], readCapture(name), 0, { threadBatchBytes: 256 });
      assert.equal(two.code, 0, two.err);
      assert.equal(two.out, one.out, `${format} ${name}`);
    }
  }
});

test('an alert with several ATT&CK techniques (Alert.techniques): ECS threat.technique.id and EVE mitre tags list them all, primary first', () => {
  const a: Alert = { ...NASTY, rule: 'recon.ca-sweep', mitre: 'T0846', techniques: ['T0846', 'T0888'] };
  const d = ecsAlert(a);
  assert.deepEqual(validateEcs(d), []);
  assert.deepEqual((d.threat as { technique: { id: string[] } }).technique.id, ['T0846', 'T0888']);
  const e = eveAlert(a);
  assert.deepEqual((e.alert as { metadata: { tag: string[] } }).metadata.tag, ['recon.ca-sweep', 'mitre:T0846', 'mitre:T0888']);
});
