import { collectiveNeeds } from '@shardlab/collective';
import type { Dataset, Strategy } from '@shardlab/data';
import { encodeTensor } from '@shardlab/protocol';
import type { ExperimentConfig, RunConfig } from './config';
import type { Batch__Output, StepAssignment__Output } from '@shardlab/protocol';

/**
 * Every worker's assignment for step `t`: its batches, and what it must report. The survivors take the plan's
 * ranks in worker order; a worker without a rank (lost) gets a "done" assignment (its calls are refused anyway).
 * Among trainers: the peers' addresses at the first step; the full gradient every --gradient-metrics-every
 * steps; worker 0's parameters after the update on evaluation steps, and its optimizer state too before a checkpoint
 * (the coordinator keeps no replica then).
 */
export function planStep(
  t: number,
  opts: {
    config: RunConfig;
    plan: { strategy: Strategy; ranks: readonly number[] };
    train: Dataset;
    peerAddresses: () => string[];
    /** A checkpoint follows this step: among trainers, worker 0 reports its parameters and optimizer state after it. */
    checkpoint?: boolean;
    /** The run's first step: 0, or where a resumed run starts (the peers' addresses go with it). */
    firstStep?: number;
  },
): StepAssignment__Output[] {
  const { config, plan, train } = opts;
  const reportChecksum = t % config.checksumEvery === 0;
  const needs = collectiveNeeds(config.collective);
  const amongTrainers = !needs.coordinatorAverages;
  const reportGradient = amongTrainers && t % config.gradientMetricsEvery === 0;
  const evaluates = (t + 1) % config.evalEvery === 0 || t + 1 === config.steps;
  const peers = needs.peerAddresses && t === (opts.firstStep ?? 0) ? opts.peerAddresses() : [];
  return Array.from({ length: config.workers }, (_, w) => {
    const rank = plan.ranks.indexOf(w);
    const batches = rank < 0 ? [] : planBatches(t, rank, config, plan.strategy, train);
    // peerVerifiers: filled in at the edge, which holds the credentials (apps/coordinator).
    const reportState = amongTrainers && opts.checkpoint === true && w === 0;
    return { step: t, done: rank < 0, batches, reportChecksum, stopReason: '', peers, reportGradient, reportParams: amongTrainers && (evaluates || reportState) && w === 0, reportState, peerVerifiers: [] };
  });
}

/**
 * What worker `w` trains on at step `t`, as the wire carries it: one batch per local step (exactly one under
 * sync-sgd; under local SGD step t is round t, whose local steps take the strategy's steps t*H .. t*H+H-1).
 * Feed "ids": sample ids only (the trainer holds the data); feed "features": the features and labels too.
 */
export function planBatches(t: number, w: number, config: ExperimentConfig, strategy: Strategy, train: Dataset): Batch__Output[] {
  const batches: Batch__Output[] = [];
  for (let h = 0; h < config.localSteps; h++) {
    const ids = strategy.batch(t * config.localSteps + h, w);
    if (config.feed === 'ids') {
      batches.push({ features: null, labels: [], ids: Array.from(ids) });
      continue;
    }
    const labels = new Array<number>(ids.length);
    for (let i = 0; i < ids.length; i++) labels[i] = train.labels[ids[i]!]!;
    batches.push({ features: encodeTensor(train.features(ids), [ids.length, train.numFeatures]), labels, ids: Array.from(ids) });
  }
  return batches;
}
