/**
 * The per-step batch plan: which training samples each worker sees at each step. A strategy is
 * a pure function of (options, step, worker); the coordinator asks for batch(step, worker) and
 * ships those ids. This module holds the tiny interface and the validation every strategy shares;
 * each strategy lives in its own module.
 */
import { DataError } from './errors';

export type StrategyName =
  | 'iid'
  | 'label-per-node'
  | 'sequential-single-class'
  | 'stratified'
  | 'k-classes-per-node'
  | 'dirichlet'
  | 'shard';
export const STRATEGY_NAMES: readonly StrategyName[] = [
  'iid',
  'label-per-node',
  'sequential-single-class',
  'stratified',
  'k-classes-per-node',
  'dirichlet',
  'shard',
];

/** Defaults of the strategy-specific options; a CLI may always pass these, whatever the strategy. */
export const STRATEGY_DEFAULTS = {
  order: 'cyclic',
  runLength: 1,
  classesPerNode: 2,
  alpha: 0.5,
  shardsPerNode: 2,
} as const;

export interface StrategyOptions {
  labels: Uint8Array;
  numClasses: number;
  /** W trainers. */
  workers: number;
  /** B, per worker. */
  batchSize: number;
  seed: number;
  /** sequential-single-class only, default 'cyclic'. */
  order?: 'cyclic' | 'random';
  /** sequential-single-class only: consecutive steps sharing one class, default 1. */
  runLength?: number;
  /** k-classes-per-node only: distinct classes each worker owns (NIID-Bench #C=k), 1..C, default 2. */
  classesPerNode?: number;
  /** dirichlet only: concentration of the per-class Dir(alpha) split over workers, > 0, default 0.5. */
  alpha?: number;
  /** shard only: label-sorted shards each worker owns (McMahan et al. 2017), default 2. */
  shardsPerNode?: number;
}

export interface Strategy {
  readonly name: StrategyName;
  /** Sample ids (into the training set) that worker `worker` trains on at step `step`. */
  batch(step: number, worker: number): Uint32Array;
  /** One line saying what it does with these options, for logs/README. */
  describe(): string;
}

/**
 * Checks what every strategy needs and returns the number of samples of each class.
 * Strategy-specific options (order/runLength, classesPerNode, alpha, shardsPerNode) only steer
 * their own strategy; elsewhere their defaults are accepted (a CLI may always fill them in) but any
 * other value would be silently ignored, so it is an error.
 */
export function validateStrategyOptions(name: StrategyName, opts: StrategyOptions): number[] {
  const { labels, numClasses, workers, batchSize, seed, order, runLength, classesPerNode, alpha, shardsPerNode } = opts;
  if (!Number.isInteger(workers) || workers < 1) throw new DataError(`--workers: must be an integer >= 1, got ${workers}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new DataError(`--batch-size: must be an integer >= 1, got ${batchSize}`);
  }
  if (!Number.isSafeInteger(seed)) throw new DataError(`--seed: must be an integer, got ${seed}`);
  if (order !== undefined && order !== 'cyclic' && order !== 'random') {
    throw new DataError(`--order: must be cyclic or random, got ${JSON.stringify(order)}`);
  }
  if (runLength !== undefined && (!Number.isSafeInteger(runLength) || runLength < 1)) {
    throw new DataError(`--run-length: must be an integer >= 1, got ${runLength}`);
  }
  if (classesPerNode !== undefined && (!Number.isSafeInteger(classesPerNode) || classesPerNode < 1)) {
    throw new DataError(`--classes-per-node: must be an integer >= 1, got ${classesPerNode}`);
  }
  if (alpha !== undefined && !(Number.isFinite(alpha) && alpha > 0)) {
    throw new DataError(`--alpha: must be a number > 0, got ${alpha}`);
  }
  if (shardsPerNode !== undefined && (!Number.isSafeInteger(shardsPerNode) || shardsPerNode < 1)) {
    throw new DataError(`--shards-per-node: must be an integer >= 1, got ${shardsPerNode}`);
  }
  onlyFor(name, 'sequential-single-class', '--order', order, STRATEGY_DEFAULTS.order);
  onlyFor(name, 'sequential-single-class', '--run-length', runLength, STRATEGY_DEFAULTS.runLength);
  onlyFor(name, 'k-classes-per-node', '--classes-per-node', classesPerNode, STRATEGY_DEFAULTS.classesPerNode);
  onlyFor(name, 'dirichlet', '--alpha', alpha, STRATEGY_DEFAULTS.alpha);
  onlyFor(name, 'shard', '--shards-per-node', shardsPerNode, STRATEGY_DEFAULTS.shardsPerNode);
  if (!Number.isInteger(numClasses) || numClasses < 1 || numClasses > 256) {
    throw new DataError(`numClasses: must be an integer in 1..256, got ${numClasses}`);
  }
  if (labels.length === 0) throw new DataError('labels: the training set is empty');

  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (label >= numClasses) throw new DataError(`labels: sample ${i} has label ${label}, outside 0..${numClasses - 1}`);
    counts[label]++;
  }
  const missing = counts.findIndex((n) => n === 0);
  if (missing >= 0) {
    throw new DataError(
      `labels: class ${missing} has no training samples; every class must appear at least once (check --classes)`,
    );
  }
  return counts;
}

/** A strategy-specific option given a non-default value for another strategy is a DataError. */
function onlyFor(name: StrategyName, owner: StrategyName, flag: string, value: unknown, dflt: unknown): void {
  if (name !== owner && value !== undefined && value !== dflt) {
    throw new DataError(`${flag}: only applies to --strategy ${owner}, not ${name}`);
  }
}

/** For strategies whose batches take `chunkSize` samples of one class at a time. */
export function checkChunkFitsClasses(counts: readonly number[], chunkSize: number, what: string): void {
  const smallest = Math.min(...counts);
  if (chunkSize > smallest) {
    const c = counts.indexOf(smallest);
    throw new DataError(
      `--batch-size: ${what} takes ${chunkSize} samples of one class at a time, but class ${c} has only ${smallest}; use at most ${smallest}`,
    );
  }
}

/** "1 worker", "3 workers": describe() lines are read by people. */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** RangeError (a caller bug, not a user mistake) unless step/worker address a real batch. */
export function checkStepWorker(step: number, worker: number, workers: number): void {
  if (!Number.isSafeInteger(step) || step < 0) throw new RangeError(`step must be an integer >= 0, got ${step}`);
  if (!Number.isInteger(worker) || worker < 0 || worker >= workers) {
    throw new RangeError(`worker must be an integer in 0..${workers - 1}, got ${worker}`);
  }
}
