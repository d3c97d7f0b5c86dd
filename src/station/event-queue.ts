/**
 * The outgoing event queue of a controlled station: spontaneous (and return-information) events
 * wait here until the peer acknowledged the I-frame that carried them.
 *
 * Events go through three places: `pending` (waiting to be sent), `inFlight` (sent in an I-frame
 * whose tag is an {@link EventBatch}, not yet acknowledged) and gone (acknowledged, or dropped by
 * the overflow policy). When a connection closes, the link gives back the tags of unacknowledged
 * I-frames and {@link EventQueue.requeue} puts their events back at the head of `pending`, in
 * their original order, so the next started connection sends them again first.
 *
 * The queue is bounded: `capacity` limits the pending events (in-flight ones are bounded by the
 * link's window k). On overflow, `drop-oldest` discards the oldest pending event and
 * `drop-newest` refuses the new one; either way the `dropped` counter grows and one warning is
 * logged at the start of each overflow episode (and an info line when it ends).
 *
 * One queue serves one *redundancy group* (see `redundancy-group.ts`): with the default `single`
 * mode, the station has one (all its connections); `per-connection` and `groups` have one per group.
 */
import type { InformationObject } from '../codec/asdu.js';
import type { Logger } from '../log.js';
import { nullLogger } from '../log.js';

/** One queued event: an information object with the type, CA and cause it is sent with. */
export interface StationEvent {
  /** Sequence number, increasing in order of raising. */
  readonly seq: number;
  readonly ca: number;
  readonly typeId: number;
  readonly cot: number;
  readonly object: InformationObject;
}

/** The events carried by one I-frame; used as the frame's tag. */
export class EventBatch {
  constructor(
    /** Events in order. */
    readonly events: readonly StationEvent[],
    /** The queue the batch came from. */
    readonly queue: EventQueue,
  ) {}
}

/** What to do when the queue is full. */
export type OverflowPolicy = 'drop-oldest' | 'drop-newest';

/** Options of {@link EventQueue}. */
export interface EventQueueOptions {
  /** Most pending (not yet sent) events kept. Default 10 000. */
  capacity?: number;
  /** Default `drop-oldest`. */
  overflow?: OverflowPolicy;
  logger?: Logger;
}

/** Counters of an {@link EventQueue}. */
export interface EventQueueStats {
  capacity: number;
  overflow: OverflowPolicy;
  /** Events waiting to be sent. */
  pending: number;
  /** Events sent, not yet acknowledged. */
  inFlight: number;
  /** Events ever accepted. */
  enqueued: number;
  /** Events handed to a link (counting re-sends). */
  sent: number;
  /** Events whose I-frame was acknowledged. */
  acknowledged: number;
  /** Events put back after a connection closed unacknowledged. */
  requeued: number;
  /** Events lost to the overflow policy. */
  dropped: number;
}

/**
 * FIFO of station events with acknowledgement tracking.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { EventQueue } from 'iec104';
 * const q = new EventQueue({ capacity: 2, overflow: 'drop-oldest' });
 * q.push({ ca: 1, typeId: 30, cot: 3, object: { ioa: 1, value: true } });
 * const batch = q.take(() => true, 10)!; // now in flight
 * assert.equal(q.inFlight, 1);
 * q.acknowledge(batch); // delivered
 * assert.equal(q.stats().acknowledged, 1);
 * ```
 */
export class EventQueue {
  readonly capacity: number;
  readonly overflow: OverflowPolicy;
  private readonly log: Logger;
  private pendingList: StationEvent[] = [];
  /** Index of the first pending element (array used as a deque). */
  private head = 0;
  private readonly inFlightBatches = new Set<EventBatch>();
  private inFlightCount = 0;
  private seq = 0;
  private overflowing = false;
  private droppedInEpisode = 0;
  private readonly counters = { enqueued: 0, sent: 0, acknowledged: 0, requeued: 0, dropped: 0 };

  constructor(o: EventQueueOptions = {}) {
    const cap = o.capacity ?? 10_000;
    if (!Number.isInteger(cap) || cap < 1) throw new RangeError(`event queue capacity must be an integer >= 1, got ${cap}`);
    this.capacity = cap;
    this.overflow = o.overflow ?? 'drop-oldest';
    if (this.overflow !== 'drop-oldest' && this.overflow !== 'drop-newest') throw new RangeError(`unknown overflow policy '${String(this.overflow)}'`);
    this.log = o.logger ?? nullLogger;
  }

  /** Pending events. */
  get pending(): number {
    return this.pendingList.length - this.head;
  }
  /** Events sent and not yet acknowledged. */
  get inFlight(): number {
    return this.inFlightCount;
  }

  /**
   * Add an event. Returns the queued event, or undefined when it was refused (`drop-newest` on a
   * full queue).
   */
  push(e: { ca: number; typeId: number; cot: number; object: InformationObject }): StationEvent | undefined {
    const ev: StationEvent = { seq: ++this.seq, ca: e.ca, typeId: e.typeId, cot: e.cot, object: e.object };
    if (this.pending >= this.capacity) {
      if (this.overflow === 'drop-newest') {
        this.dropped(1, ev);
        return undefined;
      }
      const old = this.pendingList[this.head];
      this.head++;
      this.dropped(1, old);
    }
    this.pendingList.push(ev);
    this.counters.enqueued++;
    this.compact();
    return ev;
  }

  /** Sequence number of the last event raised (0 when none). */
  get lastSeq(): number {
    return this.seq;
  }

  /** Whether an event with sequence number <= `seq` is still pending (not yet handed to a link). */
  hasPendingUpTo(seq: number): boolean {
    return this.pending > 0 && this.pendingList[this.head].seq <= seq;
  }

  /** The next pending event, without taking it. */
  peek(): StationEvent | undefined {
    return this.pending > 0 ? this.pendingList[this.head] : undefined;
  }

  /**
   * Take up to `max` consecutive pending events that may share one ASDU (`fits(first, next)`,
   * usually: same type, CA and cause) and move them in flight. Undefined when nothing is pending.
   */
  take(fits: (first: StationEvent, next: StationEvent) => boolean, max: number): EventBatch | undefined {
    if (this.pending === 0) return undefined;
    const first = this.pendingList[this.head];
    const events: StationEvent[] = [first];
    let i = this.head + 1;
    while (events.length < max && i < this.pendingList.length && fits(first, this.pendingList[i])) events.push(this.pendingList[i++]);
    this.head = i;
    const b = new EventBatch(events, this);
    this.inFlightBatches.add(b);
    this.inFlightCount += events.length;
    this.counters.sent += events.length;
    this.compact();
    this.checkEpisodeEnd();
    return b;
  }

  /** A batch taken but not sent after all (the link refused it): back to the head of pending. */
  untake(b: EventBatch): void {
    if (!this.inFlightBatches.delete(b)) return;
    this.inFlightCount -= b.events.length;
    this.counters.sent -= b.events.length;
    // usual case (the link refused the batch just taken): step back over it, O(1); copying the
    // pending list on every refused send made a backlog quadratic.
    const n = b.events.length;
    if (this.head >= n && this.pendingList[this.head - n] === b.events[0]) {
      this.head -= n;
      return;
    }
    this.unshift(b.events);
  }

  /** The I-frame carrying `b` was acknowledged: its events are delivered. */
  acknowledge(b: EventBatch): void {
    if (!this.inFlightBatches.delete(b)) return;
    this.inFlightCount -= b.events.length;
    this.counters.acknowledged += b.events.length;
  }

  /**
   * A connection closed with these batches unacknowledged (in send order): put their events back
   * at the head of pending, in order. Batches already acknowledged or not from this queue are ignored.
   */
  requeue(batches: readonly EventBatch[]): number {
    const events: StationEvent[] = [];
    for (const b of batches) {
      if (!this.inFlightBatches.delete(b)) continue;
      this.inFlightCount -= b.events.length;
      for (const e of b.events) events.push(e);
    }
    if (events.length === 0) return 0;
    events.sort((a, b) => a.seq - b.seq);
    this.counters.requeued += events.length;
    this.unshift(events);
    return events.length;
  }

  /**
   * Every in-flight batch back to the head of pending, in order (events change connection: the new
   * one must send them before anything newer). An acknowledgement that still arrives for such a
   * batch is ignored; its events are sent again (at least once). Returns how many events.
   */
  requeueInFlight(): number {
    return this.inFlightBatches.size === 0 ? 0 : this.requeue([...this.inFlightBatches]);
  }

  /** Remove pending events matching `pred` (e.g. reset of pending time-tagged information). Returns how many. */
  discard(pred: (e: StationEvent) => boolean): number {
    const keep: StationEvent[] = [];
    let n = 0;
    for (let i = this.head; i < this.pendingList.length; i++) {
      if (pred(this.pendingList[i])) n++;
      else keep.push(this.pendingList[i]);
    }
    this.pendingList = keep;
    this.head = 0;
    return n;
  }

  /** Counters and depths. */
  stats(): EventQueueStats {
    return { capacity: this.capacity, overflow: this.overflow, pending: this.pending, inFlight: this.inFlightCount, ...this.counters };
  }

  private unshift(events: readonly StationEvent[]): void {
    const rest = this.pendingList.slice(this.head);
    this.pendingList = [...events, ...rest];
    this.head = 0;
    // capacity applies again: re-queued events are the oldest.
    while (this.pending > this.capacity) {
      if (this.overflow === 'drop-newest') this.dropped(1, this.pendingList.pop()!);
      else this.dropped(1, this.pendingList[this.head++]);
    }
    this.compact();
  }

  private dropped(n: number, e: StationEvent): void {
    this.counters.dropped += n;
    this.droppedInEpisode += n;
    if (!this.overflowing) {
      this.overflowing = true;
      this.log.log('warn', 'station.queue.overflow', `event queue full (${this.capacity}): ${this.overflow === 'drop-oldest' ? 'dropping oldest events' : 'dropping new events'}`, {
        capacity: this.capacity, policy: this.overflow, dropped: this.counters.dropped, ca: e.ca, typeId: e.typeId, ioa: e.object.ioa,
      });
    }
  }

  private checkEpisodeEnd(): void {
    if (this.overflowing && this.pending < this.capacity) {
      this.log.log('info', 'station.queue.overflow_end', `event queue below capacity again; ${this.droppedInEpisode} event(s) dropped in this overflow`, {
        droppedInEpisode: this.droppedInEpisode, dropped: this.counters.dropped,
      });
      this.overflowing = false;
      this.droppedInEpisode = 0;
    }
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.pendingList.length) {
      this.pendingList = this.pendingList.slice(this.head);
      this.head = 0;
    }
  }
}
