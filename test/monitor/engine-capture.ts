/**
 * Captures of the real engine: our controlled station and controlling station talk over loopback
 * through a recording TCP relay; every chunk each side wrote is kept with its time and written to
 * a pcap, each connection relabelled with the addresses the scenario claims (so one loopback run
 * can show several masters and stations).
 */
import net from 'node:net';
import { ControllingStation } from '../../src/master/master.js';
import { tcpConnector } from '../../src/master/tcp.js';
import { createStation, type ControlledStation, type StationOptions } from '../../src/station/station.js';
import { TCP_ACK, TCP_FIN, TCP_SYN } from '../../src/capture/packet.js';
import { buildTcpPacket, type PacketToWrite, writePcap } from '../../src/capture/writer.js';
import { parsePolicy } from '../../src/monitor/policy.js';

interface Chunk {
  t: number;
  fromClient: boolean;
  bytes: Uint8Array;
  fin?: boolean;
  syn?: boolean;
}

interface Conn {
  client: { ip: string; port: number };
  server: { ip: string; port: number };
  chunks: Chunk[];
}

/** Monotonic wall clock in µs (distinct values for consecutive events). */
let lastUs = 0;
function nowUs(): number {
  const t = Math.round((performance.timeOrigin + performance.now()) * 1000);
  lastUs = t > lastUs ? t : lastUs + 1;
  return lastUs;
}

/** A recording relay in front of a station. */
export class Recorder {
  private server!: net.Server;
  readonly conns: Conn[] = [];
  port = 0;
  /** Addresses the next accepted connection is labelled with. */
  next: { client: { ip: string; port: number }; server: { ip: string; port: number } } = { client: { ip: '10.0.0.1', port: 40001 }, server: { ip: '10.0.0.2', port: 2404 } };
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly upstreamPort: number) {}

  async start(): Promise<void> {
    this.server = net.createServer((c) => this.accept(c));
    await new Promise<void>((res) => this.server.listen(0, '127.0.0.1', res));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  private accept(c: net.Socket): void {
    const conn: Conn = { client: this.next.client, server: this.next.server, chunks: [{ t: nowUs(), fromClient: true, bytes: new Uint8Array(0), syn: true }] };
    this.conns.push(conn);
    const u = net.connect(this.upstreamPort, '127.0.0.1');
    this.sockets.add(c);
    this.sockets.add(u);
    c.setNoDelay(true);
    u.setNoDelay(true);
    c.on('data', (d: Buffer) => {
      conn.chunks.push({ t: nowUs(), fromClient: true, bytes: new Uint8Array(d) });
      u.write(d);
    });
    u.on('data', (d: Buffer) => {
      conn.chunks.push({ t: nowUs(), fromClient: false, bytes: new Uint8Array(d) });
      c.write(d);
    });
    let ended = false;
    const end = (fromClient: boolean): void => {
      if (ended) return;
      ended = true;
      conn.chunks.push({ t: nowUs(), fromClient, bytes: new Uint8Array(0), fin: true });
      conn.chunks.push({ t: nowUs(), fromClient: !fromClient, bytes: new Uint8Array(0), fin: true });
      c.destroy();
      u.destroy();
    };
    c.on('close', () => end(true));
    u.on('close', () => end(false));
    c.on('error', () => {});
    u.on('error', () => {});
  }

  /** The recorded traffic as a pcap (Ethernet, IPv4), connections interleaved in time. */
  pcap(): Uint8Array {
    const pkts: Array<PacketToWrite & { t: number; n: number }> = [];
    let n = 0;
    for (const c of this.conns) {
      const seq = { client: 1000 + n * 7, server: 9000 + n * 13 };
      for (const ch of c.chunks) {
        const side = ch.fromClient ? 'client' : 'server';
        const other = ch.fromClient ? 'server' : 'client';
        const [a, b] = ch.fromClient ? [c.client, c.server] : [c.server, c.client];
        const mk = (flags: number, payload: Uint8Array, t: number): void => {
          pkts.push({ data: buildTcpPacket({ src: a.ip, dst: b.ip, sport: a.port, dport: b.port, seq: seq[side], ack: seq[other], flags, payload }), tsSec: Math.floor(t / 1e6), tsNsec: (t % 1e6) * 1000, t, n: n++ });
        };
        if (ch.syn) {
          // three-way handshake
          pkts.push({ data: buildTcpPacket({ src: c.client.ip, dst: c.server.ip, sport: c.client.port, dport: c.server.port, seq: seq.client, flags: TCP_SYN }), tsSec: Math.floor(ch.t / 1e6), tsNsec: (ch.t % 1e6) * 1000, t: ch.t, n: n++ });
          seq.client++;
          pkts.push({ data: buildTcpPacket({ src: c.server.ip, dst: c.client.ip, sport: c.server.port, dport: c.client.port, seq: seq.server, ack: seq.client, flags: TCP_SYN | TCP_ACK }), tsSec: Math.floor(ch.t / 1e6), tsNsec: (ch.t % 1e6) * 1000, t: ch.t, n: n++ });
          seq.server++;
          continue;
        }
        if (ch.fin) {
          mk(TCP_FIN | TCP_ACK, new Uint8Array(0), ch.t);
          seq[side]++;
          continue;
        }
        mk(TCP_ACK | 0x08, ch.bytes, ch.t);
        seq[side] = (seq[side] + ch.bytes.length) >>> 0;
      }
    }
    pkts.sort((x, y) => x.t - y.t || x.n - y.n);
    return writePcap(pkts);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((res) => this.server.close(() => res()));
  }
}

/** Points and commands of the test RTU (CA 1). */
/** Policy of the proxy tests: the local master may send C_DC_NA_1 to CA 1 IOA 5001 and system commands, nothing else. */
export const PROXY_POLICY = parsePolicy(`
version: 1
masters:
  - name: local
    addresses: [127.0.0.1, "::1"]
    allow:
      - types: [C_DC_NA_1]
        ca: [1]
        ioa: 5001
      - types: [system]
`);

export const STATION: StationOptions = {
  points: [
    { ca: 1, ioa: 1001, type: 3, value: 1 },
    ...Array.from({ length: 8 }, (_, i) => ({ ca: 1, ioa: 1002 + i, type: 1, value: i % 2 === 0 })),
    { ca: 1, ioa: 2001, type: 13, value: 230.5 },
    { ca: 1, ioa: 2002, type: 13, value: 49.98 },
  ],
  commands: [
    { ca: 1, ioa: 5001, type: 46, mode: 'sbo', behaviour: { feedback: { ioa: 1001 } } },
    { ca: 1, ioa: 5002, type: 45, mode: 'both' },
    { ca: 1, ioa: 6001, type: 50, mode: 'direct' },
  ],
  cyclicPeriodMs: 0,
};

/** A station, a recorder in front of it, and masters with claimed addresses. */
export class EngineLab {
  station!: ControlledStation;
  rec!: Recorder;
  private readonly masters: ControllingStation[] = [];
  private nextPort = 40001;

  async start(opts: StationOptions = STATION): Promise<this> {
    this.station = createStation(opts);
    const { port } = await this.station.listen({ host: '127.0.0.1', port: 0 });
    this.rec = new Recorder(port);
    await this.rec.start();
    return this;
  }

  /** A connected master (data transfer started) labelled `ip` in the capture. */
  async master(ip = '10.0.0.1', station = '10.0.0.2'): Promise<ControllingStation> {
    this.rec.next = { client: { ip, port: this.nextPort++ }, server: { ip: station, port: 2404 } };
    const m = new ControllingStation({ connector: tcpConnector('127.0.0.1', this.rec.port), reconnect: false, requestTimeout: 3000, terminationTimeout: 3000 });
    await m.connect();
    this.masters.push(m);
    return m;
  }

  /** Close the masters (FIN in the capture), then return the pcap. */
  async capture(): Promise<Uint8Array> {
    for (const m of this.masters.splice(0)) await m.close();
    await new Promise((r) => setTimeout(r, 30));
    return this.rec.pcap();
  }

  async close(): Promise<void> {
    for (const m of this.masters.splice(0)) await m.close().catch(() => {});
    await this.rec.close();
    await this.station.close();
  }
}

/** Run `p`, ignoring a rejection (negative confirmations are part of the attacks). */
export async function settle(p: Promise<unknown>): Promise<void> {
  await p.catch(() => {});
}

/** Normal operation: GI, spontaneous data, SBO and direct commands, a set-point, clock sync. */
export async function normalTraffic(lab: EngineLab, ip = '10.0.0.1'): Promise<void> {
  const m = await lab.master(ip);
  await m.interrogation(1);
  lab.station.update(1, 2001, 231.2);
  lab.station.update(1, 1002, false);
  await m.clockSync(1);
  await m.double(1, 5001, 'on', { sbo: true, until: 'actterm' });
  lab.station.update(1, 2002, 50.01);
  await m.single(1, 5002, true, { sbo: true, until: 'actterm' });
  await m.setpointFloat(1, 6001, 49.5, { until: 'actterm' });
  await m.double(1, 5001, 'off', { sbo: true, until: 'actterm' });
  await m.interrogation(1);
  lab.station.update(1, 1003, true);
  await new Promise((r) => setTimeout(r, 20));
}
