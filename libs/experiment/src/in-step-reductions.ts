import { REDUCTION_VALUES_PER_WORKER_STEP } from '@shardlab/protocol';
import { duplicate, malformed, overLimit } from './errors';

/** The most distinct in-step reductions (tags) one step may hold; a model with k SyncBN layers needs k. */
export const MAX_REDUCTIONS_PER_STEP = 64;
export { REDUCTION_VALUES_PER_WORKER_STEP } from '@shardlab/protocol';

interface Reduction {
  values: (Float64Array | null)[];
  waiting: { resolve: (sum: number[]) => void; reject: (err: Error) => void }[];
  /** Once every worker's vector is in. */
  sum: number[] | null;
}

/**
 * One step's reductions inside the step under --collective relay (SyncBN statistics through the AllReduce
 * RPC): per tag, every worker's vector, summed element-wise in worker order in float64, so every worker
 * receives the identical sum. Bounded in bytes whatever the model: a worker's vectors of one step hold at most
 * REDUCTION_VALUES_PER_WORKER_STEP values (8 bytes each), so a step holds at most twice workers x that (the vectors
 * and their sums), and at most MAX_REDUCTIONS_PER_STEP tags; SyncBN needs a few values per channel.
 * (Among trainers the same sums go through the trainers' collective and never reach the coordinator.)
 */
export class InStepReductions {
  private readonly reductions = new Map<number, Reduction>();
  /** Values each worker has handed in this step. */
  private readonly held: number[];

  constructor(
    private readonly workers: number,
    /** The longest vector accepted: the model's parameter count. */
    private readonly maxLength: number,
  ) {
    this.held = new Array<number>(workers).fill(0);
  }

  /**
   * Worker `worker`'s vector for `tag`: resolves with the sum once every worker's is in. Throws a RequestError for a
   * bad one. `resend`: the same vector again after the trainer's connection dropped; answered with the sum, never
   * added twice (and taken as a first copy if the first never arrived).
   */
  add(worker: number, step: number, tag: number, values: number[], resend = false): Promise<number[]> {
    const earlier = this.reductions.get(tag);
    if (resend && earlier?.values[worker]) {
      const first = earlier.values[worker];
      if (first.length !== values.length || first.some((v, i) => v !== values[i]!)) throw duplicate(`worker ${worker} resent all-reduce ${tag} of step ${step} with other values`);
      return earlier.sum ? Promise.resolve(earlier.sum) : new Promise((resolve, reject) => earlier.waiting.push({ resolve, reject }));
    }
    if (!this.reductions.has(tag) && this.reductions.size >= MAX_REDUCTIONS_PER_STEP) {
      throw overLimit(`all-reduce ${tag}: already ${MAX_REDUCTIONS_PER_STEP} reductions in step ${step}, the most one step may hold`);
    }
    if (values.length > this.maxLength) throw malformed(`all-reduce values: ${values.length} values, more than the model's ${this.maxLength} parameters`);
    if (this.held[worker]! + values.length > REDUCTION_VALUES_PER_WORKER_STEP) {
      throw overLimit(
        `all-reduce ${tag}: worker ${worker} would hold ${this.held[worker]! + values.length} values in step ${step}'s reductions, more than the ${REDUCTION_VALUES_PER_WORKER_STEP} a worker may`,
      );
    }
    const reduction: Reduction = earlier ?? { values: new Array<Float64Array | null>(this.workers).fill(null), waiting: [], sum: null };
    if (reduction.values[worker]) throw duplicate(`worker ${worker} already sent all-reduce ${tag} of step ${step}`);
    const other = reduction.values.find((v) => v !== null);
    if (other && other.length !== values.length) throw malformed(`all-reduce values: expected ${other.length} values like the other workers, got ${values.length}`);
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw malformed(`all-reduce value ${bad} is ${values[bad]}`);
    this.reductions.set(tag, reduction);
    reduction.values[worker] = Float64Array.from(values);
    this.held[worker]! += values.length;
    const answer = new Promise<number[]>((resolve, reject) => reduction.waiting.push({ resolve, reject }));
    if (reduction.values.every((v) => v !== null)) {
      const sum = new Array<number>(values.length).fill(0);
      for (const v of reduction.values) for (let i = 0; i < sum.length; i++) sum[i]! += v![i]!;
      reduction.sum = sum;
      for (const w of reduction.waiting) w.resolve(sum);
      reduction.waiting = [];
    }
    return answer;
  }

  /** The run stopped: every worker still waiting for a sum is answered with `err`. */
  failAll(err: () => Error): void {
    for (const r of this.reductions.values()) for (const w of r.waiting.splice(0)) w.reject(err());
  }
}
