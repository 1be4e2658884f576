import { BACKEND_CHOICES, BACKEND_HELP, type BackendChoice } from '@shardlab/model';
import { OPTIMIZER_NAMES, type OptimizerName } from '@shardlab/aggregation';
import { STRATEGY_NAMES, type StrategyName } from '@shardlab/data';
import { COLLECTIVE_NAMES, type CollectiveName } from '@shardlab/collective';
import { flagOf, type OptionSpec } from './options';

/** The fully resolved settings of one experiment; written as config.json. */
export interface ExperimentConfig {
  dataset: string;
  feed: FeedName;
  classes: number[] | null;
  samples: number;
  testSamples: number;
  features: number;
  numClasses: number;
  strategy: StrategyName;
  order: 'cyclic' | 'random';
  runLength: number;
  workers: number;
  batchSize: number;
  steps: number;
  optimizer: OptimizerName;
  lr: number;
  momentum: number;
  hidden: number[];
  model: 'mlp' | 'cnn';
  norm: NormName;
  aggregation: AggregationName;
  collective: CollectiveName;
  gradientMetricsEvery: number;
  localSteps: number;
  proxMu: number;
  classesPerNode: number;
  alpha: number;
  shardsPerNode: number;
  seed: number;
  evalEvery: number;
  checksumEvery: number;
  lossWindow: number;
  backend: BackendChoice;
  blasThreads: number;
  stepTimeout: number;
  joinTimeout: number;
}

/**
 * How a step's batches reach the trainers:
 *   ids       trainers load the training set themselves (from the dataset description the coordinator
 *             sends at join, proven equal by a fingerprint) and receive sample ids only: the default;
 *   features  the coordinator ships every batch's features and labels: for trainers that cannot have the data.
 */
export type FeedName = 'ids' | 'features';
export const FEED_NAMES: readonly FeedName[] = ['ids', 'features'];

export type NormName = 'none' | 'batch' | 'sync-batch' | 'group' | 'layer';
export const NORM_NAMES: readonly NormName[] = ['none', 'batch', 'sync-batch', 'group', 'layer'];
/**
 * How worker contributions become one update:
 *   sync-sgd  every step each worker sends its mean gradient; the average goes through the optimizer;
 *   fedavg    each worker runs --local-steps optimizer steps on its own copy, then parameters are
 *             averaged weighted by samples (McMahan et al. 2017);
 *   fedprox   fedavg plus a proximal term (--prox-mu / 2) * ||w - w_round_start||^2 in the local loss (Li et al. 2020).
 */
export type AggregationName = 'sync-sgd' | 'fedavg' | 'fedprox';
export const AGGREGATION_NAMES: readonly AggregationName[] = ['sync-sgd', 'fedavg', 'fedprox'];

/** A bad setting. The message names the flag/key and what is allowed; the CLI prints it as one line. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const EXPERIMENT_OPTIONS: readonly OptionSpec[] = [
  { key: 'dataset', type: 'string', default: 'synthetic', valueHint: 'synthetic|fashion-mnist|idx:<dir>', help: 'training data' },
  {
    key: 'feed',
    type: 'enum',
    default: 'ids',
    choices: FEED_NAMES,
    help: 'ids: trainers load the dataset themselves and get sample ids; features: the coordinator ships every batch (trainers without the data)',
  },
  { key: 'classes', type: 'int-list', help: 'keep only these classes of the data, relabelled 0..k-1 (e.g. 0,1,2,3)' },
  { key: 'samples', type: 'int', default: 60000, min: 100, max: 10_000_000, help: 'synthetic: training samples' },
  { key: 'testSamples', type: 'int', default: 4000, min: 10, max: 1_000_000, help: 'synthetic: test samples' },
  { key: 'features', type: 'int', default: 784, min: 2, max: 100_000, help: 'synthetic: features per sample' },
  { key: 'numClasses', type: 'int', default: 4, min: 2, max: 255, help: 'synthetic: number of classes' },
  { key: 'strategy', type: 'enum', default: 'iid', choices: STRATEGY_NAMES, help: 'how batches are composed (see README)' },
  { key: 'order', type: 'enum', default: 'cyclic', choices: ['cyclic', 'random'], help: 'sequential-single-class: class order' },
  { key: 'runLength', type: 'int', default: 1, min: 1, max: 1_000_000, help: 'sequential-single-class: consecutive steps of one class' },
  { key: 'workers', type: 'int', default: 4, min: 1, max: 64, help: 'number of trainers' },
  { key: 'batchSize', type: 'int', default: 128, min: 1, max: 65536, help: 'samples per worker per step' },
  { key: 'steps', type: 'int', default: 300, min: 1, max: 10_000_000, help: 'synchronous steps' },
  { key: 'optimizer', type: 'enum', default: 'sgd', choices: OPTIMIZER_NAMES, help: 'update rule applied by every replica' },
  { key: 'lr', type: 'number', default: 0.05, min: 1e-9, max: 10, help: 'learning rate' },
  { key: 'momentum', type: 'number', default: 0.9, min: 0, max: 0.999999, help: 'momentum coefficient (--optimizer momentum)' },
  { key: 'hidden', type: 'int-list', default: [128, 64], min: 1, max: 8192, help: 'MLP hidden layer sizes' },
  { key: 'model', type: 'enum', default: 'mlp', choices: ['mlp', 'cnn'], help: 'mlp, or cnn (two conv layers; 28x28 images)' },
  { key: 'norm', type: 'enum', default: 'none', choices: NORM_NAMES, help: 'normalisation after hidden layers; batch = per-worker statistics, sync-batch = combined across workers every step' },
  { key: 'aggregation', type: 'enum', default: 'sync-sgd', choices: AGGREGATION_NAMES, help: 'sync-sgd: average gradients every step; fedavg/fedprox: --local-steps local steps, then average parameters' },
  {
    key: 'collective',
    type: 'enum',
    default: 'relay',
    choices: COLLECTIVE_NAMES,
    help: 'how gradients are averaged: relay = through the coordinator; ring = ring all-reduce among the trainers (the coordinator only drives the steps)',
  },
  { key: 'gradientMetricsEvery', type: 'int', default: 10, min: 1, max: 10_000_000, help: 'per-pair gradient cosines every N steps (ring: trainers then send their full gradient)' },
  { key: 'localSteps', type: 'int', default: 1, min: 1, max: 100_000, help: 'fedavg/fedprox: local optimizer steps per round (a round is one step of --steps)' },
  { key: 'proxMu', type: 'number', default: 0.01, min: 0, max: 1000, help: 'fedprox: proximal term weight mu' },
  { key: 'classesPerNode', type: 'int', default: 2, min: 1, max: 255, help: 'k-classes-per-node: labels per worker (NIID-Bench #C=k)' },
  { key: 'alpha', type: 'number', default: 0.5, min: 1e-6, max: 1e6, help: 'dirichlet: concentration of per-label worker shares' },
  { key: 'shardsPerNode', type: 'int', default: 2, min: 1, max: 100_000, help: 'shard: label-sorted shards per worker' },
  { key: 'seed', type: 'int', default: 1, min: 0, max: 2 ** 31 - 1, help: 'seed for data, batch plan and initial weights' },
  { key: 'evalEvery', type: 'int', default: 25, min: 1, max: 10_000_000, help: 'evaluate test accuracy every N steps (and at the end)' },
  { key: 'checksumEvery', type: 'int', default: 10, min: 1, max: 10_000_000, help: 'compare replica parameter checksums every N steps' },
  { key: 'lossWindow', type: 'int', default: 50, min: 2, max: 1_000_000, help: 'window (steps) for the loss swing statistic' },
  { key: 'backend', type: 'enum', default: 'auto', choices: BACKEND_CHOICES, help: BACKEND_HELP },
  { key: 'blasThreads', type: 'int', default: 1, min: 1, max: 256, help: 'native backend: OpenBLAS threads per process (parallelism comes from trainer processes)' },
  { key: 'stepTimeout', type: 'number', default: 30, min: 0.1, max: 86400, help: 'seconds to wait for every gradient of a step before declaring a worker lost' },
  { key: 'joinTimeout', type: 'number', default: 300, min: 0.1, max: 86400, help: 'seconds to wait for all workers to join' },
];

const BY_KEY = new Map(EXPERIMENT_OPTIONS.map((o) => [o.key, o]));

export function defaultConfig(): ExperimentConfig {
  const cfg: Record<string, unknown> = { classes: null };
  for (const o of EXPERIMENT_OPTIONS) if (o.default !== undefined) cfg[o.key] = Array.isArray(o.default) ? [...o.default] : o.default;
  return cfg as unknown as ExperimentConfig;
}

function describeRange(o: OptionSpec): string {
  if (o.choices) return `one of ${o.choices.join(', ')}`;
  const kind = o.type === 'int' || o.type === 'int-list' ? 'an integer' : 'a number';
  if (o.min !== undefined && o.max !== undefined) return `${kind} from ${o.min} to ${o.max}`;
  return kind;
}

/** Checks one value against its option spec; returns the normalised value or throws ConfigError. */
export function checkOption(o: OptionSpec, value: unknown, where = flagOf(o.key)): unknown {
  const fail = (what: string): never => {
    throw new ConfigError(`${where}: ${what}`);
  };
  const inRange = (n: number) => (o.min === undefined || n >= o.min) && (o.max === undefined || n <= o.max);
  switch (o.type) {
    case 'int':
    case 'number': {
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isFinite(n) || (o.type === 'int' && !Number.isInteger(n)) || !inRange(n)) {
        fail(`must be ${describeRange(o)}, got ${JSON.stringify(value)}`);
      }
      return n;
    }
    case 'enum':
      if (typeof value !== 'string' || !o.choices!.includes(value)) fail(`unknown value ${JSON.stringify(value)}; allowed: ${o.choices!.join(', ')}`);
      return value;
    case 'string':
      if (typeof value !== 'string' || value === '') fail(`must be a non-empty string, got ${JSON.stringify(value)}`);
      return value;
    case 'bool':
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === 'false') return value === 'true';
      return fail(`must be true or false, got ${JSON.stringify(value)}`);
    case 'int-list': {
      const items = typeof value === 'string' ? value.split(',').map((s) => s.trim()) : value;
      if (!Array.isArray(items) || items.length === 0) return fail(`must be a comma-separated list of integers, got ${JSON.stringify(value)}`);
      return items.map((item) => {
        const n = typeof item === 'string' && item !== '' ? Number(item) : item;
        if (typeof n !== 'number' || !Number.isInteger(n) || !inRange(n)) {
          fail(`each entry must be ${describeRange({ ...o, type: 'int' })}${o.min === undefined ? ' >= 0' : ''}, got ${JSON.stringify(item)}`);
        }
        if (o.min === undefined && (n as number) < 0) fail(`entries must be >= 0, got ${n}`);
        return n as number;
      });
    }
  }
}

/**
 * Builds a validated config from partial settings (parsed flags, a config file...).
 * Unknown keys and out-of-range values throw ConfigError naming the key's flag.
 */
export function resolveConfig(overrides: Record<string, unknown>, where: (key: string) => string = flagOf): ExperimentConfig {
  const cfg = defaultConfig() as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const o = BY_KEY.get(key);
    if (!o) throw new ConfigError(`${where(key)}: unknown setting`);
    cfg[key] = value === null && key === 'classes' ? null : checkOption(o, value, where(key));
  }
  const c = cfg as unknown as ExperimentConfig;
  if (!(c.dataset === 'synthetic' || c.dataset === 'fashion-mnist' || c.dataset.startsWith('idx:'))) {
    throw new ConfigError(`${where('dataset')}: unknown dataset ${JSON.stringify(c.dataset)}; allowed: synthetic, fashion-mnist, idx:<dir>`);
  }
  if (c.dataset === 'idx:') throw new ConfigError(`${where('dataset')}: idx:<dir> needs a directory`);
  if (c.classes && new Set(c.classes).size !== c.classes.length) throw new ConfigError(`${where('classes')}: duplicate class in ${c.classes.join(',')}`);
  if (c.aggregation === 'sync-sgd' && c.localSteps !== 1) {
    throw new ConfigError(`${where('localSteps')}: only applies to --aggregation fedavg or fedprox (sync-sgd averages every step)`);
  }
  if (c.norm === 'sync-batch' && c.aggregation !== 'sync-sgd') {
    throw new ConfigError(`${where('norm')}: sync-batch combines statistics every step, so it needs --aggregation sync-sgd`);
  }
  if (c.model === 'cnn' && c.norm !== 'none') throw new ConfigError(`${where('norm')}: the cnn model has no normalisation layers; use --model mlp`);
  if (c.classes && c.classes.length < 2) throw new ConfigError(`${where('classes')}: need at least 2 classes, got ${c.classes.join(',')}`);
  return c;
}

/** Validates `values` against `options` (not experiment settings: a command's own flags) and fills defaults. */
export function resolveOptions(values: Record<string, unknown>, options: readonly OptionSpec[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const o of options) {
    const v = values[o.key];
    out[o.key] = v === undefined ? o.default : checkOption(o, v);
  }
  return out;
}
