/**
 * Small bounded structures for rate rules measured in capture time.
 */

/** A Map that keeps at most `cap` keys, evicting the least recently used. */
export class BoundedMap<K, V> {
  private readonly m = new Map<K, V>();
  constructor(private readonly cap: number) {}
  /** Get `k`, creating it with `make` when missing; marks it recently used. */
  use(k: K, make: () => V): V {
    let v = this.m.get(k);
    if (v !== undefined) {
      this.m.delete(k);
      this.m.set(k, v);
      return v;
    }
    v = make();
    this.m.set(k, v);
    if (this.m.size > this.cap) this.m.delete(this.m.keys().next().value as K);
    return v;
  }
  get(k: K): V | undefined {
    return this.m.get(k);
  }
  delete(k: K): boolean {
    return this.m.delete(k);
  }
  has(k: K): boolean {
    return this.m.has(k);
  }
  get size(): number {
    return this.m.size;
  }
  values(): IterableIterator<V> {
    return this.m.values();
  }
}

/**
 * Events in a sliding window. `add` returns whether the count just went above `threshold`
 * (once per excursion: it re-arms when the count falls back to the threshold).
 */
export class RateWindow {
  private readonly times: number[] = [];
  private armed = true;
  constructor(private readonly windowMs: number, private readonly threshold: number) {}
  /** Record an event at `ts`; true when this event crosses the threshold. */
  add(ts: number): boolean {
    this.times.push(ts);
    while (this.times.length > 0 && ts - this.times[0] > this.windowMs) this.times.shift();
    // never keep more than needed to decide
    if (this.times.length > this.threshold + 1) this.times.splice(0, this.times.length - this.threshold - 1);
    if (this.times.length > this.threshold) {
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
    return this.times.length;
  }
  /** Time of the oldest event kept. */
  get first(): number | undefined {
    return this.times[0];
  }
}

/** Distinct keys seen in a sliding window, with the same once-per-excursion crossing semantics. */
export class DistinctWindow {
  private readonly seen = new Map<string, number>();
  private armed = true;
  constructor(private readonly windowMs: number, private readonly threshold: number, private readonly cap = 4096) {}
  /** Record `key` at `ts`; true when the number of distinct keys crosses the threshold. */
  add(key: string, ts: number): boolean {
    this.seen.delete(key);
    this.seen.set(key, ts);
    for (const [k, t] of this.seen) {
      if (ts - t <= this.windowMs) break;
      this.seen.delete(k);
    }
    if (this.seen.size > this.cap) this.seen.delete(this.seen.keys().next().value as string);
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
    return [...this.seen.keys()];
  }
}
