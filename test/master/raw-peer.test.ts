/**
 * Our master against a scripted raw peer over loopback (CI stand-in for lib60870-based stations,
 * see test/interop/lib60870-gi.interop.ts for the real one): the peer writes exact bytes.
 *
 * - It ends the general interrogation with an ACT_TERM of type ID 0 and no object, as stations
 *   built on lib60870 do: `iec104 connect` completes the interrogation at once (CONFORMANCE M50).
 * - It sends its answers in one burst of many I-frames: the master acknowledges at the latest
 *   after w frames (L11), both in `connect` and in `command` (a capture of `iec104 command` had
 *   shown 12 I-frames acknowledged at once with w = 8).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Socket, createServer } from 'node:net';
import { encodeUFrame } from '../../src/codec/apci.js';
import { decodeApdu, encodeIFrame } from '../../src/codec/apdu.js';
import type { Asdu } from '../../src/codec/asdu.js';
import { runConnect } from '../../src/cli/connect.js';
import { EXIT, runCommandSend } from '../../src/cli/command-send.js';

function sink(): { text: string; write(s: string): void } {
  return {
    text: '',
    write(s: string) {
      this.text += s;
    },
  };
}

const m = (typeId: number, cot: number, ca: number, objects: Asdu['objects']): Asdu => ({ typeId, sq: false, cot, negative: false, test: false, originator: 0, ca, objects });

/** What the peer saw from the master: N(R) of every S- and I-frame, in order, with the count of I-frames the peer had sent by then. */
interface Seen {
  acks: Array<{ nr: number; sent: number }>;
  asdus: Asdu[];
}

/**
 * A raw peer: STARTDT con; every received I-frame goes to `answer`, whose frames (ASDUs, or raw
 * APDU octets) are written in ONE socket write.
 */
async function rawPeer(answer: (a: Asdu) => Array<Asdu | ((ns: number, nr: number) => Uint8Array)>): Promise<{ port: number; seen: Seen; close(): Promise<void> }> {
  const seen: Seen = { acks: [], asdus: [] };
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    sockets.add(sock);
    let buf = Buffer.alloc(0);
    let vs = 0;
    let vr = 0;
    sock.on('error', () => {});
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= buf[1] + 2) {
        const frame = buf.subarray(0, buf[1] + 2);
        buf = buf.subarray(buf[1] + 2);
        const r = decodeApdu(frame);
        if (!r.ok) throw new Error(`master sent a malformed APDU: ${r.error.message}`);
        const apci = r.value.apci;
        if (apci.format === 'U') {
          if (apci.uFunction === 'STARTDT_ACT') sock.write(encodeUFrame('STARTDT_CON'));
          if (apci.uFunction === 'TESTFR_ACT') sock.write(encodeUFrame('TESTFR_CON'));
          continue;
        }
        seen.acks.push({ nr: apci.recvSeq, sent: vs });
        if (apci.format === 'S') continue;
        vr = (vr + 1) & 0x7fff;
        const a = r.value.asdu as Asdu;
        seen.asdus.push(a);
        const out = answer(a).map((x) => {
          const f = typeof x === 'function' ? x(vs, vr) : encodeIFrame(vs, vr, x);
          vs = (vs + 1) & 0x7fff;
          return f;
        });
        if (out.length) sock.write(Buffer.concat(out));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    seen,
    // the master ends its side when it closes: wait for that (every byte it sent read) first
    close: async () => {
      await Promise.all([...sockets].map((s) => (s.readableEnded || s.destroyed ? undefined : new Promise<void>((r) => {
        const t = setTimeout(r, 5_000);
        s.once('end', () => {
          clearTimeout(t);
          r();
        });
        s.once('close', () => {
          clearTimeout(t);
          r();
        });
      }))));
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** An ACT_TERM of type ID 0, VSQ 0, cause 10, originator 0, common address `ca`: no object. */
const typeZeroTerm = (ca: number) => (ns: number, nr: number): Uint8Array => {
  return Uint8Array.of(0x68, 10, (ns << 1) & 0xfe, (ns >> 7) & 0xff, (nr << 1) & 0xfe, (nr >> 7) & 0xff, 0, 0, 10, 0, ca & 0xff, ca >> 8);
};

/** No more than w I-frames of the peer were ever unacknowledged by the master. */
function assertAckedByW(seen: Seen, w: number, total: number): void {
  let acked = 0;
  for (const { nr } of seen.acks) {
    assert.ok(nr - acked <= w, `one acknowledgement covered ${nr - acked} I-frames (w = ${w}): ${JSON.stringify(seen.acks)}`);
    acked = Math.max(acked, nr);
  }
  assert.ok(total - acked < w, `at most w - 1 left unacknowledged at the end (${total - acked}): ${JSON.stringify(seen.acks)}`);
}

test('iec104 connect: a GI ended by a type-0 ACT_TERM completes at once; 34 I-frames in one write are acknowledged by w = 8', async () => {
  const peer = await rawPeer((a) => {
    if (a.typeId !== 100) return [];
    const data = Array.from({ length: 32 }, (_, i) => m(1, 20, 1, [{ ioa: 100 + i, value: i % 2 === 0 }]));
    return [{ ...a, cot: 7 }, ...data, typeZeroTerm(1)];
  });
  const out = sink();
  const err = sink();
  const ac = new AbortController();
  const started = Date.now();
  const p = runConnect([`127.0.0.1:${peer.port}`, '--ca', '1', '--json', '--timeout', '20000', '--log-level', 'warn'], { stdout: out, stderr: err, isTTY: false, signal: ac.signal });
  try {
    for (let i = 0; i < 400 && !out.text.includes('"kind":"interrogation"'); i++) await new Promise((r) => setTimeout(r, 25));
    ac.abort();
    assert.equal(await p, 0, err.text);
  } finally {
    ac.abort();
    await peer.close();
  }
  const recs = out.text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const gi = recs.find((r) => r.kind === 'interrogation')!;
  assert.equal(gi.outcome, 'terminated');
  assert.equal(gi.objects, 32);
  assert.ok(Date.now() - started < 15_000, 'not the 20 s termination time-out');
  assert.deepEqual(recs.find((r) => r.kind === 'termination'), { ...recs.find((r) => r.kind === 'termination'), typeId: 0, cot: 10, ca: 1, positive: true });
  assert.match(err.text, /master\.type0_termination/);
  assertAckedByW(peer.seen, 8, 34);
});

test('iec104 command: spontaneous bursts around the ACT_CON are acknowledged by w = 8, never 12 at once', async () => {
  const peer = await rawPeer((a) => {
    if (a.typeId !== 45) return [];
    const burst = Array.from({ length: 12 }, (_, i) => m(13, 3, 1, [{ ioa: 2000 + i, value: i + 0.5, quality: { iv: false, nt: false, sb: false, bl: false, ov: false } }]));
    return [...burst, { ...a, cot: 7 }, ...burst, { ...a, cot: 10 }];
  });
  const out = sink();
  try {
    const code = await runCommandSend([`127.0.0.1:${peer.port}`, '--ca', '1', '--ioa', '5000', '--single', 'on', '--until', 'actterm', '--timeout', '5000'], { stdout: out, stderr: sink() });
    assert.equal(code, EXIT.POSITIVE);
  } finally {
    await peer.close();
  }
  assertAckedByW(peer.seen, 8, 26);
});
