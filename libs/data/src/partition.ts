/**
 * Partition strategies (k-classes-per-node, dirichlet, shard): each worker owns a fixed subset of
 * the training set, decided once from the seed, as in federated-learning benchmarks (NIID-Bench).
 *
 * Worker w trains on its own subset only: its batch at step t is positions [tB, (t+1)B) of an
 * endless stream over its subset, reshuffled with seed deriveSeed(seed, 'prt', w, localEpoch)
 * every time it is exhausted (a local epoch). A batch straddling two local epochs takes the tail of
 * one and the head of the next, so no sample repeats within a local epoch. Every worker therefore
 * needs at least B samples; fewer is a DataError naming --batch-size.
 *
 * This module holds the shared machinery: the PartitionStrategy interface, the per-worker streams
 * (PartitionBatches) and the report helpers. Each partition scheme lives in its own module and only
 * decides which worker owns which sample.
 */
import { ClassStreams } from './class-streams';
import { DataError } from './errors';
import { deriveSeed } from './prng';
import { ShuffledStream } from './shuffled-stream';
import type { Strategy } from './strategy';
import { checkStepWorker } from './strategy';

const TAG_PARTITION = 0x707274; // 'prt'

/** owner[id] of a sample no worker owns (k-classes-per-node with W*k < C). */
export const UNOWNED = 0xffffffff;

/** A strategy in which every worker owns a fixed subset of the training set. */
export interface PartitionStrategy extends Strategy {
  /** The training ids worker `worker` owns, ascending (a copy). */
  partition(worker: number): Uint32Array;
  /** Per worker, the number of samples of each class it owns (rows: workers, columns: classes). */
  partitionCounts(): number[][];
}

export function isPartitionStrategy(strategy: Strategy): strategy is PartitionStrategy {
  const s = strategy as Partial<PartitionStrategy>;
  return typeof s.partition === 'function' && typeof s.partitionCounts === 'function';
}

/**
 * Per worker and class, the samples a partition strategy gives each worker for good (one local
 * epoch); null for strategies without fixed partitions (iid, label-per-node, ...), whose label mix
 * is better read from labelHistogram over some steps.
 */
export function partitionSizes(strategy: Strategy): number[][] | null {
  return isPartitionStrategy(strategy) ? strategy.partitionCounts() : null;
}

/**
 * The ids of each class in a seeded order: class-epoch 0 of the per-class streams (see
 * class-streams), i.e. the order label-per-node reads each class in first. Partition schemes cut
 * these into pieces, so "split after a seeded shuffle" needs no extra randomness.
 */
export function shuffledClassIds(labels: Uint8Array, numClasses: number, seed: number): Uint32Array[] {
  const streams = new ClassStreams(labels, numClasses, seed);
  return Array.from({ length: numClasses }, (_, c) => streams.classEpoch(c, 0));
}

/** Splits n items into `parts` consecutive pieces whose sizes differ by at most 1, larger first (numpy array_split). */
export function evenSplit(n: number, parts: number): number[] {
  const base = Math.floor(n / parts);
  const extra = n % parts;
  return Array.from({ length: parts }, (_, i) => base + (i < extra ? 1 : 0));
}

/** The per-worker streams behind every partition strategy's batch(). */
export class PartitionBatches {
  /** Samples each worker owns. */
  readonly sizes: readonly number[];
  /** Per worker, owned samples of each class. */
  readonly counts: readonly (readonly number[])[];
  private readonly parts: Uint32Array[];
  private readonly streams: ShuffledStream[];

  /**
   * @param owner owner[id] = the worker owning training sample id, or UNOWNED.
   * @param describeShortfall the end of the DataError when a worker owns fewer than batchSize
   *   samples, e.g. "use a smaller --batch-size or --shards-per-node"; it is told the worker's size.
   */
  constructor(
    name: string,
    owner: Uint32Array,
    labels: Uint8Array,
    numClasses: number,
    workers: number,
    private readonly batchSize: number,
    seed: number,
    describeShortfall: (smallest: number) => string,
  ) {
    const sizes = new Array<number>(workers).fill(0);
    const counts = Array.from({ length: workers }, () => new Array<number>(numClasses).fill(0));
    for (let id = 0; id < owner.length; id++) {
      const w = owner[id];
      if (w === UNOWNED) continue;
      sizes[w]++;
      counts[w][labels[id]]++;
    }
    const smallest = Math.min(...sizes);
    if (smallest < batchSize) {
      const w = sizes.indexOf(smallest);
      throw new DataError(
        `--batch-size: ${name} gives worker ${w} only ${smallest} samples, fewer than one batch of ${batchSize}; ${describeShortfall(smallest)}`,
      );
    }
    // Ascending ids per worker, in one pass.
    const parts = sizes.map((n) => new Uint32Array(n));
    const filled = new Array<number>(workers).fill(0);
    for (let id = 0; id < owner.length; id++) {
      const w = owner[id];
      if (w !== UNOWNED) parts[w][filled[w]++] = id;
    }
    this.sizes = sizes;
    this.counts = counts;
    this.parts = parts;
    this.streams = parts.map((part, w) => new ShuffledStream(part, (epoch) => deriveSeed(seed, TAG_PARTITION, w, epoch)));
  }

  get workers(): number {
    return this.parts.length;
  }

  batch(step: number, worker: number): Uint32Array {
    checkStepWorker(step, worker, this.workers);
    const out = new Uint32Array(this.batchSize);
    this.streams[worker].take(step * this.batchSize, this.batchSize, out);
    return out;
  }

  partition(worker: number): Uint32Array {
    checkStepWorker(0, worker, this.workers);
    return this.parts[worker].slice();
  }

  partitionCounts(): number[][] {
    return this.counts.map((row) => row.slice());
  }

  /** "320 samples each (10 steps per local epoch)" or "212..498 samples (7..16 steps per local epoch)". */
  sizeSummary(): string {
    const min = Math.min(...this.sizes);
    const max = Math.max(...this.sizes);
    const steps = (n: number) => {
      const s = n / this.batchSize;
      return Number.isInteger(s) ? String(s) : s.toFixed(1);
    };
    if (min === max) return `${min} samples each (${steps(min)} steps per local epoch)`;
    return `${min}..${max} samples (${steps(min)}..${steps(max)} steps per local epoch)`;
  }
}

/**
 * What every partition strategy does the same way: batches, partitions and counts come from its
 * PartitionBatches. Subclasses decide who owns which sample and build `parts` from that.
 */
export abstract class PartitionedStrategy implements PartitionStrategy {
  abstract readonly name: PartitionStrategy['name'];
  protected abstract readonly parts: PartitionBatches;
  abstract describe(): string;

  batch(step: number, worker: number): Uint32Array {
    return this.parts.batch(step, worker);
  }

  partition(worker: number): Uint32Array {
    return this.parts.partition(worker);
  }

  partitionCounts(): number[][] {
    return this.parts.partitionCounts();
  }
}
