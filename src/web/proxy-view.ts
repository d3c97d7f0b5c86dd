/**
 * The workbench's view of a running proxy: the points seen passing through (values of the
 * monitor-direction ASDUs from the RTU), the commands from the masters with the proxy's verdict
 * (forwarded or blocked, with the blocking rules), completed with the outcome and ACT_CON/ACT_TERM
 * latency the proxy's detector tracked. Composition only: the proxy decides and tracks.
 */
import type { JsonValue } from '../monitor/types.js';
import type { RunningProxy, ProxyTraffic } from '../monitor/proxy.js';
import { isMonitorData, toPointValues } from '../master/points.js';
import { typeName } from '../codec/type-table.js';
import { type CommandRow, type PointRow, rowFromPointValue } from './model.js';

/** Where the proxy view puts what it sees. */
export interface ProxyViewSink {
  /** A point row changed. */
  point(row: PointRow): void;
  /** A new command row (the sink numbers it). */
  command(row: Omit<CommandRow, 'id'>): CommandRow;
  /** A command row was updated in place. */
  commandUpdated(row: CommandRow): void;
}

/** A running proxy view: {@link ProxyView.poll} collects tracked command outcomes. */
export interface ProxyView {
  poll(): void;
  close(): void;
}

const jsonValue = (v: unknown): JsonValue => (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string' ? v : v === undefined ? null : (JSON.parse(JSON.stringify(v)) as JsonValue));

/** Follow `proxy` into `sink` (`name` gives the configured name of a point, if any). */
export function watchProxy(proxy: RunningProxy, sink: ProxyViewSink, now: () => number, name: (ca: number, ioa: number) => string = () => '', keep = 1000): ProxyView {
  // forwarded commands waiting for their tracked outcome, by flow, frame and IOA (bounded)
  const open = new Map<string, CommandRow>();
  const onTraffic = (t: ProxyTraffic): void => {
    const a = t.asdu;
    if (t.direction === 'station→master') {
      if (!isMonitorData(a)) return;
      const ts = now();
      for (const p of toPointValues(a, ts)) {
        const row = rowFromPointValue(p, ts, name(p.ca, p.ioa));
        row.source = 'proxy';
        sink.point(row);
      }
      return;
    }
    if (!t.verdict) return;
    for (const x of a.objects) {
      const o = x as unknown as Record<string, unknown>;
      const row = sink.command({
        ts: t.ts, ca: a.ca, ioa: x.ioa, typeId: a.typeId, type: typeName(a.typeId), value: jsonValue(o.value),
        step: typeof o.select === 'boolean' ? (o.select ? 'select' : 'execute') : 'direct',
        outcome: t.verdict, ...(t.rules?.length ? { reason: `blocked by ${t.rules.join(', ')}` } : {}), origin: 'proxy', peer: t.master,
      });
      if (t.verdict === 'forwarded') {
        open.set(`${t.flow}:${t.frame}:${x.ioa}`, row);
        if (open.size > keep) open.delete(open.keys().next().value as string);
      }
    }
  };
  const stop = proxy.onTraffic(onTraffic);
  return {
    poll() {
      for (const r of proxy.takeCommands()) {
        const key = `${r.flow}:${r.frame}:${r.ioa}`;
        const row = open.get(key);
        if (!row) continue;
        open.delete(key);
        row.outcome = r.outcome;
        if (r.negativeCause) row.reason = r.negativeCause;
        if (r.conLatencyMs !== undefined) row.actConMs = r.conLatencyMs;
        if (r.termLatencyMs !== undefined) row.actTermMs = r.termLatencyMs;
        sink.commandUpdated(row);
      }
    },
    close: stop,
  };
}
