import { collectiveNeeds } from '@shardlab/collective';
import type { Dataset, Strategy } from '@shardlab/data';
import { encodeTensor } from '@shardlab/protocol';
import { elasticAmongTrainers, type ExperimentConfig, type RunConfig } from './config';
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
    /**
     * A re-formed collective among trainers (elastic, see elasticAmongTrainers): the members are the plan's ranks,
     * the peers' addresses go with this step, by rank, and `epoch` counts the re-formings.
     */
    reform?: { epoch: number };
  },
): StepAssignment__Output[] {
  const { config, plan, train } = opts;
  const reportChecksum = t % config.checksumEvery === 0;
  const needs = collectiveNeeds(config.collective);
  const amongTrainers = !needs.coordinatorAverages;
  const reportGradient = amongTrainers && t % config.gradientMetricsEvery === 0;
  const evaluates = (t + 1) % config.evalEvery === 0 || t + 1 === config.steps;
  const elastic = elasticAmongTrainers(config);
  const addresses = needs.peerAddresses && (t === (opts.firstStep ?? 0) || opts.reform) ? opts.peerAddresses() : [];
  const peers = opts.reform ? plan.ranks.map((w) => addresses[w]!) : addresses;
  const peerWorkers = opts.reform ? [...plan.ranks] : [];
  // The worker that reports the state after the step: worker 0, or (elastic) the first one still in the run, every
  // step, so that a replacement can start from the last completed step.
  const reporter = elastic ? (plan.ranks[0] ?? 0) : 0;
  return Array.from({ length: config.workers }, (_, w) => {
    const rank = plan.ranks.indexOf(w);
    const batches = rank < 0 ? [] : planBatches(t, rank, config, plan.strategy, train);
    // peerVerifiers: filled in at the edge, which holds the credentials (apps/coordinator).
    const reportState = amongTrainers && (opts.checkpoint === true || elastic) && w === reporter;
    const reportParams = amongTrainers && (evaluates || reportState) && w === reporter;
    return { step: t, done: rank < 0, batches, reportChecksum, stopReason: '', peers, reportGradient, reportParams, reportState, peerVerifiers: [], peerWorkers, epoch: opts.reform?.epoch ?? 0 };
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
