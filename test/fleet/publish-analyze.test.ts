/**
 * `iec104 analyze --publish`: a fixture capture published to real brokers (nats-server -js,
 * mosquitto) and read back: the same alerts, commands and point values as `--json`, in order, with
 * ids <sensor>:<seq>; a broker that is down keeps the messages on disk for the next run, whose
 * sequence numbers continue; usage errors for bad URLs and missing names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCapture } from '../helpers/captures.js';
import { runAnalyzeOn } from '../capture/helpers.js';
import { startMosquitto, startNats } from '../helpers/brokers.js';
import { mqttCollector, readNatsStream, type ReadBack } from '../helpers/fleet-readback.js';

const CAP = readCapture('ITI_090813_diverse.pcap');

function tempDir(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'iec104-pubcli-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** What `--json` says about the capture: alerts, commands, point values (monitor-direction objects with a value). */
async function expected(): Promise<{ alerts: string[]; commands: number; points: number }> {
  const r = await runAnalyzeOn(['cap.pcap', '--json', '--no-summary', '--no-aggregate'], CAP); // published: every occurrence
  const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as { kind?: string; rule?: string; direction?: string; apdu?: { asdu?: { typeName: string; objects: Array<Record<string, unknown>> } } });
  const alerts = lines.filter((l) => l.kind === 'alert').map((l) => l.rule!);
  const c = await runAnalyzeOn(['cap.pcap', '--commands', '--json'], CAP);
  const commands = c.out.trim().split('\n').filter((l) => JSON.parse(l).kind === 'command').length;
  let points = 0;
  for (const l of lines) {
    const a = l.apdu?.asdu;
    if (a && l.direction !== 'master→station' && /^M_/.test(a.typeName) && a.typeName !== 'M_EI_NA_1') points += a.objects.filter((o) => 'value' in o).length;
  }
  return { alerts, commands, points };
}

function checkStream(got: ReadBack[], sensor: string, site: string, firstSeq = 1): void {
  got.forEach((m, i) => {
    assert.equal(m.env.seq, firstSeq + i, 'in order, no gap');
    assert.equal(m.env.id, `${sensor}:${m.env.seq}`);
    assert.equal(m.env.site, site);
  });
}

test('analyze --publish nats://: alerts, commands, points, inventory and health in order, as --json has them', async (t) => {
  const nats = await startNats();
  t.after(() => nats.close());
  const want = await expected();
  assert.ok(want.alerts.length > 0 && want.commands > 0 && want.points > 0, 'the fixture has all three');
  const r = await runAnalyzeOn(['cap.pcap', '--alerts', '--publish', nats.url, '--site', 'north', '--sensor', 'tap-a', '--buffer-dir', tempDir(t)], CAP);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /all delivered/);
  const got = await readNatsStream(nats.url);
  checkStream(got, 'tap-a', 'north');
  for (const m of got) {
    assert.equal(m.msgId, m.env.id);
    assert.equal(m.subject, `iec104.north.${m.env.kind}`);
  }
  const of = (k: string): ReadBack[] => got.filter((m) => m.env.kind === k);
  assert.deepEqual(of('alert').map((m) => (m.env.body as { rule: string }).rule), want.alerts);
  assert.equal(of('command').length, want.commands);
  assert.equal(of('point').length, want.points);
  assert.equal(of('record').length, 0, 'records only with --publish-records');
  assert.equal(of('inventory').length, 1);
  assert.equal(got.at(-1)!.env.kind, 'health');
  const health = got.at(-1)!.env.body as { counters: { apdus: number } };
  assert.ok(health.counters.apdus > 0);
});

test('analyze --publish mqtt:// with --publish-records: one record per APDU besides the rest', async (t) => {
  const mq = await startMosquitto();
  t.after(() => mq.close());
  const sub = await mqttCollector(mq.url);
  t.after(() => sub.close());
  const json = await runAnalyzeOn(['cap.pcap', '--json', '--no-summary', '--no-monitor'], CAP);
  const apdus = json.out.trim().split('\n').length;
  const r = await runAnalyzeOn(['cap.pcap', '--no-summary', '--publish', `${mq.url}?protocol=5`, '--publish-records', '--site', 'south', '--sensor', 'tap-b', '--buffer-dir', tempDir(t)], CAP);
  assert.equal(r.code, 0, r.err);
  const made = Number(/publish: (\d+) message\(s\) this run/.exec(r.err)?.[1]);
  await sub.waitFor(made);
  checkStream(sub.messages, 'tap-b', 'south');
  for (const m of sub.messages) assert.equal(m.subject, `iec104/south/${m.env.kind}`);
  const records = sub.messages.filter((m) => m.env.kind === 'record');
  assert.equal(records.length, apdus);
  assert.deepEqual(records[0].env.body, JSON.parse(json.out.split('\n')[0]));
});

test('broker down: the run keeps its messages on disk; the next run delivers them first and continues the sequence', async (t) => {
  const nats = await startNats();
  t.after(() => nats.close());
  await nats.stop('SIGKILL');
  const dir = tempDir(t);
  const args = ['cap.pcap', '--alerts', '--publish', nats.url, '--site', 'north', '--sensor', 'tap-c', '--buffer-dir', dir];
  const first = await runAnalyzeOn([...args, '--publish-wait', '0'], CAP);
  assert.equal(first.code, 0, first.err);
  const n1 = Number(/publish: (\d+) message\(s\) this run/.exec(first.err)?.[1]);
  assert.match(first.err, new RegExp(`${n1} wait for nats://`));
  await nats.start();
  const second = await runAnalyzeOn(args, CAP);
  assert.equal(second.code, 0, second.err);
  assert.match(second.err, new RegExp(`next seq ${n1 + 1}\\)`));
  assert.match(second.err, /all delivered/);
  const got = await readNatsStream(nats.url);
  assert.equal(got.length, 2 * n1);
  checkStream(got, 'tap-c', 'north');
});

test('analyze --publish: usage errors name the flag and what is wrong', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--publish', 'http://h:1', '--site', 's'], /--publish "http:\/\/h:1": unknown scheme/],
    [['--publish', 'nats://:4222', '--site', 's'], /--publish "nats:\/\/:4222": the host is missing/],
    [['--publish', 'mqtt://h:70000', '--site', 's'], /--publish "mqtt:\/\/h:70000": port '70000' is not 1\.\.65535/],
    [['--publish', 'nats://h'], /--publish needs --site/],
    [['--publish', 'nats://h', '--site', 'a.b'], /--site: site name "a\.b" must be/],
    [['--publish', 'nats://h', '--site', 's', '--sensor', 'x y'], /--sensor: sensor name "x y" must be/],
    [['--site', 's'], /--site needs --publish/],
    [['--publish', 'nats://h', '--site', 's', '--buffer-size', '1K'], /--buffer-size needs a size of at least 8K/],
  ];
  for (const [extra, re] of cases) {
    const r = await runAnalyzeOn(['cap.pcap', ...extra], CAP);
    assert.equal(r.code, 2, `${extra.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
  }
});
