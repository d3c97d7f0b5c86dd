/**
 * `iec104 proxy` folds repeated alerts like `iec104 analyze`: one alert per rule and connection
 * per window, then an `alert-aggregate` record with the count (when the window closes, or when the
 * proxy stops); `--no-aggregate` writes every occurrence. Alerts across rules are grouped into
 * incidents as in analyze.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ControllingStation } from '../../src/master/index.js';
import { tcpConnector } from '../../src/master/tcp.js';
import { createStation } from '../../src/station/index.js';
import { parseProxyArgs, runProxy } from '../../src/cli/proxy.js';
import { STATION } from './engine-capture.js';

/** A policy that does not list the master: every interrogation is policy.command-not-allowed. */
const POLICY = 'version: 1\nmasters:\n  - addresses: [10.9.9.9]\n';

interface Rec {
  kind: string;
  rule: string;
  count?: number;
  sources?: string[];
  order?: string[];
}

/** Run the proxy CLI with `flags`; the master sends three GIs; `during` may wait for output before the proxy stops. */
async function proxyRun(flags: string[], during?: (out: () => string) => Promise<void>): Promise<Rec[]> {
  const station = createStation(STATION);
  const { port: stationPort } = await station.listen({ host: '127.0.0.1', port: 0 });
  let out = '';
  try {
    const code = await runProxy(['--listen', '127.0.0.1:0', '--upstream', `127.0.0.1:${stationPort}`, '--policy', 'p.yaml', ...flags], {
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: () => true },
      readText: () => POLICY,
      stopped: async (p) => {
        const master = new ControllingStation({ connector: tcpConnector('127.0.0.1', p.port), reconnect: false, requestTimeout: 5000 });
        await master.connect();
        for (let k = 0; k < 3; k++) await master.interrogation(1);
        await during?.(() => out);
        await master.close();
      },
    });
    assert.equal(code, 0);
  } finally {
    await station.close();
  }
  return out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Rec);
}

test('proxy CLI: repeated alerts of one rule on one connection are one alert and one alert-aggregate record (count 3) by default, the unknown master is an incident; --no-aggregate writes all three', async () => {
  const agg = await proxyRun([]);
  const notAllowed = agg.filter((r) => r.rule === 'policy.command-not-allowed');
  assert.deepEqual(notAllowed.map((r) => [r.kind, r.count]), [['alert', undefined], ['alert-aggregate', 3]], JSON.stringify(agg));
  // the unknown master's alerts across rules are one incident, written when the proxy stops
  const incidents = agg.filter((r) => r.kind === 'incident');
  assert.deepEqual(incidents.map((r) => [r.sources, r.order]), [[['127.0.0.1'], ['access', 'collection']]], JSON.stringify(agg));
  const every = await proxyRun(['--no-aggregate']);
  assert.deepEqual(every.filter((r) => r.rule === 'policy.command-not-allowed').map((r) => r.kind), ['alert', 'alert', 'alert']);
  assert.equal(every.filter((r) => r.kind === 'alert-aggregate').length, 0);
});

test('proxy CLI: a short --aggregate-window closes while the proxy runs (the record is written before the stop)', async () => {
  const recs = await proxyRun(['--aggregate-window', '200ms'], async (out) => {
    const end = Date.now() + 8000;
    while (!out().includes('"kind":"alert-aggregate"') && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    assert.match(out(), /"kind":"alert-aggregate","rule":"policy.command-not-allowed"/);
  });
  assert.ok(recs.some((r) => r.kind === 'alert-aggregate'));
});

test('proxy arguments: --aggregate-window takes a duration, --no-aggregate turns it off', () => {
  const base = ['--listen', '2404', '--upstream', 'rtu'];
  assert.equal((parseProxyArgs(base) as { aggregateMs?: number }).aggregateMs, 60000);
  assert.equal((parseProxyArgs([...base, '--aggregate-window', '5min']) as { aggregateMs?: number }).aggregateMs, 300000);
  assert.equal((parseProxyArgs([...base, '--no-aggregate']) as { aggregateMs?: number }).aggregateMs, undefined);
  assert.match(String(parseProxyArgs([...base, '--aggregate-window', 'soon'])), /--aggregate-window needs a duration/);
});
