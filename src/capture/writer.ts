/**
 * Writing captures: pcap and pcapng files and TCP/IP packets with any of the supported link
 * layers. Used to generate test captures (and by tools that record their own traffic).
 */
import { LINKTYPE, parseIp, TCP_ACK, TCP_FIN, TCP_SYN } from './packet.js';

/** A packet to write. */
export interface PacketToWrite {
  /** Link-layer frame. */
  data: Uint8Array;
  /** Seconds since the epoch. Default 0. */
  tsSec?: number;
  /** Nanoseconds within the second. Default 0. */
  tsNsec?: number;
  /** pcapng interface id. Default 0. */
  interfaceId?: number;
  /** Length on the wire (default `data.length`). */
  origLen?: number;
}

/** pcap file options. */
export interface PcapWriteOptions {
  linkType?: number;
  /** Byte order of the file. Default little-endian. */
  bigEndian?: boolean;
  /** Nanosecond timestamps (magic a1b23c4d). Default false (µs). */
  nanos?: boolean;
  snapLen?: number;
}

class Out {
  private buf = new Uint8Array(1024);
  len = 0;
  constructor(private readonly be: boolean) {}
  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let c = this.buf.length * 2;
    while (c < this.len + n) c *= 2;
    const b = new Uint8Array(c);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }
  u8(v: number): void {
    this.room(1);
    this.buf[this.len++] = v;
  }
  u16(v: number): void {
    this.room(2);
    if (this.be) this.buf.set([v >> 8, v & 255], this.len);
    else this.buf.set([v & 255, v >> 8], this.len);
    this.len += 2;
  }
  u32(v: number): void {
    this.room(4);
    const b = [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
    this.buf.set(this.be ? b : b.reverse(), this.len);
    this.len += 4;
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  pad4(): void {
    while (this.len % 4) this.u8(0);
  }
  setU32(at: number, v: number): void {
    const b = [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
    this.buf.set(this.be ? b : b.reverse(), at);
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** Write a pcap file. */
export function writePcap(packets: PacketToWrite[], o: PcapWriteOptions = {}): Uint8Array {
  const w = new Out(o.bigEndian ?? false);
  w.u32(o.nanos ? 0xa1b23c4d : 0xa1b2c3d4);
  w.u16(2);
  w.u16(4);
  w.u32(0);
  w.u32(0);
  w.u32(o.snapLen ?? 262144);
  w.u32(o.linkType ?? LINKTYPE.ETHERNET);
  for (const p of packets) {
    w.u32(p.tsSec ?? 0);
    w.u32(o.nanos ? (p.tsNsec ?? 0) : Math.floor((p.tsNsec ?? 0) / 1000));
    w.u32(p.data.length);
    w.u32(p.origLen ?? p.data.length);
    w.bytes(p.data);
  }
  return w.result();
}

/** One pcapng interface. */
export interface PcapngInterface {
  linkType: number;
  snapLen?: number;
  /** if_tsresol option octet (6 = µs, 9 = ns, 0x80|n = 2^-n). Absent: µs. */
  tsresol?: number;
}

/** pcapng file options. */
export interface PcapngWriteOptions {
  interfaces?: PcapngInterface[];
  bigEndian?: boolean;
  /** Write Simple Packet Blocks (no timestamp, interface 0) instead of Enhanced Packet Blocks. */
  simple?: boolean;
  /** Add an unknown (custom) block after the interfaces, to test skipping. */
  unknownBlock?: boolean;
}

function block(w: Out, type: number, body: (w: Out) => void): void {
  const start = w.len;
  w.u32(type);
  w.u32(0);
  body(w);
  w.pad4();
  const len = w.len - start + 4;
  w.u32(len);
  w.setU32(start + 4, len);
}

/** Write a pcapng file (one section). */
export function writePcapng(packets: PacketToWrite[], o: PcapngWriteOptions = {}): Uint8Array {
  const w = new Out(o.bigEndian ?? false);
  const ifaces = o.interfaces ?? [{ linkType: LINKTYPE.ETHERNET }];
  block(w, 0x0a0d0d0a, (w) => {
    w.u32(0x1a2b3c4d);
    w.u16(1);
    w.u16(0);
    w.u32(0xffffffff);
    w.u32(0xffffffff);
  });
  for (const f of ifaces) {
    block(w, 1, (w) => {
      w.u16(f.linkType);
      w.u16(0);
      w.u32(f.snapLen ?? 0);
      if (f.tsresol !== undefined) {
        w.u16(9);
        w.u16(1);
        w.u8(f.tsresol);
        w.pad4();
      }
      w.u16(0);
      w.u16(0);
    });
  }
  if (o.unknownBlock) block(w, 0x0bad, (w) => w.bytes(Uint8Array.from([1, 2, 3, 4, 5])));
  for (const p of packets) {
    if (o.simple) {
      block(w, 3, (w) => {
        w.u32(p.origLen ?? p.data.length);
        w.bytes(p.data);
      });
      continue;
    }
    const f = ifaces[p.interfaceId ?? 0];
    const r = f?.tsresol ?? 6;
    let units: bigint;
    const sec = BigInt(p.tsSec ?? 0);
    const ns = BigInt(p.tsNsec ?? 0);
    if (r & 0x80) units = (sec << BigInt(r & 0x7f)) + ((ns << BigInt(r & 0x7f)) / 1000000000n);
    else units = sec * 10n ** BigInt(r) + (r >= 9 ? ns * 10n ** BigInt(r - 9) : ns / 10n ** BigInt(9 - r));
    block(w, 6, (w) => {
      w.u32(p.interfaceId ?? 0);
      w.u32(Number(units >> 32n));
      w.u32(Number(units & 0xffffffffn));
      w.u32(p.data.length);
      w.u32(p.origLen ?? p.data.length);
      w.bytes(p.data);
    });
  }
  return w.result();
}

/** Link layer to wrap an IP packet in. */
export type SynthLink =
  | { type: 'ethernet'; vlans?: number[]; /** 0x88a8 for the outer tag (802.1ad). */ outerTpid?: number }
  | { type: 'sll' }
  | { type: 'sll2' }
  | { type: 'raw' }
  | { type: 'null'; bigEndian?: boolean }
  | { type: 'loop' };

/** Link type number of a {@link SynthLink}. */
export function linkTypeOf(l: SynthLink): number {
  switch (l.type) {
    case 'ethernet':
      return LINKTYPE.ETHERNET;
    case 'sll':
      return LINKTYPE.LINUX_SLL;
    case 'sll2':
      return LINKTYPE.LINUX_SLL2;
    case 'raw':
      return LINKTYPE.RAW;
    case 'null':
      return LINKTYPE.NULL;
    case 'loop':
      return LINKTYPE.LOOP;
  }
}

/** A TCP segment to build. */
export interface TcpSpec {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack?: number;
  flags?: number;
  payload?: Uint8Array;
  /** TCP window field (default 0xffff). */
  window?: number;
  /** IPv4 options octets (multiple of 4). */
  ipOptions?: Uint8Array;
  /** Extra octets after the IP packet (Ethernet padding). */
  trailer?: Uint8Array;
  /** IPv6 extension headers to insert (hop-by-hop / destination options, 8 octets each). */
  ipv6Ext?: number;
}

/** Build a TCP/IP packet wrapped in a link layer. */
export function buildTcpPacket(s: TcpSpec, link: SynthLink = { type: 'ethernet' }): Uint8Array {
  const src = parseIp(s.src);
  const dst = parseIp(s.dst);
  if (!src || !dst || src.length !== dst.length) throw new Error(`bad addresses ${s.src} ${s.dst}`);
  const payload = s.payload ?? new Uint8Array(0);
  const tcp = new Uint8Array(20 + payload.length);
  tcp[0] = s.sport >> 8;
  tcp[1] = s.sport & 255;
  tcp[2] = s.dport >> 8;
  tcp[3] = s.dport & 255;
  const seq = s.seq >>> 0;
  tcp.set([seq >>> 24, (seq >>> 16) & 255, (seq >>> 8) & 255, seq & 255], 4);
  const ack = (s.ack ?? 0) >>> 0;
  tcp.set([ack >>> 24, (ack >>> 16) & 255, (ack >>> 8) & 255, ack & 255], 8);
  tcp[12] = 5 << 4;
  tcp[13] = s.flags ?? TCP_ACK;
  const win = s.window ?? 0xffff;
  tcp[14] = (win >> 8) & 255;
  tcp[15] = win & 255;
  tcp.set(payload, 20);
  let ip: Uint8Array;
  if (src.length === 4) {
    const opt = s.ipOptions ?? new Uint8Array(0);
    const hl = 20 + opt.length;
    ip = new Uint8Array(hl + tcp.length);
    ip[0] = 0x40 | (hl / 4);
    const tot = ip.length;
    ip[2] = tot >> 8;
    ip[3] = tot & 255;
    ip[6] = 0x40; // DF
    ip[8] = 64;
    ip[9] = 6;
    ip.set(src, 12);
    ip.set(dst, 16);
    ip.set(opt, 20);
    ip.set(tcp, hl);
  } else {
    const ext = s.ipv6Ext ?? 0;
    ip = new Uint8Array(40 + ext * 8 + tcp.length);
    ip[0] = 0x60;
    const plen = ext * 8 + tcp.length;
    ip[4] = plen >> 8;
    ip[5] = plen & 255;
    ip[6] = ext > 0 ? 0 : 6; // hop-by-hop first, then destination options
    ip[7] = 64;
    ip.set(src, 8);
    ip.set(dst, 24);
    for (let i = 0; i < ext; i++) {
      const o = 40 + i * 8;
      ip[o] = i === ext - 1 ? 6 : 60;
      ip[o + 1] = 0;
      ip[o + 2] = 1; // PadN
      ip[o + 3] = 4;
    }
    ip.set(tcp, 40 + ext * 8);
  }
  if (s.trailer) {
    const t = new Uint8Array(ip.length + s.trailer.length);
    t.set(ip);
    t.set(s.trailer, ip.length);
    ip = t;
  }
  const v6 = src.length === 16;
  const etype = v6 ? 0x86dd : 0x0800;
  let hdr: number[];
  switch (link.type) {
    case 'ethernet': {
      hdr = [0, 1, 2, 3, 4, 5, 0, 6, 7, 8, 9, 10];
      const vl = link.vlans ?? [];
      vl.forEach((id, i) => {
        const tpid = i === 0 && vl.length > 1 ? (link.outerTpid ?? 0x88a8) : 0x8100;
        hdr.push(tpid >> 8, tpid & 255, (id >> 8) & 0x0f, id & 255);
      });
      hdr.push(etype >> 8, etype & 255);
      break;
    }
    case 'sll':
      hdr = [0, 0, 0, 1, 0, 6, 0, 1, 2, 3, 4, 5, 0, 0, etype >> 8, etype & 255];
      break;
    case 'sll2':
      hdr = [etype >> 8, etype & 255, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 0, 1, 2, 3, 4, 5, 0, 0];
      break;
    case 'raw':
      hdr = [];
      break;
    case 'null': {
      const fam = v6 ? 30 : 2;
      hdr = link.bigEndian ? [0, 0, 0, fam] : [fam, 0, 0, 0];
      break;
    }
    case 'loop': {
      const fam = v6 ? 30 : 2;
      hdr = [0, 0, 0, fam];
      break;
    }
  }
  const out = new Uint8Array(hdr.length + ip.length);
  out.set(hdr);
  out.set(ip, hdr.length);
  return out;
}

/** Length of the link header {@link buildTcpPacket} writes for a {@link SynthLink}. */
export function linkHeaderLength(l: SynthLink): number {
  switch (l.type) {
    case 'ethernet':
      return 14 + 4 * (l.vlans?.length ?? 0);
    case 'sll':
      return 16;
    case 'sll2':
      return 20;
    case 'raw':
      return 0;
    case 'null':
    case 'loop':
      return 4;
  }
}

/**
 * Split the IP packet of a frame (as {@link buildTcpPacket} builds it) into IP fragments that
 * carry at most `size` octets of the fragmentable part each (rounded down to a multiple of 8, at
 * least 8), each in a copy of the frame's link header. IPv4: identification `id`, MF and fragment
 * offset set, DF cleared, header (with options) repeated in every fragment, checksum computed.
 * IPv6: a Fragment header (identification `id`) inserted after the hop-by-hop options, if any.
 * Octets after the IP length (Ethernet padding) are dropped. Returns the fragments in order.
 */
export function fragmentFrame(frame: Uint8Array, size: number, opts: { link?: SynthLink; id?: number } = {}): Uint8Array[] {
  const lh = linkHeaderLength(opts.link ?? { type: 'ethernet' });
  const link = frame.subarray(0, lh);
  const ip = frame.subarray(lh);
  const step = Math.max(8, Math.floor(size / 8) * 8);
  const id = (opts.id ?? 1) >>> 0;
  const out: Uint8Array[] = [];
  if (ip[0] >> 4 === 4) {
    const hl = (ip[0] & 15) * 4;
    const data = ip.subarray(hl, (ip[2] << 8) | ip[3]);
    for (let off = 0; off < data.length || off === 0; off += step) {
      const part = data.subarray(off, off + step);
      const more = off + step < data.length;
      const f = new Uint8Array(lh + hl + part.length);
      f.set(link);
      f.set(ip.subarray(0, hl), lh);
      f.set(part, lh + hl);
      const h = f.subarray(lh);
      const tot = hl + part.length;
      h[2] = tot >> 8;
      h[3] = tot & 255;
      h[4] = (id >> 8) & 255;
      h[5] = id & 255;
      h[6] = (more ? 0x20 : 0) | ((off / 8) >> 8);
      h[7] = (off / 8) & 255;
      h[10] = 0;
      h[11] = 0;
      let sum = 0;
      for (let i = 0; i < hl; i += 2) sum += (h[i] << 8) | h[i + 1];
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
      h[10] = (~sum >> 8) & 255;
      h[11] = ~sum & 255;
      out.push(f);
    }
    return out;
  }
  // IPv6: the unfragmentable part is the fixed header and a hop-by-hop header
  const end = 40 + ((ip[4] << 8) | ip[5]);
  let u = 40;
  let nextAt = 6;
  if (ip[6] === 0) {
    nextAt = 40;
    u += (ip[41] + 1) * 8;
  }
  const nh = ip[nextAt];
  const data = ip.subarray(u, end);
  for (let off = 0; off < data.length || off === 0; off += step) {
    const part = data.subarray(off, off + step);
    const more = off + step < data.length;
    const f = new Uint8Array(lh + u + 8 + part.length);
    f.set(link);
    f.set(ip.subarray(0, u), lh);
    const h = f.subarray(lh);
    h[nextAt] = 44;
    const pl = u - 40 + 8 + part.length;
    h[4] = pl >> 8;
    h[5] = pl & 255;
    h.set([nh, 0, off >> 8, (off & 0xf8) | (more ? 1 : 0), id >>> 24, (id >>> 16) & 255, (id >>> 8) & 255, id & 255], u);
    h.set(part, u + 8);
    out.push(f);
  }
  return out;
}

/** Side of a {@link SynthSession}. */
export type SynthSide = 'client' | 'server';

/**
 * A scripted TCP conversation that keeps sequence numbers and timestamps, producing packets to
 * write with {@link writePcap} / {@link writePcapng}.
 */
export class SynthSession {
  readonly packets: PacketToWrite[] = [];
  private seq: Record<SynthSide, number>;
  private t: number;
  constructor(
    readonly client: { ip: string; port: number },
    readonly server: { ip: string; port: number },
    private readonly link: SynthLink = { type: 'ethernet' },
    opts: { clientIsn?: number; serverIsn?: number; startSec?: number; interfaceId?: number } = {},
  ) {
    this.seq = { client: opts.clientIsn ?? 1000, server: opts.serverIsn ?? 5000 };
    this.t = (opts.startSec ?? 1700000000) * 1e6;
    this.iface = opts.interfaceId;
  }
  private readonly iface: number | undefined;

  /** Sequence number the side will use next. */
  nextSeq(side: SynthSide): number {
    return this.seq[side];
  }

  /** Append a raw segment with an explicit sequence number (does not move the side's counter). */
  raw(side: SynthSide, seq: number, payload: Uint8Array, flags = TCP_ACK | 0x08, extra: Partial<TcpSpec> = {}): this {
    const [a, b] = side === 'client' ? [this.client, this.server] : [this.server, this.client];
    const other = side === 'client' ? 'server' : 'client';
    this.t += 1000;
    const p: PacketToWrite = {
      data: buildTcpPacket({ src: a.ip, dst: b.ip, sport: a.port, dport: b.port, seq, ack: this.seq[other], flags, payload, ...extra }, this.link),
      tsSec: Math.floor(this.t / 1e6),
      tsNsec: (this.t % 1e6) * 1000 + 123,
    };
    if (this.iface !== undefined) p.interfaceId = this.iface;
    this.packets.push(p);
    return this;
  }

  /** Three-way handshake. */
  handshake(): this {
    this.raw('client', this.seq.client, new Uint8Array(0), TCP_SYN);
    this.seq.client++;
    this.seq.server = (this.seq.server - 0) >>> 0;
    this.raw('server', this.seq.server, new Uint8Array(0), TCP_SYN | TCP_ACK);
    this.seq.server++;
    this.raw('client', this.seq.client, new Uint8Array(0), TCP_ACK);
    return this;
  }

  /** Send bytes in order (optionally split into segments of `segSize`). */
  send(side: SynthSide, payload: Uint8Array, segSize = 0, extra: Partial<TcpSpec> = {}): this {
    const step = segSize > 0 ? segSize : Math.max(1, payload.length);
    for (let i = 0; i < payload.length; i += step) {
      const part = payload.subarray(i, i + step);
      this.raw(side, this.seq[side], part, TCP_ACK | 0x08, extra);
      this.seq[side] = (this.seq[side] + part.length) >>> 0;
    }
    return this;
  }

  /** Advance a side's sequence number without sending (the bytes are "lost"). Returns their seq. */
  skip(side: SynthSide, n: number): number {
    const s = this.seq[side];
    this.seq[side] = (s + n) >>> 0;
    return s;
  }

  /** FIN from a side. */
  fin(side: SynthSide): this {
    this.raw(side, this.seq[side], new Uint8Array(0), TCP_FIN | TCP_ACK);
    this.seq[side]++;
    return this;
  }
}

/** Concatenate byte arrays. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
