/**
 * The enforcing proxy against a hostile master (issue 11, item 3), over loopback sockets: forbidden
 * commands are blocked whatever their cause of transmission (a lenient RTU would act on cause 3 or
 * 20), odd causes are alerted, and a NaN or infinite set-point never satisfies a value range.
 * The master here is a raw socket that writes exactly the APDUs the test wants.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { ApduSplitter, decodeApdu, encodeApdu, encodeUFrame, type Asdu } from '../../src/codec/index.js';
import { createStation, type StationCommand } from '../../src/station/index.js';
import { startProxy } from '../../src/monitor/proxy.js';
import { parsePolicy } from '../../src/monitor/policy.js';
import type { Alert } from '../../src/monitor/types.js';
import { STATION } from './engine-capture.js';

const POLICY = parsePolicy(`
version: 1
masters:
  - name: local
    addresses: [127.0.0.1, "::1"]
    allow:
      - types: [C_SE_NC_1]
        ioa: 6001
        value: { min: 0, max: 100 }
      - types: [system]
`);

/** A raw master: STARTDT, then I-frames with the causes and values the test chooses. */
class RawMaster {
  private readonly sock: net.Socket;
  private readonly got: Asdu[] = [];
  private started = false;
  private vs = 0;
  private vr = 0;
  private waiters: Array<() => void> = [];
  constructor(port: number) {
    this.sock = net.connect(port, '127.0.0.1');
    const sp = new ApduSplitter({
      frame: (f) => {
        const r = decodeApdu(f);
        if (!r.ok) return;
        const a = r.value;
        if (a.apci.format === 'U' && a.apci.uFunction === 'STARTDT_CON') this.started = true;
        if (a.apci.format === 'I' && a.asdu) {
          this.vr = (this.vr + 1) & 0x7fff;
          this.got.push(a.asdu);
          this.sock.write(encodeApdu({ apci: { format: 'S', recvSeq: this.vr } }));
        }
        for (const w of this.waiters.splice(0)) w();
      },
    });
    this.sock.on('data', (d) => sp.push(d));
  }
  private async until(cond: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 3000;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }
  async start(): Promise<void> {
    await new Promise<void>((r) => this.sock.once('connect', () => r()));
    this.sock.write(encodeUFrame('STARTDT_ACT'));
    await this.until(() => this.started, 'STARTDT con');
  }
  /** Send one command; resolves with the first answer about that IOA. */
  async command(typeId: number, cot: number, ioa: number, object: Record<string, unknown>): Promise<Asdu> {
    const asdu = { typeId, sq: false, cot, negative: false, test: false, originator: 0, ca: 1, objects: [{ ioa, ...object }] } as Asdu;
    this.sock.write(encodeApdu({ apci: { format: 'I', sendSeq: this.vs, recvSeq: this.vr }, asdu }));
    this.vs = (this.vs + 1) & 0x7fff;
    let found: Asdu | undefined;
    await this.until(() => (found = this.got.find((a) => a.typeId === typeId && a.objects[0]?.ioa === ioa)) !== undefined, `an answer to type ${typeId} IOA ${ioa}`);
    this.got.splice(this.got.indexOf(found!), 1);
    return found!;
  }
  close(): void {
    this.sock.destroy();
  }
}

async function lab(): Promise<{ seen: StationCommand[]; alerts: Alert[]; master: RawMaster; blocked: () => number; close: () => Promise<void> }> {
  const seen: StationCommand[] = [];
  const station = createStation({ ...STATION, onCommand: (cmd) => void seen.push(cmd) });
  const { port: stationPort } = await station.listen({ host: '127.0.0.1', port: 0 });
  const alerts: Alert[] = [];
  const proxy = await startProxy({ listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: stationPort }, policy: POLICY, enforce: true, onAlert: (a) => alerts.push(a) });
  const master = new RawMaster(proxy.port);
  await master.start();
  return {
    seen, alerts, master, blocked: () => proxy.stats.blocked,
    close: async () => {
      master.close();
      await proxy.close();
      await station.close();
    },
  };
}

test('proxy: a forbidden command is blocked whatever its cause; the odd cause is alerted and answered with cause 45', async () => {
  const l = await lab();
  try {
    for (const [i, cot] of [3, 20, 7, 10].entries()) {
      const ans = await l.master.command(45, cot, 5002, { value: true, select: false });
      assert.equal(ans.negative, true, `cause ${cot}: negative answer`);
      assert.equal(ans.cot, 45, `cause ${cot}: "unknown cause" from the proxy`);
      assert.equal(l.blocked(), i + 1);
    }
    assert.deepEqual(l.seen, [], 'no forbidden command reached the station');
    const rules = new Set(l.alerts.map((a) => a.rule));
    for (const r of ['policy.command-not-allowed', 'proxy.command-blocked', 'cmd.invalid-cause']) assert.ok(rules.has(r), `${r} in ${[...rules].join()}`);
    // act and deact keep their mirror causes
    const act = await l.master.command(45, 6, 5002, { value: true, select: false });
    assert.deepEqual([act.cot, act.negative], [7, true]);
    const deact = await l.master.command(45, 8, 5002, { value: true, select: false });
    assert.deepEqual([deact.cot, deact.negative], [9, true]);
    assert.deepEqual(l.seen, []);
  } finally {
    await l.close();
  }
});

test('proxy: NaN and infinite set-points never satisfy a value range; a value inside passes', async () => {
  const l = await lab();
  try {
    for (const v of [NaN, Infinity, -Infinity, 150]) {
      const ans = await l.master.command(50, 6, 6001, { value: v, ql: 0, select: false });
      assert.deepEqual([ans.cot, ans.negative], [7, true], `value ${v} refused by the proxy`);
    }
    assert.deepEqual(l.seen, [], 'no refused set-point reached the station');
    const out = l.alerts.filter((a) => a.rule === 'policy.value-out-of-range').map((a) => String(a.evidence.value ?? a.message));
    assert.equal(out.length, 4, out.join());
    const ok = await l.master.command(50, 6, 6001, { value: 42.5, ql: 0, select: false });
    assert.deepEqual([ok.cot, ok.negative], [7, false]);
    assert.deepEqual((l.seen as StationCommand[]).map((c) => c.ioa), [6001]);
  } finally {
    await l.close();
  }
});
