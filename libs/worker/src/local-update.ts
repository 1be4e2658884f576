import { createOptimizer, type OptimizerSpec } from '@shardlab/aggregation';
import type { AllReduce } from '@shardlab/model';
import type { AggregationName } from '@shardlab/aggregation';

/** The part of a model a worker needs to compute its contribution. */
export interface GradientModel {
  setParams(flat: Float32Array): void;
  gradientAsync(features: Float32Array, labels: ArrayLike<number>, n: number, reduce?: AllReduce): Promise<{ loss: number; gradient: Float32Array }>;
}

export interface LocalBatch {
  features: Float32Array;
  labels: ArrayLike<number>;
}

export interface LocalJob {
  aggregation: AggregationName;
  /** The optimizer of the local steps under fedavg/fedprox (fresh state every round). */
  optimizer: OptimizerSpec;
  proxMu: number;
  /** One batch per local step; exactly one under sync-sgd. */
  batches: readonly LocalBatch[];
  /** SyncBN: combines BatchNorm statistics with the other workers (sync-sgd only). */
  reduce?: AllReduce;
}

export interface Contribution {
  /** Mean training loss over the batches, each taken before its own update. */
  loss: number;
  samples: number;
  /** sync-sgd: the mean gradient; fedavg/fedprox: the pseudo-gradient, start minus end parameters. */
  update: Float32Array;
}

/**
 * What one worker sends for one step, from the replica's current parameters:
 *   sync-sgd  the mean gradient of its one batch (the coordinator averages, the optimizer applies);
 *   fedavg    H local optimizer steps on a copy, then start - end (McMahan et al. 2017);
 *   fedprox   the same with mu * (w - w_start) added to every local gradient: the gradient of
 *             (mu/2) ||w - w_start||^2 (Li et al. 2020). The reported loss omits that term.
 */
export async function localUpdate(model: GradientModel, params: Float32Array, job: LocalJob): Promise<Contribution> {
  if (job.aggregation === 'sync-sgd') {
    if (job.batches.length !== 1) throw new Error(`sync-sgd takes exactly one batch per step, got ${job.batches.length}`);
    const b = job.batches[0]!;
    model.setParams(params);
    const { loss, gradient } = await model.gradientAsync(b.features, b.labels, b.labels.length, job.reduce);
    return { loss, samples: b.labels.length, update: gradient };
  }
  const local = params.slice();
  const optimizer = createOptimizer(job.optimizer, local.length);
  const mu = job.aggregation === 'fedprox' ? job.proxMu : 0;
  let lossSum = 0;
  let samples = 0;
  for (const b of job.batches) {
    const n = b.labels.length;
    model.setParams(local);
    const { loss, gradient } = await model.gradientAsync(b.features, b.labels, n);
    if (mu > 0) for (let i = 0; i < gradient.length; i++) gradient[i]! += mu * (local[i]! - params[i]!);
    optimizer.apply(local, gradient);
    lossSum += loss * n;
    samples += n;
  }
  const update = new Float32Array(params.length);
  for (let i = 0; i < update.length; i++) update[i] = params[i]! - local[i]!;
  return { loss: lossSum / samples, samples, update };
}
