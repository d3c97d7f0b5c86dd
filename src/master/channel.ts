/**
 * A bounded push-to-pull queue behind `for await` iteration of received ASDUs.
 */

/** @internal One consumer's buffer. When full, the oldest item is dropped and counted. */
export class Channel<T> implements AsyncIterableIterator<T> {
  private readonly buf: T[] = [];
  private readonly waiters: Array<(r: IteratorResult<T>) => void> = [];
  private ended = false;
  /** Items dropped because the consumer was too slow. */
  dropped = 0;

  constructor(
    private readonly limit: number,
    private readonly onEnd: (c: Channel<T>) => void,
  ) {}

  /** Offer an item; returns false when it displaced an older one. */
  push(v: T): boolean {
    if (this.ended) return true;
    const w = this.waiters.shift();
    if (w) {
      w({ value: v, done: false });
      return true;
    }
    this.buf.push(v);
    if (this.buf.length > this.limit) {
      this.buf.shift();
      this.dropped++;
      return false;
    }
    return true;
  }

  /** No more items: pending and future `next()` calls finish after the buffer is drained. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const w of this.waiters.splice(0)) w({ value: undefined, done: true });
    this.onEnd(this);
  }

  next(): Promise<IteratorResult<T>> {
    if (this.buf.length > 0) return Promise.resolve({ value: this.buf.shift() as T, done: false });
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  return(): Promise<IteratorResult<T>> {
    this.buf.length = 0;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
