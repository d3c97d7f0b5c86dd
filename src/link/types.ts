/**
 * Contract of the APCI link layer (IEC 60870-5-104 clause 5): a plain state machine fed with
 * received bytes, timer expiries (through an injected {@link Clock}) and send requests, which emits
 * bytes to write, received ASDUs, acknowledgements of sent I-frames and a close with its reason.
 * It knows no sockets. Implemented by `Link` in `link.ts`.
 */
import type { Asdu } from '../codec/asdu.js';
import type { CodecOptions } from '../codec/options.js';
import type { CodecError } from '../codec/errors.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';

/** APCI parameters. Times in milliseconds. */
export interface LinkParameters {
  /** Maximum number of sent, unacknowledged I-frames (1..32767). Default 12. */
  k: number;
  /** Acknowledge at the latest after receiving w I-frames (1..k). Default 8. */
  w: number;
  /** Connection establishment time-out (used by transports). Default 30 000. */
  t0: number;
  /** Time-out of send or test APDUs. Default 15 000. */
  t1: number;
  /** Time-out for acknowledges in case of no data messages (t2 < t1). Default 10 000. */
  t2: number;
  /** Time-out for sending test frames in case of a long idle state. Default 20 000. */
  t3: number;
}

/** Defaults of IEC 60870-5-104 (and lib60870): k=12, w=8, t0=30 s, t1=15 s, t2=10 s, t3=20 s. */
export const DEFAULT_LINK_PARAMETERS: Readonly<LinkParameters> = Object.freeze({ k: 12, w: 8, t0: 30_000, t1: 15_000, t2: 10_000, t3: 20_000 });

/** Which end of the link this is. The controlling station (master) sends STARTDT/STOPDT act. */
export type LinkRole = 'controlling' | 'controlled';

/**
 * - `stopped`: connected, data transfer not started (only U-frames, and S-frames, may pass);
 * - `starting`: STARTDT act sent, waiting for STARTDT con (controlling only);
 * - `started`: I-frames may flow;
 * - `stopping`: STOPDT act sent or received; waiting for outstanding acknowledgements / STOPDT con;
 * - `closed`: over; nothing more is emitted.
 */
export type LinkState = 'stopped' | 'starting' | 'started' | 'stopping' | 'closed';

/** Why a link closed. */
export type LinkCloseCode =
  | 'E_T1_TIMEOUT' // a sent I-frame or U-frame act was not acknowledged/confirmed within t1
  | 'E_SEQ_ACK' // N(R) acknowledges I-frames that were never sent (or goes backwards)
  | 'E_SEQ_ORDER' // received N(S) is not the expected V(R)
  | 'E_I_WHILE_STOPPED' // I-frame received while data transfer is not started
  | 'E_MALFORMED' // an APDU that does not decode (bad length, control field, ASDU)
  | 'E_UNEXPECTED_U' // a U-frame not allowed for this role/state (e.g. STARTDT con never asked for)
  | 'E_BUFFER_LIMIT' // a bounded queue overflowed
  | 'E_LOCAL' // closed by the local user
  | 'E_PEER_CLOSED'; // the transport ended

/** Reason given with the close event. */
export interface LinkCloseReason {
  code: LinkCloseCode;
  message: string;
  /** (addition) For `E_MALFORMED`: the codec error naming the field and byte offset. */
  error?: CodecError;
}

/** Outputs of the link machine. */
export interface LinkEvents {
  /** Bytes to write to the transport, in order. */
  write(bytes: Uint8Array): void;
  /** A received, in-sequence I-frame's ASDU. `frame` is the raw APDU (a copy, safe to keep, unless `borrowFrames`). */
  asdu(asdu: Asdu, frame: Uint8Array): void;
  /** The peer acknowledged I-frames that carried these tags (in send order). */
  acknowledged?(tags: unknown[]): void;
  /** State changed. */
  stateChange?(state: LinkState, previous: LinkState): void;
  /** The send window, full before, has room again. */
  drain?(): void;
  /** The link is over: close the transport. `unacknowledged` are the tags of I-frames sent but never acknowledged, in send order. */
  close(reason: LinkCloseReason, unacknowledged: unknown[]): void;
  /** Every APDU received or sent, decoded (for traces and hooks). */
  frame?(direction: 'in' | 'out', bytes: Uint8Array): void;
  /**
   * The handlers copy the received frames (`asdu`'s `frame`, `frame` 'in') they keep: the link may
   * then hand them a view valid during the call only, instead of a copy of every frame received.
   * Default false. (The station and the master set it: it spares an allocation per I-frame.)
   */
  borrowFrames?: boolean;
}

/** Options of the link machine. */
export interface LinkOptions {
  role: LinkRole;
  params?: Partial<LinkParameters>;
  clock?: Clock;
  codec?: Partial<CodecOptions>;
  logger?: Logger;
}

/** Live state of a link, for observability. */
export interface LinkSnapshot {
  state: LinkState;
  /** V(S): next send sequence number. */
  vs: number;
  /** V(R): next expected receive sequence number. */
  vr: number;
  /** Number of sent I-frames not yet acknowledged by the peer. */
  unacknowledged: number;
  /** Number of received I-frames not yet acknowledged by us. */
  receivedUnacknowledged: number;
  /** Absolute clock times at which t1/t2/t3 fire, when armed. */
  deadlines: { t1?: number; t2?: number; t3?: number };
  counters: {
    iIn: number; iOut: number; sIn: number; sOut: number; uIn: number; uOut: number;
    bytesIn: number; bytesOut: number;
  };
}
