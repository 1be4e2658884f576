/**
 * iid: the baseline every other plan is compared with.
 *
 * Each epoch is a fresh seeded shuffle of the whole training set (epoch e uses
 * deriveSeed(seed, e)). Global batch g = step * W + worker takes positions [g*B, (g+1)*B) of the
 * concatenated epoch permutations, so within a step the W workers read disjoint consecutive
 * slices, every sample is seen once per epoch, and a batch crossing an epoch boundary takes the
 * tail of one permutation and the head of the next. Label mix of a batch ~ the global mix.
 */
import { deriveSeed } from './prng';
import { ShuffledStream } from './shuffled-stream';
import type { Strategy, StrategyOptions } from './strategy';
import { checkStepWorker, plural, validateStrategyOptions } from './strategy';

const TAG_IID = 0x696964; // 'iid'

export class IidStrategy implements Strategy {
  readonly name = 'iid';
  private readonly stream: ShuffledStream;
  private readonly workers: number;
  private readonly batchSize: number;
  private readonly size: number;

  constructor(opts: StrategyOptions) {
    validateStrategyOptions(this.name, opts);
    this.workers = opts.workers;
    this.batchSize = opts.batchSize;
    this.size = opts.labels.length;
    this.stream = new ShuffledStream(this.size, (epoch) => deriveSeed(opts.seed, TAG_IID, epoch));
  }

  batch(step: number, worker: number): Uint32Array {
    checkStepWorker(step, worker, this.workers);
    const out = new Uint32Array(this.batchSize);
    const globalBatch = step * this.workers + worker;
    this.stream.take(globalBatch * this.batchSize, this.batchSize, out);
    return out;
  }

  describe(): string {
    const { workers: w, batchSize: b, size } = this;
    const stepsPerEpoch = size / (w * b);
    return (
      `iid: every epoch is a fresh seeded shuffle of all ${size} training samples; each step ${plural(w, 'worker')} ` +
      `take${w === 1 ? 's' : ''} consecutive slices of ${b} (global batch ${w * b}, ${stepsPerEpoch.toFixed(1)} steps per epoch)`
    );
  }
}
