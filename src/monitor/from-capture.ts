/**
 * Adapter from the capture analyzer (`src/capture`) to the monitor: one capture {@link ApduRecord}
 * becomes one {@link ObservedApdu}, and a whole capture can be run through a {@link Detector}.
 */
import { type AnalyzeOptions, type AnalyzeSummary, type ApduRecord, CaptureAnalyzer } from '../capture/analyze.js';
import type { CaptureIssue } from '../capture/issues.js';
import { Detector, type DetectorOptions, type MonitorResult } from './detector.js';
import type { Alert, ObservedApdu } from './types.js';

const EMPTY = new Uint8Array(0);

/**
 * Turn a capture record into the monitor's input. `octets` are the APDU's bytes (the second
 * argument of the analyzer's `record` handler); they are referenced, not copied, so the
 * observation must be consumed during the handler (as {@link Detector.observe} does). The flow id
 * is the capture's flow index as text; `ts` is the frame time in epoch milliseconds.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { CaptureAnalyzer, SynthSession, writePcap, encodeUFrame, observedFromRecord, type ObservedApdu } from 'iec104';
 * const s = new SynthSession({ ip: '10.0.0.1', port: 50000 }, { ip: '10.0.0.2', port: 2404 }).handshake();
 * s.send('client', encodeUFrame('STARTDT_ACT'));
 * const seen: ObservedApdu[] = [];
 * const an = new CaptureAnalyzer({ record: (r, octets) => seen.push(observedFromRecord(r, octets.slice())) });
 * an.push(writePcap(s.packets));
 * an.end();
 * assert.equal(seen.length, 1);
 * assert.equal(seen[0].src, '10.0.0.1:50000');
 * assert.equal(seen[0].flow, '0');
 * assert.equal(seen[0].direction, 'master→station');
 * assert.equal(seen[0].raw.length, 6);
 * ```
 */
export function observedFromRecord(r: ApduRecord, octets?: Uint8Array): ObservedApdu {
  // the common case (a decoded APDU of a flow with known roles) as one literal: the same properties
  // in the same order as below, without growing the object twice
  if (r.direction && r.apdu && !r.error) {
    return { frame: r.frame, ts: r.tsMs, src: r.src, dst: r.dst, flow: String(r.flow), raw: octets ?? r.raw ?? EMPTY, direction: r.direction, apdu: r.apdu };
  }
  const o: ObservedApdu = { frame: r.frame, ts: r.tsMs, src: r.src, dst: r.dst, flow: String(r.flow), raw: octets ?? r.raw ?? EMPTY };
  if (r.direction) o.direction = r.direction;
  if (r.apdu) o.apdu = r.apdu;
  if (r.error) o.error = { code: r.error.code, offset: r.error.offset, field: r.error.field, message: r.error.message };
  return o;
}

/** What {@link monitorCapture} returns: the monitor's result plus the capture summary and problems. */
export interface CaptureMonitorResult extends MonitorResult {
  capture: AnalyzeSummary;
  issues: CaptureIssue[];
}

/**
 * Analyse a whole capture held in memory with a {@link Detector}: TCP reassembly, decoding, every
 * APDU observed in capture order, flows closed on FIN / RST, then `finish`.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { SynthSession, writePcap, encodeUFrame, monitorCapture } from 'iec104';
 * const s = new SynthSession({ ip: '10.0.0.1', port: 50000 }, { ip: '10.0.0.2', port: 2404 }).handshake();
 * s.send('client', encodeUFrame('STARTDT_ACT')).send('server', encodeUFrame('STARTDT_CON'));
 * const r = monitorCapture(writePcap(s.packets));
 * assert.deepEqual(r.alerts, []);
 * assert.deepEqual(r.inventory.masters.map((m) => m.host), ['10.0.0.1']);
 * assert.equal(r.capture.apdus.U, 2);
 * ```
 */
export function monitorCapture(bytes: Uint8Array, opts: DetectorOptions = {}, analyze: AnalyzeOptions = {}): CaptureMonitorResult {
  const det = new Detector(opts);
  const alerts: Alert[] = [];
  const issues: CaptureIssue[] = [];
  const commands: MonitorResult['commands'] = [];
  const an = new CaptureAnalyzer(
    {
      record: (r, octets) => {
        for (const a of det.observe(observedFromRecord(r, octets))) alerts.push(a);
        for (const c of det.takeCommands()) commands.push(c);
      },
      flowEnd: (f) => det.closeFlow(String(f.index)),
      streamAnomaly: (a) => {
        for (const x of det.streamAnomaly({ ...a, ts: a.tsMs, flow: String(a.flow) })) alerts.push(x);
      },
      issue: (i) => issues.push(i),
    },
    analyze,
  );
  an.push(bytes);
  an.end();
  for (const a of det.finish()) alerts.push(a);
  for (const c of det.takeCommands()) commands.push(c);
  return { alerts, commands, commandStats: det.commandStatistics(), inventory: det.inventory(), alertCounts: det.alertCounts(), capture: an.summary(), issues };
}
