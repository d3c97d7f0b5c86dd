/**
 * Prometheus `/metrics` (text exposition format 0.0.4) on analyze, serve, connect and proxy:
 * the format itself (HELP / TYPE, label escaping), and for each command counters that agree with
 * what the command reports elsewhere (analyze's JSON summary; the master's and the station's view
 * of the same connection; the proxy's forwarded ASDUs and alerts).
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { runAnalyze } from '../../src/cli/analyze.js';
import { runConnect } from '../../src/cli/connect.js';
import { runProxy } from '../../src/cli/proxy.js';
import { runServe } from '../../src/cli/serve.js';
import { METRICS_CONTENT_TYPE, MetricsRegistry, MetricsServer, parseMetricsAddress } from '../../src/outputs/metrics.js';
import { readCapture } from '../helpers/captures.js';

/** Parse the exposition text: `name{labels}` → value; checks every sample has HELP and TYPE. */
function parseExposition(text: string): Map<string, number> {
  const out = new Map<string, number>();
  const typed = new Set<string>();
  const helped = new Set<string>();
  assert.ok(text.endsWith('\n'));
  for (const line of text.trimEnd().split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^# HELP ([a-zA-Z_:][\w:]*) .+$/.exec(line))) helped.add(m[1]);
    else if ((m = /^# TYPE ([a-zA-Z_:][\w:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line))) typed.add(m[1]);
    else if ((m = /^([a-zA-Z_:][\w:]*)(\{(?:[a-zA-Z_]\w*="(?:[^"\\\n]|\\["\\n])*",?)*\})? (-?[\d.e+]+|NaN|[+-]Inf)$/.exec(line))) {
      assert.ok(typed.has(m[1]) && helped.has(m[1]), `${m[1]} has no TYPE/HELP before its sample`);
      out.set(m[1] + (m[2] ?? ''), Number(m[3]));
    } else assert.fail(`not exposition format: ${line}`);
  }
  return out;
}

async function scrape(url: string): Promise<Map<string, number>> {
  const r = await fetch(url);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), METRICS_CONTENT_TYPE);
  return parseExposition(await r.text());
}

const sum = (m: Map<string, number>, prefix: string): number => [...m].filter(([k]) => k.startsWith(prefix)).reduce((n, [, v]) => n + v, 0);

test('registry: exposition format 0.0.4, label escaping, counters and computed gauges', async () => {
  const reg = new MetricsRegistry();
  reg.counter('x_total', 'a counter\nwith a line break');
  reg.inc('x_total', { rule: 'a"b\\c\nd' });
  reg.inc('x_total', { rule: 'a"b\\c\nd' }, 2);
  reg.collect('y', 'computed', 'gauge', () => [{ labels: { k: 'v' }, value: 1.5 }]);
  const text = reg.render();
  assert.equal(text, '# HELP x_total a counter\\nwith a line break\n# TYPE x_total counter\nx_total{rule="a\\"b\\\\c\\nd"} 3\n# HELP y computed\n# TYPE y gauge\ny{k="v"} 1.5\n');
  parseExposition(text);
  assert.throws(() => reg.inc('nope'), /not declared/);
  assert.deepEqual(parseMetricsAddress('9464'), { host: '0.0.0.0', port: 9464 });
  assert.deepEqual(parseMetricsAddress('[::1]:0'), { host: '::1', port: 0 });
  assert.equal(typeof parseMetricsAddress('x:'), 'string');
  const s = await MetricsServer.listen(reg, { host: '127.0.0.1', port: 0 });
  try {
    assert.equal((await fetch(`http://127.0.0.1:${s.address.port}/other`)).status, 404);
    assert.equal((await fetch(`http://127.0.0.1:${s.address.port}/metrics`, { method: 'POST' })).status, 405);
    assert.equal((await scrape(`http://127.0.0.1:${s.address.port}/metrics`)).get('x_total{rule="a\\"b\\\\c\\nd"}'), 3);
  } finally {
    await s.close();
  }
});

test('analyze --metrics: APDUs, alerts by rule and severity, commands by outcome agree with the summary', async () => {
  const cap = readCapture('fkie_epf_iec104.pcap');
  let url = '';
  let release!: () => void;
  const scraped = new Promise<void>((r) => (release = r));
  let metrics: Map<string, number> | undefined;
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  let err = '';
  const code = await runAnalyze(['cap.pcap', '--json', '--metrics', '127.0.0.1:0'], {
    stdout,
    stderr: {
      write: (s: string) => {
        err += s;
        const m = /metrics at (http:\S+)/.exec(s);
        if (m) url = m[1];
      },
    },
    open: async function* () {
      yield cap;
      // the whole capture has been analysed: scrape while the command still runs
      metrics = await scrape(url);
      release();
      await scraped;
    },
  });
  assert.equal(code, 0, err);
  assert.ok(metrics);
  const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { kind?: string; rule?: string; severity?: string; capture?: { apdus: Record<string, number>; frames: number } });
  const summary = lines.at(-1)!;
  assert.equal(metrics.get('iec104_apdus_total{format="I"}'), summary.capture!.apdus.I);
  assert.equal(metrics.get('iec104_apdus_total{format="S"}'), summary.capture!.apdus.S);
  assert.equal(metrics.get('iec104_apdus_total{format="U"}'), summary.capture!.apdus.U);
  assert.equal(metrics.get('iec104_capture_bytes_total'), cap.length);
  assert.equal(metrics.get('iec104_frames_total'), summary.capture!.frames);
  assert.equal(metrics.get('iec104_flows{kind="iec104"}'), 1);
  const alerts = lines.filter((l) => l.kind === 'alert');
  assert.ok(alerts.length > 0);
  const byRule = new Map<string, number>();
  for (const a of alerts) byRule.set(`iec104_alerts_total{rule="${a.rule}",severity="${a.severity}"}`, (byRule.get(`iec104_alerts_total{rule="${a.rule}",severity="${a.severity}"}`) ?? 0) + 1);
  // alerts raised at the end of the capture (finish) are not in a mid-run scrape: at most those
  for (const [k, n] of byRule) assert.ok((metrics.get(k) ?? 0) <= n, k);
  assert.ok(sum(metrics, 'iec104_alerts_total') > 0);
  // the capture's commands 45–51 were confirmed: counted by outcome
  assert.ok(sum(metrics, 'iec104_commands_total{outcome="positive"') > 0, [...metrics.keys()].join('\n'));
  assert.match(err, /metrics at http:\/\/127\.0\.0\.1:\d+\/metrics/);
});

test('serve, connect and proxy --metrics: the same connection counted on each side', { timeout: 60_000 }, async () => {
  const ac = new AbortController();
  let stationPort = 0;
  let serveErr = '';
  let serveUrl = '';
  const listening = new Promise<void>((resolve) => {
    void runServe(['--host', '127.0.0.1', '--port', '0', '--no-simulate', '--log-level', 'error', '--metrics', '127.0.0.1:0'], {
      stdout: { write: () => true },
      stderr: {
        write: (s: string) => {
          serveErr += s;
          const m = /metrics at (http:\S+)/.exec(s);
          if (m) serveUrl = m[1];
          return true;
        },
      },
      signal: ac.signal,
      onListening: (l) => {
        stationPort = l[0].port;
        resolve();
      },
    });
  });
  await listening;
  assert.ok(serveUrl, serveErr);

  // the proxy in front of the station
  let proxyErr = '';
  let proxyPort = 0;
  let stopProxy!: () => void;
  let proxyReady!: () => void;
  const proxyUp = new Promise<void>((r) => (proxyReady = r));
  const proxyDone = runProxy(['--listen', '127.0.0.1:0', '--upstream', `127.0.0.1:${stationPort}`, '--metrics', '127.0.0.1:0'], {
    stdout: { write: () => true },
    stderr: { write: (s: string) => (proxyErr += s) },
    stopped: (p) => {
      proxyPort = p.port;
      proxyReady();
      return new Promise<void>((r) => (stopProxy = r));
    },
  });
  await proxyUp;
  const proxyUrl = /metrics at (http:\S+)/.exec(proxyErr)![1];

  // connect through the proxy, scrape its own metrics while connected
  let connectErr = '';
  let connectUrl = '';
  let connectMetrics: Map<string, number> | undefined;
  const cac = new AbortController();
  const connectDone = runConnect([`127.0.0.1:${proxyPort}`, '--ca', '1', '--lines', '--metrics', '127.0.0.1:0'], {
    stdout: { write: () => true },
    stderr: {
      write: (s: string) => {
        connectErr += s;
        const m = /metrics at (http:\S+)/.exec(s);
        if (m) connectUrl = m[1];
        if (/interrogation terminated/.test(s)) {
          void (async () => {
            await new Promise((r) => setTimeout(r, 200)); // let the last S-frame go
            connectMetrics = await scrape(connectUrl);
            cac.abort();
          })();
        }
        return true;
      },
    },
    isTTY: false,
    signal: cac.signal,
  });
  assert.equal(await connectDone, 0, connectErr);
  assert.ok(connectMetrics, connectErr);
  const st = await scrape(serveUrl);
  const px = await scrape(proxyUrl);
  stopProxy();
  assert.equal(await proxyDone, 0, proxyErr);
  ac.abort();

  const mIn = connectMetrics.get('iec104_apdus_total{direction="in",format="I"}')!;
  const sOut = st.get('iec104_apdus_total{direction="out",format="I"}')!;
  assert.ok(mIn >= 3, `master received ${mIn} I-frames`);
  assert.equal(mIn, sOut, 'the station sent what the master received');
  assert.equal(connectMetrics.get('iec104_apdus_total{direction="out",format="I"}'), st.get('iec104_apdus_total{direction="in",format="I"}'));
  assert.ok(connectMetrics.get('iec104_bytes_total{direction="in"}')! > 0);
  assert.equal(connectMetrics.get('iec104_commands_total{outcome="confirmed"}'), 1); // the interrogation
  assert.equal(connectMetrics.get('iec104_connections{state="started"}'), 1);
  assert.equal(st.get('iec104_connections_accepted_total'), 1);
  // the proxy forwarded every ASDU of both directions
  assert.equal(px.get('iec104_asdus_total{direction="to_master"}'), sOut);
  assert.equal(px.get('iec104_asdus_total{direction="to_station"}'), st.get('iec104_apdus_total{direction="in",format="I"}'));
  assert.equal(px.get('iec104_connections_accepted_total'), 1);
});
