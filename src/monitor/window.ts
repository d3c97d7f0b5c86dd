/**
 * Small bounded structures for rate rules measured in capture time. All of them are O(1) per
 * event with no per-event allocation once a key exists: the LRU order and the sliding windows are
 * kept in intrusive linked lists and ring buffers instead of reinserting Map entries.
 */

/** @internal An entry of a {@link BoundedMap}: callers may keep it and pass it to `reuse` while it is `live`. */
export interface LruEntry<K, V> {
  readonly key: K;
  value: V;
  /** False once the key was deleted or evicted. */
  live: boolean;
  /** Recency: the map's clock at the entry's last use. */
  stamp: number;
  prev: LruEntry<K, V> | undefined;
  next: LruEntry<K, V> | undefined;
}

/**
 * A Map that keeps at most `cap` keys, evicting the least recently used.
 *
 * Recency is a stamp per entry. The LRU order matters only for eviction, so until the map first
 * overflows a use just writes the stamp (the host and window maps of the rules are used on every
 * APDU and usually stay far below their bound); at the first overflow the entries are linked once
 * in stamp order, and from then on every use moves its entry to the tail of that list.
 */
export class BoundedMap<K, V> {
  private readonly m = new Map<K, LruEntry<K, V>>();
  private clock = 0;
  /** Whether the LRU list below is maintained (after the first overflow). */
  private linked = false;
  /** Least recently used. */
  private head: LruEntry<K, V> | undefined;
  /** Most recently used. */
  private tail: LruEntry<K, V> | undefined;
  constructor(private readonly cap: number) {}
  /** Get `k`, creating it with `make` when missing; marks it recently used. */
  use(k: K, make: () => V): V {
    return this.entry(k, make).value;
  }
  /** Mark `k` recently used (creating it with `value` when missing). Cheaper than `use` for constant values. */
  touch(k: K, value: V): void {
    const n = this.m.get(k);
    if (n !== undefined) this.used(n);
    else this.insert(k, value);
  }
  /** Get `k` and mark it recently used, or undefined (then {@link BoundedMap.add} it). */
  getUsed(k: K): V | undefined {
    const n = this.m.get(k);
    if (n === undefined) return undefined;
    this.used(n);
    return n.value;
  }
  /** Insert a key known to be missing, as the most recently used. */
  add(k: K, v: V): void {
    this.insert(k, v);
  }
  /** @internal Like {@link BoundedMap.use}, returning the entry (to keep for {@link BoundedMap.reuse}). */
  entry(k: K, make: () => V): LruEntry<K, V> {
    const n = this.m.get(k);
    if (n !== undefined) {
      this.used(n);
      return n;
    }
    return this.insert(k, make());
  }
  /** @internal Mark a kept entry recently used; it must still be `live`. */
  reuse(n: LruEntry<K, V>): void {
    this.used(n);
  }
  get(k: K): V | undefined {
    return this.m.get(k)?.value;
  }
  delete(k: K): boolean {
    const n = this.m.get(k);
    if (n === undefined) return false;
    if (this.linked) this.unlink(n);
    n.live = false;
    this.m.delete(k);
    return true;
  }
  has(k: K): boolean {
    return this.m.has(k);
  }
  get size(): number {
    return this.m.size;
  }
  /** The values, least recently used first. */
  *values(): IterableIterator<V> {
    if (this.linked) {
      for (let n = this.head; n !== undefined; n = n.next) yield n.value;
      return;
    }
    for (const n of [...this.m.values()].sort((a, b) => a.stamp - b.stamp)) yield n.value;
  }
  private used(n: LruEntry<K, V>): void {
    n.stamp = ++this.clock;
    if (this.linked && n !== this.tail) this.moveToTail(n);
  }
  private insert(k: K, v: V): LruEntry<K, V> {
    const n: LruEntry<K, V> = { key: k, value: v, live: true, stamp: ++this.clock, prev: undefined, next: undefined };
    this.m.set(k, n);
    if (this.linked) this.append(n);
    if (this.m.size > this.cap) {
      if (!this.linked) {
        // first overflow: order the entries by their last use once
        for (const e of [...this.m.values()].sort((a, b) => a.stamp - b.stamp)) this.append(e);
        this.linked = true;
      }
      const old = this.head!;
      this.unlink(old);
      old.live = false;
      this.m.delete(old.key);
    }
    return n;
  }
  private append(n: LruEntry<K, V>): void {
    n.prev = this.tail;
    n.next = undefined;
    if (this.tail) this.tail.next = n;
    else this.head = n;
    this.tail = n;
  }
  private unlink(n: LruEntry<K, V>): void {
    if (n.prev) n.prev.next = n.next;
    else this.head = n.next;
    if (n.next) n.next.prev = n.prev;
    else this.tail = n.prev;
    n.prev = n.next = undefined;
  }
  private moveToTail(n: LruEntry<K, V>): void {
    this.unlink(n);
    this.append(n);
  }
}

/**
 * Events in a sliding window. `add` returns whether the count just went above `threshold`
 * (once per excursion: it re-arms when the count falls back to the threshold).
 */
export class RateWindow {
  /** Ring buffer of the event times kept: at most threshold + 1, plus room for the one being added. */
  private readonly times: Float64Array;
  private start = 0;
  private n = 0;
  private armed = true;
  constructor(private readonly windowMs: number, private readonly threshold: number) {
    this.times = new Float64Array(Math.max(0, threshold) + 2);
  }
  /** Record an event at `ts`; true when this event crosses the threshold. */
  add(ts: number): boolean {
    const t = this.times;
    const cap = t.length;
    let end = this.start + this.n;
    if (end >= cap) end -= cap;
    t[end] = ts;
    this.n++;
    while (this.n > 0 && ts - t[this.start] > this.windowMs) {
      this.start = this.start + 1 === cap ? 0 : this.start + 1;
      this.n--;
    }
    // never keep more than needed to decide
    while (this.n > this.threshold + 1) {
      this.start = this.start + 1 === cap ? 0 : this.start + 1;
      this.n--;
    }
    if (this.n > this.threshold) {
      if (this.armed) {
        this.armed = false;
        return true;
      }
      return false;
    }
    this.armed = true;
    return false;
  }
  /** Events currently in the window (at most threshold + 1). */
  get count(): number {
    return this.n;
  }
  /** Time of the oldest event kept. */
  get first(): number | undefined {
    return this.n > 0 ? this.times[this.start] : undefined;
  }
}

/** @internal A key of a {@link DistinctWindow}: callers may keep it and pass it to `addWith` while it is `live`. */
export interface SeenNode {
  readonly key: string;
  ts: number;
  /** False once the key left the window. */
  live: boolean;
  prev: SeenNode | undefined;
  next: SeenNode | undefined;
}

/** Distinct keys seen in a sliding window, with the same once-per-excursion crossing semantics. */
export class DistinctWindow {
  private readonly seen = new Map<string, SeenNode>();
  /** Oldest (least recently seen). */
  private head: SeenNode | undefined;
  /** Newest. */
  private tail: SeenNode | undefined;
  private armed = true;
  constructor(private readonly windowMs: number, private readonly threshold: number, private readonly cap = 4096) {}
  /** @internal The entry of the key added last (see {@link DistinctWindow.addWith}). */
  lastAdded: SeenNode | undefined;
  /** Record `key` at `ts`; true when the number of distinct keys crosses the threshold. */
  add(key: string, ts: number): boolean {
    return this.addWith(key, ts, undefined);
  }
  /**
   * @internal {@link DistinctWindow.add} given the entry of `key` kept from an earlier call
   * (`lastAdded` after it), used instead of a lookup while it is live.
   */
  addWith(key: string, ts: number, kept: SeenNode | undefined): boolean {
    let n = kept !== undefined && kept.live ? kept : this.seen.get(key);
    if (n !== undefined) {
      n.ts = ts;
      if (n !== this.tail) {
        this.unlink(n);
        this.append(n);
      }
    } else {
      n = { key, ts, live: true, prev: undefined, next: undefined };
      this.append(n);
      this.seen.set(key, n);
    }
    this.lastAdded = n;
    for (let h = this.head; h !== undefined && ts - h.ts > this.windowMs; h = this.head) this.remove(h);
    if (this.seen.size > this.cap) this.remove(this.head!);
    if (this.seen.size > this.threshold) {
      if (this.armed) {
        this.armed = false;
        return true;
      }
      return false;
    }
    this.armed = true;
    return false;
  }
  get size(): number {
    return this.seen.size;
  }
  /** The keys in the window (oldest first). */
  keys(): string[] {
    const out: string[] = [];
    for (let n = this.head; n !== undefined; n = n.next) out.push(n.key);
    return out;
  }
  private remove(n: SeenNode): void {
    this.unlink(n);
    n.live = false;
    this.seen.delete(n.key);
  }
  private append(n: SeenNode): void {
    n.prev = this.tail;
    n.next = undefined;
    if (this.tail) this.tail.next = n;
    else this.head = n;
    this.tail = n;
  }
  private unlink(n: SeenNode): void {
    if (n.prev) n.prev.next = n.next;
    else this.head = n.next;
    if (n.next) n.next.prev = n.prev;
    else this.tail = n.prev;
    n.prev = n.next = undefined;
  }
}
