/**
 * A tiny classic-pcap writer (LINKTYPE_ETHERNET) used by scripts/gen-tshark-vectors.ts: each
 * payload becomes one Ethernet/IPv4/TCP segment from 10.0.0.1:40000 to 10.0.0.2:2404 with
 * correct IPv4/TCP lengths and running TCP sequence numbers. Checksums are left 0 (Wireshark does
 * not verify them by default).
 */

/** Writes pcap bytes in memory; `bytes()` returns the whole file. */
export class PcapWriter {
  private readonly chunks: Uint8Array[] = [];
  private seq = 1;
  private n = 0;

  constructor() {
    const h = new DataView(new ArrayBuffer(24));
    h.setUint32(0, 0xa1b2c3d4, true); // magic, microsecond timestamps
    h.setUint16(4, 2, true); // version 2.4
    h.setUint16(6, 4, true);
    h.setInt32(8, 0, true); // thiszone
    h.setUint32(12, 0, true); // sigfigs
    h.setUint32(16, 65535, true); // snaplen
    h.setUint32(20, 1, true); // LINKTYPE_ETHERNET
    this.chunks.push(new Uint8Array(h.buffer));
  }

  /** Append one TCP segment carrying `payload` to port 2404 (or `dstPort`). */
  addTcpSegment(payload: Uint8Array, dstPort = 2404, srcPort = 40000): void {
    const ipLen = 20 + 20 + payload.length;
    if (ipLen > 65535) throw new RangeError('payload too large for one IPv4 packet');
    const pkt = new Uint8Array(14 + ipLen);
    const d = new DataView(pkt.buffer);
    // Ethernet: dst, src, EtherType IPv4
    pkt.set([0x00, 0x00, 0x5e, 0x00, 0x53, 0x02, 0x00, 0x00, 0x5e, 0x00, 0x53, 0x01], 0);
    d.setUint16(12, 0x0800);
    // IPv4
    const ip = 14;
    pkt[ip] = 0x45;
    d.setUint16(ip + 2, ipLen);
    d.setUint16(ip + 4, this.n & 0xffff); // identification
    d.setUint16(ip + 6, 0x4000); // DF
    pkt[ip + 8] = 64; // TTL
    pkt[ip + 9] = 6; // TCP
    pkt.set([10, 0, 0, 1], ip + 12);
    pkt.set([10, 0, 0, 2], ip + 16);
    // TCP
    const t = ip + 20;
    d.setUint16(t, srcPort);
    d.setUint16(t + 2, dstPort);
    d.setUint32(t + 4, this.seq >>> 0);
    d.setUint32(t + 8, 1); // ack
    pkt[t + 12] = 5 << 4; // data offset 5 words
    pkt[t + 13] = 0x18; // PSH, ACK
    d.setUint16(t + 14, 65535); // window
    pkt.set(payload, t + 20);
    this.seq = (this.seq + payload.length) >>> 0;

    const rec = new DataView(new ArrayBuffer(16));
    rec.setUint32(0, 1_700_000_000 + this.n, true);
    rec.setUint32(4, 0, true);
    rec.setUint32(8, pkt.length, true);
    rec.setUint32(12, pkt.length, true);
    this.chunks.push(new Uint8Array(rec.buffer), pkt);
    this.n++;
  }

  /** Number of packets written. */
  get count(): number {
    return this.n;
  }

  /** The pcap file. */
  bytes(): Uint8Array {
    const total = this.chunks.reduce((s, c) => s + c.length, 0);
    const out = new Uint8Array(total);
    let p = 0;
    for (const c of this.chunks) {
      out.set(c, p);
      p += c.length;
    }
    return out;
  }
}
