/**
 * What the capture page shows: a capture analysed once by the library (CaptureAnalyzer feeding the
 * monitor's Detector, as `iec104 analyze` does) and kept as JSON-ready data — inventory, commands
 * with outcomes and latencies, alerts, and the APDUs (their octets, so a click can explain one).
 */
import { type AnalyzeOptions, type AnalyzeSummary, CaptureAnalyzer } from '../capture/analyze.js';
import type { CaptureIssue } from '../capture/issues.js';
import { octetsToHex } from '../codec/explain.js';
import { cotShortName } from '../codec/cause.js';
import { typeName } from '../codec/type-table.js';
import type { CommandRecord, CommandStats } from '../monitor/commands.js';
import { Detector, type DetectorOptions } from '../monitor/detector.js';
import { observedFromRecord } from '../monitor/from-capture.js';
import { type Incident, IncidentCorrelator } from '../monitor/incidents.js';
import type { InventorySummary } from '../monitor/inventory.js';
import type { Alert } from '../monitor/types.js';

/** One APDU of the capture, as listed on the capture page. */
export interface CaptureApduRow {
  /** Index in the list (0-based): `/api/capture/apdus/INDEX` explains it. */
  index: number;
  frame: number;
  ts: string;
  src: string;
  dst: string;
  direction: string;
  flow: number;
  /** One-line summary (`I C_SC_NA_1 act CA=1 IOA=5031`, `U STARTDT_ACT`, `error E_…`). */
  summary: string;
}

/** A capture analysed for the capture page. */
export interface CaptureView {
  /** File name shown in the title. */
  name: string;
  summary: AnalyzeSummary;
  inventory: InventorySummary;
  commands: CommandRecord[];
  commandStats: CommandStats[];
  alerts: Alert[];
  /** Alerts grouped by source or target across rules and flows, with their kill-chain phases (`GET /api/capture`). */
  incidents: Incident[];
  issues: CaptureIssue[];
  /** APDUs kept (at most `maxApdus`; `apdusTotal` counts all). */
  apdus: CaptureApduRow[];
  apdusTotal: number;
  /** Octets of each kept APDU, by index. */
  octets: Uint8Array[];
}

/** Options of {@link analyzeCaptureForView}. */
export interface CaptureViewOptions {
  /** Most APDUs kept for the list and the explainer (default 100000); the analysis covers all. */
  maxApdus?: number;
  detector?: DetectorOptions;
  analyze?: AnalyzeOptions;
}

/** Analyse a whole capture (pcap or pcapng octets) for the capture page. */
export function analyzeCaptureForView(name: string, bytes: Uint8Array, opts: CaptureViewOptions = {}): CaptureView {
  const max = opts.maxApdus ?? 100000;
  const det = new Detector(opts.detector ?? {});
  const alerts: Alert[] = [];
  const issues: CaptureIssue[] = [];
  const commands: CommandRecord[] = [];
  const apdus: CaptureApduRow[] = [];
  const octets: Uint8Array[] = [];
  let total = 0;
  const an = new CaptureAnalyzer(
    {
      record: (r, raw) => {
        total++;
        if (apdus.length < max) {
          let summary: string;
          const a = r.apdu;
          if (!a) summary = `error ${r.error?.code ?? ''}: ${r.error?.message ?? ''}`;
          else if (a.apci.format === 'I' && a.asdu) {
            const first = a.asdu.objects[0];
            summary = `I ${typeName(a.asdu.typeId)} ${cotShortName(a.asdu.cot)}${a.asdu.negative ? ' neg' : ''} CA=${a.asdu.ca}` +
              (first ? ` IOA=${first.ioa}${a.asdu.objects.length > 1 ? ` (+${a.asdu.objects.length - 1})` : ''}` : '');
          } else if (a.apci.format === 'S') summary = `S N(R)=${a.apci.recvSeq}`;
          else summary = `U ${a.apci.format === 'U' ? a.apci.uFunction : ''}`;
          apdus.push({ index: apdus.length, frame: r.frame, ts: r.ts, src: r.src, dst: r.dst, direction: r.direction ?? '', flow: r.flow, summary });
          octets.push(Uint8Array.from(raw));
        }
        for (const x of det.observe(observedFromRecord(r, raw))) alerts.push(x);
        for (const c of det.takeCommands()) commands.push(c);
      },
      flowEnd: (f) => det.closeFlow(String(f.index)),
      streamAnomaly: (a) => {
        for (const x of det.streamAnomaly({ ...a, ts: a.tsMs, flow: String(a.flow) })) alerts.push(x);
      },
      issue: (i) => issues.push(i),
    },
    opts.analyze ?? {},
  );
  an.push(bytes);
  an.end();
  for (const a of det.finish()) alerts.push(a); // (loops: a capture may raise any number)
  for (const c of det.takeCommands()) commands.push(c);
  const correlator = new IncidentCorrelator();
  const incidents = [...correlator.push(alerts), ...correlator.flush()];
  return { name, summary: an.summary(), inventory: det.inventory(), commands, commandStats: det.commandStatistics(), alerts, incidents, issues, apdus, apdusTotal: total, octets };
}

/** Hex of one kept APDU, or undefined for an index out of range. */
export function captureApduHex(v: CaptureView, index: number): string | undefined {
  const o = v.octets[index];
  return o ? octetsToHex(o) : undefined;
}
