/**
 * Prometheus metrics of the running commands (`--metrics` of serve, connect and proxy), computed
 * at scrape time from what the station, the controlling station(s) and the proxy already count.
 * Names and labels are shared with `analyze` where the meaning is the same
 * (`iec104_apdus_total`, `iec104_bytes_total`, `iec104_alerts_total`, `iec104_commands_total`).
 *
 * Link counters belong to one connection; so that the exposed counters never go down, the last
 * values seen of a connection that has gone are kept in a running total (what a connection sent
 * between the last scrape and its end is counted when the station still lists it, else lost).
 */
import type { ControllingStation } from '../master/master.js';
import type { RunningProxy } from '../monitor/proxy.js';
import type { Alert } from '../monitor/types.js';
import type { ControlledStation } from '../station/station.js';
import type { LinkSnapshot } from '../link/types.js';
import type { MetricsRegistry } from './metrics.js';

type Row = { labels?: Record<string, string>; value: number };
type LinkCounters = LinkSnapshot['counters'];

const ZERO: LinkCounters = { iIn: 0, iOut: 0, sIn: 0, sOut: 0, uIn: 0, uOut: 0, bytesIn: 0, bytesOut: 0 };

/** Sums link counters over connections that come and go, never decreasing. */
export class LinkTotals {
  private gone: LinkCounters = { ...ZERO };
  private last = new Map<string | number, LinkCounters>();

  /** Fold in the current connections' counters; returns the totals. */
  update(current: ReadonlyArray<{ id: string | number; counters: LinkCounters }>): LinkCounters {
    const seen = new Set<string | number>();
    for (const c of current) {
      seen.add(c.id);
      this.last.set(c.id, { ...c.counters });
    }
    for (const [id, c] of this.last) {
      if (seen.has(id)) continue;
      for (const k of Object.keys(ZERO) as Array<keyof LinkCounters>) this.gone[k] += c[k];
      this.last.delete(id);
    }
    const t = { ...this.gone };
    for (const c of this.last.values()) for (const k of Object.keys(ZERO) as Array<keyof LinkCounters>) t[k] += c[k];
    return t;
  }
}

function apduRows(t: LinkCounters): Row[] {
  return [
    { labels: { direction: 'in', format: 'I' }, value: t.iIn },
    { labels: { direction: 'out', format: 'I' }, value: t.iOut },
    { labels: { direction: 'in', format: 'S' }, value: t.sIn },
    { labels: { direction: 'out', format: 'S' }, value: t.sOut },
    { labels: { direction: 'in', format: 'U' }, value: t.uIn },
    { labels: { direction: 'out', format: 'U' }, value: t.uOut },
  ];
}

function byteRows(t: LinkCounters): Row[] {
  return [
    { labels: { direction: 'in' }, value: t.bytesIn },
    { labels: { direction: 'out' }, value: t.bytesOut },
  ];
}

/** Metrics of a controlled station (`iec104 serve --metrics`). */
export function stationMetrics(m: MetricsRegistry, station: ControlledStation): void {
  const totals = new LinkTotals();
  // session command counters die with the session: summed the same way as the link counters
  const cmdTotals = new LinkTotals();
  let cache: { t: LinkCounters; cmds: Row[] } | undefined;
  const refresh = (): { t: LinkCounters; cmds: Row[] } => {
    const st = station.stats();
    const t = totals.update(st.sessions.map((s) => ({ id: s.id, counters: s.link.counters })));
    const c = cmdTotals.update(st.sessions.map((s) => ({ id: s.id, counters: { ...ZERO, iIn: s.counters.commands, iOut: s.counters.commandsRejected, sIn: s.counters.negative } })));
    cache = {
      t,
      cmds: [
        { labels: { outcome: 'received' }, value: c.iIn },
        { labels: { outcome: 'rejected' }, value: c.iOut },
        { labels: { outcome: 'negative' }, value: c.sIn },
      ],
    };
    return cache;
  };
  m.collect('iec104_apdus_total', 'APDUs exchanged with the masters, by direction and APCI format', 'counter', () => apduRows(refresh().t));
  m.collect('iec104_bytes_total', 'Octets exchanged with the masters, by direction', 'counter', () => byteRows((cache ?? refresh()).t));
  m.collect('iec104_commands_total', 'Commands received; rejected (access rules, select, unknown object); negative confirmations sent', 'counter', () => (cache ?? refresh()).cmds);
  m.collect('iec104_connections', 'Open connections', 'gauge', () => station.sessions().length);
  m.collect('iec104_connections_accepted_total', 'Connections accepted since start', 'counter', () => station.stats().connectionsAccepted);
  m.collect('iec104_events_queued', 'Events waiting or in flight (not yet acknowledged), by state', 'gauge', () => {
    const q = station.stats().queue;
    return [
      { labels: { state: 'pending' }, value: q.pending },
      { labels: { state: 'in_flight' }, value: q.inFlight },
    ];
  });
  m.collect('iec104_events_total', 'Events by what happened to them', 'counter', () => {
    const q = station.stats().queue;
    return [
      { labels: { stage: 'enqueued' }, value: q.enqueued },
      { labels: { stage: 'sent' }, value: q.sent },
      { labels: { stage: 'acknowledged' }, value: q.acknowledged },
    ];
  });
}

/** Metrics of controlling stations (`iec104 connect --metrics`; one or the members of a group). */
export function masterMetrics(m: MetricsRegistry, masters: readonly ControllingStation[]): void {
  const totals = masters.map(() => new LinkTotals());
  const ids = masters.map(() => 0);
  const link = (): LinkCounters => {
    const t = { ...ZERO };
    masters.forEach((ms, i) => {
      const s = ms.snapshot();
      // a new link object after a reconnect starts from zero: count it as another connection
      if (s.link && s.link.counters.bytesIn + s.link.counters.bytesOut < lastBytes[i]) ids[i]++;
      lastBytes[i] = s.link ? s.link.counters.bytesIn + s.link.counters.bytesOut : 0;
      const u = totals[i].update(s.link ? [{ id: ids[i], counters: s.link.counters }] : []);
      for (const k of Object.keys(ZERO) as Array<keyof LinkCounters>) t[k] += u[k];
    });
    return t;
  };
  const lastBytes = masters.map(() => 0);
  let cache: LinkCounters | undefined;
  m.collect('iec104_apdus_total', 'APDUs exchanged with the station(s), by direction and APCI format', 'counter', () => apduRows((cache = link())));
  m.collect('iec104_bytes_total', 'Octets exchanged with the station(s), by direction', 'counter', () => byteRows(cache ?? link()));
  m.collect('iec104_commands_total', 'Requests (commands, interrogations, reads) by outcome', 'counter', () => {
    const sum = { confirmed: 0, negative: 0, timeout: 0, refused: 0, lost: 0, terminated: 0 };
    for (const ms of masters) {
      const c = ms.counters;
      sum.confirmed += c.confirmations;
      sum.negative += c.negatives;
      sum.timeout += c.timeouts;
      sum.refused += c.refused;
      sum.lost += c.lost;
      sum.terminated += c.terminations;
    }
    return Object.entries(sum).map(([outcome, value]) => ({ labels: { outcome }, value }));
  });
  m.collect('iec104_connections', 'Connections by state (started = data transfer on)', 'gauge', () => {
    const k: Record<string, number> = { started: 0, connected: 0, connecting: 0 };
    for (const ms of masters) if (ms.state in k) k[ms.state]++;
    return Object.entries(k).map(([state, value]) => ({ labels: { state }, value }));
  });
}

/** Metrics of the proxy (`iec104 proxy --metrics`); `alert` counts each alert it writes. */
export function proxyMetrics(m: MetricsRegistry, proxy: () => RunningProxy | undefined): { alert(a: Alert): void } {
  m.counter('iec104_alerts_total', 'Alerts raised, by rule and severity');
  m.collect('iec104_asdus_total', 'ASDUs forwarded, by direction', 'counter', () => {
    const s = proxy()?.stats;
    return [
      { labels: { direction: 'to_station' }, value: s?.toStation ?? 0 },
      { labels: { direction: 'to_master' }, value: s?.toMaster ?? 0 },
    ];
  });
  m.collect('iec104_commands_total', 'Commands by outcome at the proxy (blocked by the policy)', 'counter', () => [{ labels: { outcome: 'blocked' }, value: proxy()?.stats.blocked ?? 0 }]);
  m.collect('iec104_flows', 'Open proxied connections', 'gauge', () => proxy()?.stats.open ?? 0);
  m.collect('iec104_connections_accepted_total', 'Connections accepted since start', 'counter', () => proxy()?.stats.connections ?? 0);
  m.collect('iec104_connections_refused_total', 'Connections refused or closed for security reasons (TLS, limits, no STARTDT)', 'counter', () => proxy()?.stats.refused ?? 0);
  m.collect('iec104_paused_total', 'Times a source was paused because the other leg was full', 'counter', () => proxy()?.stats.paused ?? 0);
  return { alert: (a) => m.inc('iec104_alerts_total', { rule: a.rule, severity: a.severity }) };
}
