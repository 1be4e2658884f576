import { createOptimizer, type AggregationName, type OptimizerSpec } from '@shardlab/aggregation';
import type { AllReduce } from '@shardlab/model';
import { yieldIfDue } from '@shardlab/protocol';
import type { Replica } from './replica';

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
  /**
   * One batch per local step, each built when its step comes: a round of hundreds of local steps never holds all
   * its batches at once, nor builds them in one stretch of the event loop. Exactly one under sync-sgd.
   */
  batches: readonly (() => LocalBatch)[];
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
 * How worker contributions become one update, as one small object per rule (the way Flower keeps one
 * class per strategy): what a worker computes for a step, and what every replica does with the
 * sample-weighted average of those contributions. The trainer calls both; the coordinator (relay, which
 * keeps a replica) calls applyAverage. Between them sits only the collective, which averages bytes.
 */
export interface AggregationRule {
  readonly name: AggregationName;
  /** What one worker sends for one step, from the replica's current parameters. */
  contribute(model: GradientModel, params: Float32Array, job: LocalJob): Promise<Contribution>;
  /** Applies the average of every worker's contribution to a replica. */
  applyAverage(replica: Replica, average: Float32Array): void;
}

/** Synchronous SGD: the mean gradient of one batch; the averaged gradient goes through the replica's optimizer. */
export class SyncSgd implements AggregationRule {
  readonly name = 'sync-sgd' as const;

  async contribute(model: GradientModel, params: Float32Array, job: LocalJob): Promise<Contribution> {
    if (job.batches.length !== 1) throw new Error(`sync-sgd takes exactly one batch per step, got ${job.batches.length}`);
    const b = job.batches[0]!();
    model.setParams(params);
    const { loss, gradient } = await model.gradientAsync(b.features, b.labels, b.labels.length, job.reduce);
    return { loss, samples: b.labels.length, update: gradient };
  }

  applyAverage(replica: Replica, average: Float32Array): void {
    replica.apply(average);
  }
}

/**
 * FedAvg (McMahan et al. 2017): H local optimizer steps on a copy (fresh optimizer state every round), then
 * start - end as a pseudo-gradient; every replica subtracts the average. With mu > 0 this is FedProx
 * (Li et al. 2020): mu * (w - w_start), the gradient of (mu/2) ||w - w_start||^2, is added to every local
 * gradient; the reported loss omits that term.
 */
export class FedAvg implements AggregationRule {
  readonly name: AggregationName = 'fedavg';

  constructor(
    /** The optimizer of the local steps. */
    private readonly optimizer: OptimizerSpec,
    private readonly proxMu = 0,
  ) {}

  async contribute(model: GradientModel, params: Float32Array, job: LocalJob): Promise<Contribution> {
    const local = params.slice();
    const optimizer = createOptimizer(this.optimizer, local.length);
    const mu = this.proxMu;
    let lossSum = 0;
    let samples = 0;
    for (const next of job.batches) {
      const b = next();
      const n = b.labels.length;
      model.setParams(local);
      const { loss, gradient } = await model.gradientAsync(b.features, b.labels, n);
      if (mu > 0) for (let i = 0; i < gradient.length; i++) gradient[i]! += mu * (local[i]! - params[i]!);
      optimizer.apply(local, gradient);
      lossSum += loss * n;
      samples += n;
      // A round can last minutes: the event loop must still answer keepalive pings, or the connections drop.
      await yieldIfDue();
    }
    const update = new Float32Array(params.length);
    for (let i = 0; i < update.length; i++) update[i] = params[i]! - local[i]!;
    return { loss: lossSum / samples, samples, update };
  }

  applyAverage(replica: Replica, average: Float32Array): void {
    replica.applyDelta(average);
  }
}

/** FedAvg with the proximal term. */
export class FedProx extends FedAvg {
  override readonly name: AggregationName = 'fedprox';
}

/** The rule object for a name; `optimizer` is the local optimizer of fedavg/fedprox, `proxMu` fedprox's mu. */
export function aggregationRule(name: AggregationName, opts: { optimizer: OptimizerSpec; proxMu: number }): AggregationRule {
  switch (name) {
    case 'sync-sgd':
      return new SyncSgd();
    case 'fedavg':
      return new FedAvg(opts.optimizer);
    case 'fedprox':
      return new FedProx(opts.optimizer, opts.proxMu);
  }
}
