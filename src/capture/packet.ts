/**
 * Link layer, IPv4 / IPv6 and TCP header decoding of captured packets, without allocation: the
 * result is written into a reused {@link TcpPacket} whose `payload` is a view of the packet bytes.
 */
import type { CaptureIssueCode } from './issues.js';

/** Link types understood by {@link decodeTcpPacket}. */
export const LINKTYPE = {
  NULL: 0,
  ETHERNET: 1,
  RAW_12: 12,
  RAW_14: 14,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

const SUPPORTED = new Set<number>(Object.values(LINKTYPE));

/** Whether {@link decodeTcpPacket} understands this link type. */
export function isSupportedLinkType(linkType: number): boolean {
  return SUPPORTED.has(linkType);
}

/** TCP flags. */
export const TCP_FIN = 0x01;
/** TCP SYN flag. */
export const TCP_SYN = 0x02;
/** TCP RST flag. */
export const TCP_RST = 0x04;
/** TCP ACK flag. */
export const TCP_ACK = 0x10;

/** A decoded TCP/IP packet. Reused between packets: copy what you keep. */
export interface TcpPacket {
  ipVersion: 4 | 6;
  /** Source / destination address octets (views, 4 or 16 octets). */
  srcIp: Uint8Array;
  dstIp: Uint8Array;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  /** Window field (unscaled). */
  window: number;
  /** Window-scale shift from the options of a SYN segment, or -1 (absent or not a SYN). */
  wscale: number;
  /** Captured TCP payload (view). */
  payload: Uint8Array;
  /** Payload length according to the IP header (more than `payload.length` when the capture cut the packet). */
  payloadLen: number;
}

/** Why a packet did not yield a TCP segment. */
export type PacketSkip =
  | 'ok'
  | 'not-ip' // link payload is not IPv4/IPv6 (ARP, LLDP, ...)
  | 'not-tcp' // IP payload is not TCP
  | 'linktype' // unsupported link type
  | 'fragment' // IP fragment that may carry TCP: the IP header starts at `fragmentAt` (see IpDefragmenter)
  | 'error'; // malformed / truncated header: see `lastError`

/** Reusable TCP/IP packet decoder. */
export class PacketDecoder {
  /** The last decoded packet (valid when `decode` returned 'ok'). */
  readonly pkt: TcpPacket = { ipVersion: 4, srcIp: new Uint8Array(0), dstIp: new Uint8Array(0), srcPort: 0, dstPort: 0, seq: 0, ack: 0, flags: 0, window: 0, wscale: -1, payload: new Uint8Array(0), payloadLen: 0 };
  /** Code and text of the last 'error' result. */
  lastError: { code: CaptureIssueCode; message: string } = { code: 'E_PKT_MALFORMED', message: '' };
  /** Offset in the frame of the IP header of the last 'fragment' result. */
  fragmentAt = 0;

  private err(code: CaptureIssueCode, message: string): PacketSkip {
    this.lastError = { code, message };
    return 'error';
  }

  /** Decode a link-layer frame down to TCP. */
  decode(linkType: number, d: Uint8Array): PacketSkip {
    let o = 0;
    let etype = -1; // -1: decide by IP version nibble
    switch (linkType) {
      case LINKTYPE.ETHERNET:
        if (d.length < 14) return this.err('E_PKT_TRUNCATED', `Ethernet header needs 14 octets, captured ${d.length}`);
        etype = (d[12] << 8) | d[13];
        o = 14;
        break;
      case LINKTYPE.LINUX_SLL:
        if (d.length < 16) return this.err('E_PKT_TRUNCATED', `Linux cooked (SLL) header needs 16 octets, captured ${d.length}`);
        etype = (d[14] << 8) | d[15];
        o = 16;
        break;
      case LINKTYPE.LINUX_SLL2:
        if (d.length < 20) return this.err('E_PKT_TRUNCATED', `Linux cooked (SLL2) header needs 20 octets, captured ${d.length}`);
        etype = (d[0] << 8) | d[1];
        o = 20;
        break;
      case LINKTYPE.NULL:
      case LINKTYPE.LOOP:
        // 4-octet address family (host order for NULL, network order for LOOP); the IP version nibble decides.
        if (d.length < 4) return this.err('E_PKT_TRUNCATED', `loopback header needs 4 octets, captured ${d.length}`);
        o = 4;
        break;
      case LINKTYPE.RAW:
      case LINKTYPE.RAW_12:
      case LINKTYPE.RAW_14:
        break;
      case LINKTYPE.IPV4:
        etype = 0x0800;
        break;
      case LINKTYPE.IPV6:
        etype = 0x86dd;
        break;
      default:
        return 'linktype';
    }
    // VLAN tags: 802.1Q, 802.1ad, old QinQ
    while (etype === 0x8100 || etype === 0x88a8 || etype === 0x9100) {
      if (d.length < o + 4) return this.err('E_PKT_TRUNCATED', 'VLAN tag truncated');
      etype = (d[o + 2] << 8) | d[o + 3];
      o += 4;
    }
    if (etype === -1) {
      if (d.length <= o) return this.err('E_PKT_TRUNCATED', 'no IP header');
      const v = d[o] >> 4;
      etype = v === 4 ? 0x0800 : v === 6 ? 0x86dd : 0;
    }
    if (etype === 0x0800) return this.ipv4(d, o);
    if (etype === 0x86dd) return this.ipv6(d, o);
    return 'not-ip';
  }

  private ipv4(d: Uint8Array, o: number): PacketSkip {
    if (d.length < o + 20) return this.err('E_PKT_TRUNCATED', `IPv4 header needs 20 octets, captured ${d.length - o}`);
    if (d[o] >> 4 !== 4) return this.err('E_PKT_MALFORMED', `IP version ${d[o] >> 4} in an IPv4 packet`);
    const ihl = (d[o] & 15) * 4;
    if (ihl < 20) return this.err('E_PKT_MALFORMED', `IPv4 header length ${ihl} < 20`);
    if (d.length < o + ihl) return this.err('E_PKT_TRUNCATED', `IPv4 header with options needs ${ihl} octets`);
    let total = (d[o + 2] << 8) | d[o + 3];
    if (total === 0) total = d.length - o; // TSO / segmentation offload captures
    if (total < ihl) return this.err('E_PKT_MALFORMED', `IPv4 total length ${total} < header length ${ihl}`);
    if (d[o + 9] !== 6) return 'not-tcp';
    const frag = ((d[o + 6] << 8) | d[o + 7]) & 0x3fff;
    if (frag !== 0) {
      this.fragmentAt = o;
      return 'fragment';
    }
    const p = this.pkt;
    p.ipVersion = 4;
    p.srcIp = d.subarray(o + 12, o + 16);
    p.dstIp = d.subarray(o + 16, o + 20);
    return this.tcp(d, o + ihl, o + total);
  }

  private ipv6(d: Uint8Array, o: number): PacketSkip {
    if (d.length < o + 40) return this.err('E_PKT_TRUNCATED', `IPv6 header needs 40 octets, captured ${d.length - o}`);
    if (d[o] >> 4 !== 6) return this.err('E_PKT_MALFORMED', `IP version ${d[o] >> 4} in an IPv6 packet`);
    const plen = (d[o + 4] << 8) | d[o + 5];
    const end = plen === 0 ? d.length : o + 40 + plen;
    let next = d[o + 6];
    let p = o + 40;
    const pk = this.pkt;
    pk.ipVersion = 6;
    pk.srcIp = d.subarray(o + 8, o + 24);
    pk.dstIp = d.subarray(o + 24, o + 40);
    for (;;) {
      if (next === 6) return this.tcp(d, p, end);
      if (next === 0 || next === 43 || next === 60 || next === 135 || next === 139 || next === 140) {
        if (d.length < p + 2) return this.err('E_PKT_TRUNCATED', 'IPv6 extension header truncated');
        next = d[p];
        p += (d[p + 1] + 1) * 8;
      } else if (next === 44) {
        if (d.length < p + 8) return this.err('E_PKT_TRUNCATED', 'IPv6 fragment header truncated');
        const offM = (d[p + 2] << 8) | d[p + 3];
        if ((offM & 0xfff9) !== 0) {
          const nh = d[p]; // the fragmentable part starts with TCP, or destination options / AH before it
          if (nh !== 6 && nh !== 60 && nh !== 51) return 'not-tcp';
          this.fragmentAt = o;
          return 'fragment';
        }
        next = d[p];
        p += 8; // atomic fragment: go on
      } else if (next === 51) {
        if (d.length < p + 2) return this.err('E_PKT_TRUNCATED', 'IPv6 AH header truncated');
        next = d[p];
        p += (d[p + 1] + 2) * 4;
      } else {
        return 'not-tcp';
      }
      if (p > end) return this.err('E_PKT_MALFORMED', 'IPv6 extension headers run past the payload');
    }
  }

  private tcp(d: Uint8Array, o: number, ipEnd: number): PacketSkip {
    if (d.length < o + 20) return this.err('E_PKT_TRUNCATED', `TCP header needs 20 octets, captured ${Math.max(0, d.length - o)}`);
    const hl = (d[o + 12] >> 4) * 4;
    if (hl < 20) return this.err('E_PKT_MALFORMED', `TCP header length ${hl} < 20`);
    if (o + hl > ipEnd) return this.err('E_PKT_MALFORMED', `TCP header length ${hl} runs past the IP payload`);
    if (d.length < o + hl) return this.err('E_PKT_TRUNCATED', `TCP header with options needs ${hl} octets`);
    const p = this.pkt;
    p.srcPort = (d[o] << 8) | d[o + 1];
    p.dstPort = (d[o + 2] << 8) | d[o + 3];
    p.seq = ((d[o + 4] << 24) | (d[o + 5] << 16) | (d[o + 6] << 8) | d[o + 7]) >>> 0;
    p.ack = ((d[o + 8] << 24) | (d[o + 9] << 16) | (d[o + 10] << 8) | d[o + 11]) >>> 0;
    p.flags = d[o + 13];
    p.window = (d[o + 14] << 8) | d[o + 15];
    p.wscale = p.flags & TCP_SYN && hl > 20 ? windowScale(d, o + 20, o + hl) : -1;
    const start = o + hl;
    p.payloadLen = ipEnd - start;
    p.payload = d.subarray(start, Math.min(ipEnd, d.length));
    return 'ok';
  }
}

/** The window-scale option (kind 3) among TCP options in `d[from, to)`, or -1. */
function windowScale(d: Uint8Array, from: number, to: number): number {
  let i = from;
  while (i < to) {
    const kind = d[i];
    if (kind === 0) break;
    if (kind === 1) {
      i++;
      continue;
    }
    if (i + 1 >= to) break;
    const len = d[i + 1];
    if (len < 2 || i + len > to) break;
    if (kind === 3 && len === 3) return Math.min(d[i + 2], 14);
    i += len;
  }
  return -1;
}

/** Text form of an address: dotted IPv4, or RFC 5952 compressed IPv6. */
export function formatIp(a: Uint8Array): string {
  if (a.length === 4) return `${a[0]}.${a[1]}.${a[2]}.${a[3]}`;
  const w: number[] = [];
  for (let i = 0; i < 16; i += 2) w.push((a[i] << 8) | a[i + 1]);
  // longest run of zeros (length >= 2)
  let bs = -1;
  let bl = 0;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bl && j - i >= 2) {
      bs = i;
      bl = j - i;
    }
    i = j;
  }
  const hex = w.map((x) => x.toString(16));
  if (bs < 0) return hex.join(':');
  return hex.slice(0, bs).join(':') + '::' + hex.slice(bs + bl).join(':');
}

/** `ip:port`, IPv6 as `[addr]:port`. */
export function formatEndpoint(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** Parse an IPv4 or IPv6 address to octets, or undefined. */
export function parseIp(s: string): Uint8Array | undefined {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(s)) {
    const p = s.split('.').map(Number);
    if (p.some((x) => x > 255)) return undefined;
    return Uint8Array.from(p);
  }
  if (!s.includes(':') || !/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const words = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    for (const part of h.split(':')) {
      if (part.includes('.')) {
        const v4 = parseIp(part);
        if (!v4 || v4.length !== 4) return undefined;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return undefined;
        out.push(parseInt(part, 16));
      }
    }
    return out;
  };
  const head = words(halves[0]);
  const tail = halves.length === 2 ? words(halves[1]) : [];
  if (!head || !tail) return undefined;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 1 ? fill !== 0 : fill < 1) return undefined;
  const all = [...head, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...tail];
  const b = new Uint8Array(16);
  all.forEach((w, i) => {
    b[2 * i] = w >> 8;
    b[2 * i + 1] = w & 255;
  });
  return b;
}
