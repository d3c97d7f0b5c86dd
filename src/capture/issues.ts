/**
 * Typed, located problems found while reading a capture. Readers and the reassembler never throw:
 * they report a {@link CaptureIssue} and carry on with the next record, block or segment.
 */

/** Stable codes of capture problems. */
export type CaptureIssueCode =
  // file structure
  | 'E_CAP_FORMAT' // not a pcap / pcapng file (unknown magic)
  | 'E_CAP_TRUNCATED' // the file ends inside a header, record or block
  | 'E_CAP_RECORD_LENGTH' // pcap record length impossible (skipped, resynchronised)
  | 'E_CAP_BLOCK_LENGTH' // pcapng block length impossible or trailing length differs (skipped)
  | 'E_CAP_BLOCK' // pcapng block body malformed (too short for its fields)
  | 'E_CAP_INTERFACE' // pcapng packet refers to an interface that was not described
  | 'E_CAP_LINKTYPE' // link type not supported (packets of that interface skipped)
  // packet decoding
  | 'E_PKT_TRUNCATED' // a link/IP/TCP header does not fit in the captured bytes
  | 'E_PKT_MALFORMED' // header field impossible (IP version, header length, ...)
  | 'W_IP_FRAGMENT' // IPv4/IPv6 fragment that cannot be reassembled (malformed, cut by the capture, inconsistent lengths): skipped
  | 'W_IP_FRAGMENT_OVERLAP' // fragments of a datagram overlap (IPv4: first copy kept; IPv6: datagram dropped, RFC 5722)
  | 'W_IP_FRAGMENT_TIMEOUT' // a fragmented datagram was not complete within the timeout (capture time) or at the end of the capture
  | 'W_IP_FRAGMENT_LIMIT' // reassembly memory bounds hit: the oldest datagram in progress (or one with too many fragments) dropped
  | 'W_SNAPLEN' // packet captured shorter than sent: TCP payload incomplete
  // TCP stream
  | 'W_TCP_GAP' // bytes missing from a TCP direction (lost or not captured); the stream skipped ahead
  | 'W_TCP_OVERLAP_DIFFERS' // a retransmitted / overlapping segment carries different bytes (first copy kept)
  | 'W_TCP_SEQ_FALLBACK' // sequence numbers do not advance: this direction is read in arrival order
  | 'W_TCP_OUT_OF_WINDOW' // a segment the receiver's TCP drops (before its acknowledged sequence with other bytes, or beyond its window): not decoded
  | 'E_TCP_DESYNC' // two copies of stream bytes the receiver had not acknowledged differ: the receiver's stream cannot be told (evasion or damage); resynchronised
  | 'W_FLOW_EVICTED' // the flow table was full: the least recently active flow was closed to make room
  | 'W_TCP_PARTIAL_APDU' // an incomplete APDU was dropped (gap, FIN, RST or end of capture)
  | 'W_JUNK' // bytes before a start byte 0x68 (skipped)
  | 'E_APDU_LENGTH'; // start byte followed by an impossible length octet

/** Where in the input a problem is. Fields are present when they apply. */
export interface CaptureLocation {
  /** Byte offset in the capture file (of the record / block header). */
  fileOffset?: number;
  /** 1-based pcap record number or pcapng block number. */
  record?: number;
  /** 1-based frame (packet) number, as Wireshark counts. */
  frame?: number;
  /** Flow index (0-based, in order of first appearance). */
  flow?: number;
  /** Offset in the TCP direction's byte stream. */
  streamOffset?: number;
}

/** A problem found in a capture, with its location. */
export interface CaptureIssue extends CaptureLocation {
  code: CaptureIssueCode;
  /** `error` for damage in the file or stream, `warning` for things that are odd but legal. */
  severity: 'error' | 'warning';
  message: string;
}

/** @internal build an issue object */
export function issue(code: CaptureIssueCode, message: string, loc: CaptureLocation): CaptureIssue {
  return { code, severity: code.startsWith('E_') ? 'error' : 'warning', message, ...loc };
}
