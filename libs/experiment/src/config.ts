import { BACKEND_CHOICES, BACKEND_HELP, type BackendChoice } from '@shardlab/model';
import { AGGREGATION_NAMES, COMBINE_NAMES, OPTIMIZER_NAMES, checkCombine, type AggregationName, type CombineName, type OptimizerName } from '@shardlab/aggregation';
import { DATASET_NAMES, DEFORMED_MAX_SAMPLES, DEFORMED_NAME, MAX_DEFORMATION, STRATEGY_NAMES, SYNTHETIC_MAX_SAMPLES, type StrategyName } from '@shardlab/data';
import { COLLECTIVE_NAMES, collectiveNeeds, isPowerOfTwo, type CollectiveName } from '@shardlab/collective';
import { ConfigError, KEEPALIVE_OPTIONS, checkOption, flagOf, type OptionSpec } from '@shardlab/options';
import { BUFFERS_RULES, parseFault, type BuffersRule, type Fault } from '@shardlab/worker';

/** The fully resolved settings of one experiment; written as config.json. */
export interface ExperimentConfig {
  dataset: string;
  feed: FeedName;
  classes: number[] | null;
  samples: number;
  /** fashion-mnist-deformed: strength of the deformations. */
  deformation: number;
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
  /** 'mlp', 'cnn', or layers:<dir>: a TensorFlow.js Layers model directory (see modelDir). */
  model: string;
  norm: NormName;
  /** What happens to every worker's buffers (BatchNorm running statistics) after each step. */
  buffers: BuffersRule;
  aggregation: AggregationName;
  collective: CollectiveSetting;
  /** How the coordinator combines a step's contributions (relay): the mean, or a robust rule. */
  combine: CombineName;
  /** trimmed-mean: values dropped at each end, per coordinate. */
  trim: number;
  /** multi-krum: contributions assumed poisoned. */
  krumF: number;
  /** Where shardlab runs the workers it starts itself: trainer processes, or threads of its own process. */
  runtime: RuntimeName;
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
  /** Seconds between HTTP/2 keepalive pings on every connection of the run (coordinator and trainers). */
  keepaliveTime: number;
  /** Seconds a ping's acknowledgement may take before its connection is dropped. */
  keepaliveTimeout: number;
  lostWorker: LostWorkerPolicy;
  /** --lost-worker replace: seconds to wait for the replacement. */
  replaceTimeout: number;
  /** Write checkpoint.bin every N steps (0: never); `--resume DIR` continues from it. */
  checkpointEvery: number;
  /** Fault injection, as written (see libs/worker faults.ts): e.g. ['kill:2@100']. */
  faults: string[];
}

/**
 * What a lost worker (silent for --step-timeout, or its process gone) does to the run:
 *   stop      the run stops with an error naming it (the default; what DDP does);
 *   continue  the run goes on with the survivors: the step completes with their contributions and
 *             the batch plan is rebuilt for them from the next step (the survivors, in worker order,
 *             take the strategy's worker ranks 0..W'-1);
 *   replace   the run waits up to --replace-timeout seconds for a new trainer, which takes the lost worker's
 *             index, receives the current parameters, optimizer state and buffers at Join, and computes the
 *             step the lost one did not finish: the run goes on as if nothing happened (embedded runs start
 *             the replacement process themselves, like torchrun's restarts).
 */
export type LostWorkerPolicy = 'stop' | 'continue' | 'replace';

/**
 * Where the workers that shardlab starts itself (run, compare, sweep) run:
 *   processes  one trainer process each, talking gRPC (what a cluster does, on one host);
 *   threads    worker threads of shardlab's own process, still a trainer each (the same step loop, reports and
 *              faults), averaging through shared memory (--collective shared-memory) instead of messages.
 */
export type RuntimeName = 'processes' | 'threads';
export const RUNTIME_NAMES: readonly RuntimeName[] = ['processes', 'threads'];

/** The collective setting: relay, ring or halving-doubling, or auto (resolved by resolveCollective before a run starts). */
export type CollectiveSetting = CollectiveName | 'auto';

/** A config whose collective is decided: what a run (the step engine, the files it writes) works with. */
export type RunConfig = ExperimentConfig & { collective: CollectiveName };

/**
 * Decides --collective auto. Averaging among the trainers is faster than the relay (4 trainers on 2 cores: ~100
 * against ~65 steps/s, docs/benchmark.md), halving-doubling (for 1, 2, 4, 8 ... workers) faster than the ring
 * where they differ (8 trainers: +12% steps/s; at 1 and 2 they send the same messages), so auto takes
 * halving-doubling for a power of two of workers and the ring otherwise, where they surely work: trainers that
 * shardlab starts itself on this host (`trainersHere`), which reach each other on 127.0.0.1. It takes relay for a standalone coordinator (trainers on
 * other hosts may not reach each other: their peer ports bind 127.0.0.1 unless told otherwise), and for runs that
 * need the coordinator's own replica: --lost-worker continue|replace and a robust --combine.
 */
export function resolveCollective(config: ExperimentConfig, trainersHere: boolean): RunConfig {
  if (config.runtime === 'threads' && !trainersHere) {
    throw new ConfigError(`--runtime threads: a standalone coordinator's trainers are processes of their own; threads are for the workers shardlab starts itself (run, compare, sweep)`);
  }
  if (config.collective !== 'auto') return config as RunConfig;
  // A robust --combine needs every contribution in one place: the relay coordinator, or shared memory. A lost
  // worker's place is re-formed only at the relay so far. Checkpoints work under every collective (worker 0 sends
  // its state when one is due).
  const amongTrainers: CollectiveName = config.runtime === 'threads' ? 'shared-memory' : isPowerOfTwo(config.workers) ? 'halving-doubling' : 'ring';
  const needsRelay = config.lostWorker !== 'stop' || (config.combine !== 'mean' && !collectiveNeeds(amongTrainers).robustRules);
  return { ...config, collective: trainersHere && !needsRelay ? amongTrainers : 'relay' };
}
export const LOST_WORKER_POLICIES: readonly LostWorkerPolicy[] = ['stop', 'continue', 'replace'];

/**
 * Ring or halving-doubling under --lost-worker continue|replace: the trainers' collective is re-formed when a
 * member goes or a replacement comes. Every report then leaves after the all-reduce, a worker keeps the step's
 * starting state until the coordinator answers, and the answer may be the same step again among the new members.
 */
export function elasticAmongTrainers(config: Pick<RunConfig, 'collective' | 'lostWorker'>): boolean {
  return config.lostWorker !== 'stop' && collectiveNeeds(config.collective).peerAddresses;
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
/** The prefix of a --model that names a TensorFlow.js Layers model directory, as npy:<dir> names a dataset. */
export const LAYERS_PREFIX = 'layers:';

/** The directory of a loaded model (--model layers:<dir>), or null for a built-in kind. */
export function modelDir(model: string): string | null {
  return model.startsWith(LAYERS_PREFIX) ? model.slice(LAYERS_PREFIX.length) : null;
}
export const NORM_NAMES: readonly NormName[] = ['none', 'batch', 'sync-batch', 'group', 'layer'];
export { AGGREGATION_NAMES, type AggregationName } from '@shardlab/aggregation';


export const EXPERIMENT_OPTIONS: readonly OptionSpec[] = [
  { key: 'dataset', type: 'string', default: 'synthetic', valueHint: 'synthetic|fashion-mnist|fashion-mnist-deformed|idx:<dir>|npy:<dir>', help: 'training data; npy:<dir>: your own NumPy arrays (dataset.json beside .npy files of features and labels, read by sample id; docs/usage.md); fashion-mnist-deformed: --samples elastic and affine deformations of the Fashion-MNIST training images, generated by id, tested on the real test set' },
  {
    key: 'feed',
    type: 'enum',
    default: 'ids',
    choices: FEED_NAMES,
    help: 'ids: trainers load the dataset themselves and get sample ids; features: the coordinator ships every batch (trainers without the data)',
  },
  { key: 'classes', type: 'int-list', help: 'keep only these classes of the data, relabelled 0..k-1 (e.g. 0,1,2,3)' },
  { key: 'samples', type: 'int', default: 60000, min: 100, max: DEFORMED_MAX_SAMPLES, help: `synthetic (up to ${SYNTHETIC_MAX_SAMPLES}), fashion-mnist-deformed: training samples` },
  { key: 'deformation', type: 'number', default: 1, min: 0, max: MAX_DEFORMATION, help: 'fashion-mnist-deformed: strength of the deformations (0: the base images exactly; 1: elastic RMS 1.3 px, rotation up to 8 degrees, scale 8%, shear 0.12, shift 1.5 px)' },
  { key: 'testSamples', type: 'int', default: 4000, min: 10, max: 1_000_000, help: 'synthetic: test samples' },
  { key: 'features', type: 'int', default: 784, min: 2, max: 100_000, help: 'synthetic: features per sample' },
  { key: 'numClasses', type: 'int', default: 4, min: 2, max: 255, help: 'synthetic: number of classes' },
  { key: 'strategy', type: 'enum', default: 'iid', choices: STRATEGY_NAMES, help: 'how batches are composed (see docs/usage.md)' },
  { key: 'order', type: 'enum', default: 'cyclic', choices: ['cyclic', 'random'], help: 'sequential-single-class: class order' },
  { key: 'runLength', type: 'int', default: 1, min: 1, max: 1_000_000, help: 'sequential-single-class: consecutive steps of one class' },
  { key: 'workers', type: 'int', default: 4, min: 1, max: 64, help: 'number of trainers' },
  { key: 'batchSize', type: 'int', default: 128, min: 1, max: 65536, help: 'samples per worker per step' },
  { key: 'steps', type: 'int', default: 300, min: 1, max: 10_000_000, help: 'synchronous steps' },
  { key: 'optimizer', type: 'enum', default: 'sgd', choices: OPTIMIZER_NAMES, help: 'update rule applied by every replica' },
  { key: 'lr', type: 'number', default: 0.05, min: 1e-9, max: 10, help: 'learning rate' },
  { key: 'momentum', type: 'number', default: 0.9, min: 0, max: 0.999999, help: 'momentum coefficient (--optimizer momentum)' },
  { key: 'hidden', type: 'int-list', default: [128, 64], min: 1, max: 8192, help: 'MLP hidden layer sizes' },
  { key: 'model', type: 'string', default: 'mlp', valueHint: 'mlp|cnn|layers:<dir>', help: 'mlp; cnn (two conv layers; 28x28 images); layers:<dir>: your own TensorFlow.js Layers model (model.json and weights, as tensorflowjs_converter or model.save writes them; docs/own-data.md), trained from its weights and saved back in its format' },
  {
    key: 'buffers',
    type: 'enum',
    default: 'broadcast',
    choices: BUFFERS_RULES,
    help: "BatchNorm running statistics across workers after each step: broadcast = worker 0's everywhere (DDP's broadcast_buffers); average = the mean of every worker's; local = each keeps its own (per-node statistics; evaluation and checkpoints use worker 0's)",
  },
  { key: 'norm', type: 'enum', default: 'none', choices: NORM_NAMES, help: 'normalisation after hidden layers; batch = per-worker statistics, sync-batch = combined across workers every step' },
  { key: 'aggregation', type: 'enum', default: 'sync-sgd', choices: AGGREGATION_NAMES, help: 'sync-sgd: average gradients every step; fedavg/fedprox: --local-steps local steps, then average parameters' },
  {
    key: 'collective',
    type: 'enum',
    default: 'auto',
    choices: ['auto', ...COLLECTIVE_NAMES],
    help: 'how gradients are averaged: relay = through the coordinator; ring = ring all-reduce among the trainers (the coordinator only drives the steps); halving-doubling = recursive halving and doubling among the trainers, fewer messages than the ring, for 1, 2, 4, 8 ... workers; shared-memory = among worker threads (--runtime threads) through shared memory, bit for bit the relay\'s average; auto = shared-memory under --runtime threads, else halving-doubling (ring for worker counts that are not a power of two) where shardlab starts the trainers itself (run, compare, sweep) and the run needs no coordinator replica (--lost-worker continue|replace, or a --combine other than mean outside threads), relay otherwise',
  },
  {
    key: 'combine',
    type: 'enum',
    default: 'mean',
    choices: COMBINE_NAMES,
    help: 'how the coordinator combines a step\'s contributions: mean (sample-weighted, what DDP does); median (coordinate-wise); trimmed-mean (drop --trim values at each end per coordinate); multi-krum (average the W - --krum-f contributions closest to their neighbours). Robust rules need every contribution in one place: --collective relay, or shared-memory under --runtime threads (bit for bit the relay\'s result); metrics.jsonl records per worker the share of its contribution each step left out',
  },
  { key: 'trim', type: 'int', default: 1, min: 1, max: 31, help: '--combine trimmed-mean: values dropped at each end of every coordinate (needs trim < workers / 2)' },
  { key: 'krumF', type: 'int', default: 1, min: 1, max: 31, help: '--combine multi-krum: contributions assumed poisoned (needs workers > 2 f + 2)' },
  {
    key: 'runtime',
    type: 'enum',
    default: 'processes',
    choices: RUNTIME_NAMES,
    help: 'run, compare, sweep: each trainer a process of its own talking gRPC (processes), or a worker thread of this process (threads: the same trainer, averaging through shared memory)',
  },
  { key: 'gradientMetricsEvery', type: 'int', default: 10, min: 1, max: 10_000_000, help: 'per-pair gradient cosines every N steps (ring, halving-doubling: trainers then send their full gradient)' },
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
  ...KEEPALIVE_OPTIONS,
  {
    key: 'lostWorker',
    type: 'enum',
    default: 'stop',
    choices: LOST_WORKER_POLICIES,
    help: 'what a lost worker (silent for --step-timeout, or its process gone) does to the run: stop it; continue with the survivors (the batch plan is rebuilt for them); or replace it with a new trainer that gets the current state (relay only for continue and replace)',
  },
  { key: 'replaceTimeout', type: 'number', default: 60, min: 0.1, max: 86400, help: '--lost-worker replace: seconds to wait for the replacement trainer before stopping the run' },
  { key: 'checkpointEvery', type: 'int', default: 0, min: 0, max: 10_000_000, help: 'write checkpoint.bin (parameters, optimizer state, position) every N steps, 0 = never; a killed run continues with --resume DIR' },
  { key: 'faults', type: 'string-list', default: [], valueHint: 'KIND:W@STEP[:ARG],..', help: 'inject faults: kill:2@100 (worker 2 dies at step 100), pause:2@100:20 (freezes 20 s), slow:2@0:50 (+50 ms a step), drop:2@100:0.1 (drops 10% of its pushes), flip:2@0:10 (poisons: sends -10x its contribution), scale:2@0:10 (sends 10x it), noise:2@0:1 (sends N(0, 1) noise instead)' },
];

const BY_KEY = new Map(EXPERIMENT_OPTIONS.map((o) => [o.key, o]));

export function defaultConfig(): ExperimentConfig {
  const cfg: Record<string, unknown> = { classes: null };
  for (const o of EXPERIMENT_OPTIONS) if (o.default !== undefined) cfg[o.key] = Array.isArray(o.default) ? [...o.default] : o.default;
  return cfg as unknown as ExperimentConfig;
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
  if (!(c.dataset === 'synthetic' || c.dataset === 'fashion-mnist' || c.dataset === DEFORMED_NAME || c.dataset.startsWith('idx:') || c.dataset.startsWith('npy:'))) {
    throw new ConfigError(`${where('dataset')}: unknown dataset ${JSON.stringify(c.dataset)}; allowed: ${DATASET_NAMES.join(', ')}`);
  }
  if (c.dataset === 'idx:') throw new ConfigError(`${where('dataset')}: idx:<dir> needs a directory`);
  if (c.dataset === 'npy:') throw new ConfigError(`${where('dataset')}: npy:<dir> needs a directory (with dataset.json and .npy files)`);
  if (c.classes && new Set(c.classes).size !== c.classes.length) throw new ConfigError(`${where('classes')}: duplicate class in ${c.classes.join(',')}`);
  if (c.aggregation === 'sync-sgd' && c.localSteps !== 1) {
    throw new ConfigError(`${where('localSteps')}: only applies to --aggregation fedavg or fedprox (sync-sgd averages every step)`);
  }
  if (c.norm === 'sync-batch' && c.aggregation !== 'sync-sgd') {
    throw new ConfigError(`${where('norm')}: sync-batch combines statistics every step, so it needs --aggregation sync-sgd`);
  }
  if (c.model === LAYERS_PREFIX) throw new ConfigError(`${where('model')}: layers:<dir> needs a directory (with model.json and its weights)`);
  if (c.model !== 'mlp' && c.model !== 'cnn' && !modelDir(c.model)) {
    throw new ConfigError(`${where('model')}: unknown model ${JSON.stringify(c.model)}; allowed: mlp, cnn, layers:<dir> (a TensorFlow.js Layers model directory)`);
  }
  if (modelDir(c.model) && c.norm !== 'none') throw new ConfigError(`${where('norm')}: applies to the built-in mlp; a loaded model has the normalisation layers its model.json lists`);
  if (c.model === 'cnn' && c.norm !== 'none') throw new ConfigError(`${where('norm')}: the cnn model has no normalisation layers; use --model mlp`);
  if (c.classes && c.classes.length < 2) throw new ConfigError(`${where('classes')}: need at least 2 classes, got ${c.classes.join(',')}`);
  // continue and replace rebuild who takes part mid-run: ring and halving-doubling re-form their peer links (see
  // elasticAmongTrainers); worker threads and SyncBN's in-step reductions cannot go on without a member.
  const unsupported =
    c.collective === 'shared-memory' ? `--collective shared-memory (its worker threads share one fixed memory layout); use relay, ring or halving-doubling` : c.norm === 'sync-batch' ? '--norm sync-batch (a lost worker would stall the in-step reductions)' : null;
  if (c.lostWorker !== 'stop' && unsupported) throw new ConfigError(`${where('lostWorker')}: ${c.lostWorker} is not supported with ${unsupported}`);
  if (c.runtime === 'threads' && c.lostWorker === 'replace') {
    throw new ConfigError(`${where('lostWorker')}: replace is not supported with --runtime threads yet (a replacement is a new trainer process); use processes`);
  }
  if (c.combine !== 'mean' && c.lostWorker === 'continue') {
    throw new ConfigError(`${where('combine')}: ${c.combine} is set for a fixed number of contributions; --lost-worker continue would change it mid-run`);
  }
  if (c.combine !== 'mean' && c.collective !== 'auto' && !collectiveNeeds(c.collective).robustRules) {
    throw new ConfigError(`${where('combine')}: ${c.combine} needs every contribution in one place: use --collective relay, or shared-memory under --runtime threads (${c.collective} only ever sums them)`);
  }
  try {
    checkCombine(c.combine, c.workers, c);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  if (c.collective === 'shared-memory' && c.runtime !== 'threads') {
    throw new ConfigError(`${where('collective')}: shared-memory averages among worker threads; it needs --runtime threads`);
  }
  if (c.collective === 'halving-doubling' && !isPowerOfTwo(c.workers)) {
    throw new ConfigError(`${where('collective')}: halving-doubling needs a power of two of workers (1, 2, 4, 8, ...), got --workers ${c.workers}; use ring`);
  }
  for (const text of c.faults) {
    let f: Fault;
    try {
      f = parseFault(text);
    } catch (err) {
      throw new ConfigError(`${where('faults')}: ${(err as Error).message}`);
    }
    if (f.worker >= c.workers) throw new ConfigError(`${where('faults')}: ${text} names worker ${f.worker}, but the run has workers 0..${c.workers - 1}`);
  }
  return c;
}

