/**
 * shard: the "pathological non-IID" partition of McMahan et al. 2017 (FedAvg; MNIST sorted by
 * digit, cut into 200 shards of 300, 2 shards per client). A partition strategy (see partition).
 *
 * The training ids are sorted by label (stable by class; within a class in a seeded order, class-
 * epoch 0 of the per-class streams), cut into M = W * shardsPerNode consecutive shards of equal size
 * (N/M; when M does not divide N the first N mod M shards get one sample more, so every sample is
 * owned), and a seeded permutation of the shards deals shardsPerNode of them to each worker: worker
 * w owns shards perm[w*S .. (w+1)*S - 1]. A shard spans one class, or two where it crosses a class
 * boundary (more only if shards are larger than classes), so a worker typically holds between S
 * and 2S classes.
 */
import { DataError } from './errors';
import { evenSplit, PartitionBatches, PartitionedStrategy, shuffledClassIds } from './partition';
import { deriveSeed, permutation } from './prng';
import type { StrategyOptions } from './strategy';
import { plural, STRATEGY_DEFAULTS, validateStrategyOptions } from './strategy';

const TAG_SHARDS = 0x736864; // 'shd'

export class ShardStrategy extends PartitionedStrategy {
  readonly name = 'shard';
  protected readonly parts: PartitionBatches;
  /** All training ids, label-sorted (ties seeded). */
  private readonly sorted: Uint32Array;
  /** Shard j is sorted[starts[j] .. starts[j + 1]). */
  private readonly starts: number[];
  /** Shard indices of each worker, ascending. */
  private readonly shards: number[][];
  private readonly shardsPerNode: number;
  private readonly batchSize: number;

  constructor(opts: StrategyOptions) {
    super();
    validateStrategyOptions(this.name, opts);
    const { labels, numClasses: C, workers: W, batchSize: B, seed } = opts;
    const S = opts.shardsPerNode ?? STRATEGY_DEFAULTS.shardsPerNode;
    const N = labels.length;
    if (N < W * B) {
      throw new DataError(
        `--batch-size: shard gives each of ${plural(W, 'worker')} ${N}/${W} of the ${N} training samples and each needs at least one batch of ${B}, but ${W} x ${B} = ${W * B} > ${N}; use a smaller --batch-size or fewer --workers`,
      );
    }
    const M = W * S;
    if (M > N) {
      throw new DataError(
        `--shards-per-node: ${W} x ${S} = ${M} shards of ${N} training samples would leave shards empty; use at most ${Math.floor(N / W)}`,
      );
    }
    this.shardsPerNode = S;
    this.batchSize = B;

    this.sorted = new Uint32Array(N);
    let at = 0;
    for (const ids of shuffledClassIds(labels, C, seed)) {
      this.sorted.set(ids, at);
      at += ids.length;
    }
    this.starts = [0];
    for (const n of evenSplit(N, M)) this.starts.push(this.starts[this.starts.length - 1] + n);

    const deal = permutation(M, deriveSeed(seed, TAG_SHARDS));
    this.shards = Array.from({ length: W }, (_, w) => Array.from(deal.subarray(w * S, (w + 1) * S)).sort((a, b) => a - b));
    const owner = new Uint32Array(N);
    this.shards.forEach((mine, w) => {
      for (const j of mine) for (let i = this.starts[j]; i < this.starts[j + 1]; i++) owner[this.sorted[i]] = w;
    });
    this.parts = new PartitionBatches(
      this.name,
      owner,
      labels,
      C,
      W,
      B,
      seed,
      (smallest) => `use --batch-size at most ${smallest} or fewer --workers`,
    );
  }

  /** The shards (indices 0..W*S-1 in label-sorted order) worker `worker` owns, ascending. */
  shardsOf(worker: number): number[] {
    this.parts.partition(worker); // range check
    return this.shards[worker].slice();
  }

  /** The ids of shard j, in label-sorted order (a copy). */
  shard(j: number): Uint32Array {
    if (!Number.isInteger(j) || j < 0 || j >= this.starts.length - 1) {
      throw new RangeError(`shard must be an integer in 0..${this.starts.length - 2}, got ${j}`);
    }
    return this.sorted.slice(this.starts[j], this.starts[j + 1]);
  }

  describe(): string {
    const w = this.parts.workers;
    const s = this.shardsPerNode;
    const m = this.starts.length - 1;
    const n = this.sorted.length;
    const held = this.parts.counts.map((row) => row.filter((x) => x > 0).length);
    const lo = Math.min(...held);
    const hi = Math.max(...held);
    const shardSize = n % m === 0 ? `${n / m}` : `${Math.floor(n / m)}-${Math.floor(n / m) + 1}`;
    return (
      `shard: the ${n} training samples sorted by label are cut into ${m} shards of ${shardSize}; ` +
      `each of ${plural(w, 'worker')} owns ${plural(s, 'seeded random shard')} (${lo === hi ? lo : `${lo}..${hi}`} classes per worker); ` +
      `partitions of ${this.parts.sizeSummary()}, ${this.batchSize} per step, reshuffled every local epoch`
    );
  }
}
