/**
 * Per-class streams, shared by label-per-node, sequential-single-class and stratified.
 *
 * Each class c has its own endless sample order: a seeded shuffle of that class's ids, reshuffled
 * with a new derived seed deriveSeed(seed, class, classEpoch) each time it is exhausted. Strategies
 * read it in chunks: chunk k of size s is stream positions [k*s, (k+1)*s). A chunk straddling the
 * end of a class-epoch takes the tail and then the head of the next class-epoch, so no sample is
 * reused within a class-epoch. Because the streams depend only on (labels, seed), two strategies
 * that hand out the same chunks of the same classes hand out exactly the same samples.
 */
import { deriveSeed } from './prng';
import { ShuffledStream } from './shuffled-stream';

const TAG_CLASS_STREAM = 0x636c73; // 'cls'

export class ClassStreams {
  /** Number of samples of each class. */
  readonly classSizes: readonly number[];
  private readonly streams: ShuffledStream[];

  /** Every label must be < numClasses and every class must occur (see validateStrategyOptions). */
  constructor(labels: Uint8Array, numClasses: number, seed: number) {
    // Counting sort: ids of class c end up in ascending order in their own slice.
    const sizes = new Array<number>(numClasses).fill(0);
    for (let i = 0; i < labels.length; i++) sizes[labels[i]]++;
    const starts = new Array<number>(numClasses).fill(0);
    for (let c = 1; c < numClasses; c++) starts[c] = starts[c - 1] + sizes[c - 1];
    const grouped = new Uint32Array(labels.length);
    const next = starts.slice();
    for (let i = 0; i < labels.length; i++) grouped[next[labels[i]]++] = i;

    this.classSizes = sizes;
    this.streams = sizes.map(
      (size, c) =>
        new ShuffledStream(grouped.subarray(starts[c], starts[c] + size), (epoch) =>
          deriveSeed(seed, TAG_CLASS_STREAM, c, epoch),
        ),
    );
  }

  /** Writes chunk k (of `size` samples) of class c's stream into out at outOffset. */
  chunk(c: number, k: number, size: number, out: Uint32Array, outOffset = 0): void {
    this.streams[c].take(k * size, size, out, outOffset);
  }

  /** The ids of class c in the order of its class-epoch `epoch`. */
  classEpoch(c: number, epoch: number): Uint32Array {
    return this.streams[c].epochOrder(epoch).slice();
  }
}
