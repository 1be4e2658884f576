/**
 * An endless stream over a fixed set of items: epoch e is a seeded shuffle of the items with
 * seed epochSeed(e), and the stream is epoch 0, then epoch 1, ... concatenated. take() reads any
 * window of it; a window straddling an epoch boundary takes the tail of one epoch and the head
 * of the next, so no item repeats within an epoch.
 *
 * Reading is O(window) plus O(items) the first time an epoch is touched; the last CACHED_EPOCHS
 * epochs are kept, so reading forward (as training does) costs amortised O(window).
 */
import { shuffleInPlace } from './prng';

const CACHED_EPOCHS = 2;

export class ShuffledStream {
  /** Most recently used last. */
  private readonly cache: { epoch: number; order: Uint32Array }[] = [];

  /**
   * @param items the ids to shuffle (not modified); a number n means 0..n-1 without storing them.
   * @param epochSeed the shuffle seed of each epoch.
   */
  constructor(
    private readonly items: Uint32Array | number,
    private readonly epochSeed: (epoch: number) => number,
  ) {
    if (this.length === 0) throw new RangeError('ShuffledStream needs at least one item');
  }

  get length(): number {
    return typeof this.items === 'number' ? this.items : this.items.length;
  }

  /** Copies stream positions [start, start + count) into out, starting at outOffset. */
  take(start: number, count: number, out: Uint32Array, outOffset = 0): void {
    const n = this.length;
    let pos = start;
    let o = outOffset;
    let left = count;
    while (left > 0) {
      const epoch = Math.floor(pos / n);
      const within = pos - epoch * n;
      const m = Math.min(left, n - within);
      out.set(this.epochOrder(epoch).subarray(within, within + m), o);
      pos += m;
      o += m;
      left -= m;
    }
  }

  /** The shuffled items of one epoch. */
  epochOrder(epoch: number): Uint32Array {
    const hit = this.cache.findIndex((e) => e.epoch === epoch);
    if (hit >= 0) {
      const [entry] = this.cache.splice(hit, 1);
      this.cache.push(entry);
      return entry.order;
    }
    const order = this.freshCopy();
    shuffleInPlace(order, this.epochSeed(epoch));
    if (this.cache.length >= CACHED_EPOCHS) this.cache.shift();
    this.cache.push({ epoch, order });
    return order;
  }

  private freshCopy(): Uint32Array {
    if (typeof this.items !== 'number') return this.items.slice();
    const a = new Uint32Array(this.items);
    for (let i = 0; i < a.length; i++) a[i] = i;
    return a;
  }
}
