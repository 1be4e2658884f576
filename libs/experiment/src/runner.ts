import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { provenance } from './provenance';
import { join } from 'node:path';
import { labelHistogram, stepClassMix } from '@shardlab/data';

/** label-histogram.json's firstSteps: the class mix of each worker's batch for this many steps (and workers, at most). */
const FIRST_STEPS = 16;
const FIRST_STEPS_WORKERS = 16;
import { combineEvaluations, createModel, describeBackend, initBackend, saveLayersModel, setBlasThreads, type BackendName, type EvaluationResult, type LayersSource, type Model } from '@shardlab/model';
import { DiskError, JsonlWriter, lockDirectory, TensorBoardWriter, writeJsonFile, type EvalRecord, type HParams, type MetricsRecord, type RunObserver, type RunSummary } from '@shardlab/report';
import { EXPERIMENT_OPTIONS, type RunConfig } from './config';
import { createHash } from 'node:crypto';
import { ConfigError } from '@shardlab/options';
import { LoopDelayMonitor, yieldIfDue } from '@shardlab/protocol';
import { CHECKPOINT_FILE, readCheckpoint, writeCheckpoint, type Checkpoint } from './checkpoint';
import { prepareData, strategyFor, type PreparedData } from './prepare';
import { checkModelFitsData, loadModelOf } from './model-spec';
import { readSnapshot, weightDivergence, writeSnapshot } from './snapshots';
import { TrainingSession, type Evaluation, type Progress, type SessionResult } from './session';

/** The transport: serves a session to trainers until closed. The coordinator app provides gRPC. */
export type Serve = (session: TrainingSession) => Promise<{ address: string; close: () => Promise<void> }>;

export interface RunOptions {
  /** Directory for config.json, metrics.jsonl, summary.json and model/. */
  out: string;
  serve: Serve;
  /** Called once the server listens: start trainers here. */
  onListening?: (address: string, session: TrainingSession) => void;
  onProgress?: (p: Progress) => void;
  log?: (line: string) => void;
  /** Write the parameters at every evaluation to out/snapshots/ (a reference for other runs). */
  saveSnapshots?: boolean;
  /** A run directory with snapshots: record weight divergence from it at every evaluation. */
  reference?: string;
  /** Continue the run in `out` from its checkpoint.bin (metrics.jsonl is cut back to the checkpoint). */
  resume?: boolean;
  /** Watches the run as it goes (the live dashboard): its start, every metrics record, its end. */
  observer?: RunObserver;
}

export interface RunOutcome {
  summary: RunSummary;
  result: SessionResult;
  out: string;
}

/**
 * One experiment from config to files on disk: load data, serve the step engine, run,
 * then write summary.json and the model. Everything is written as it happens, so a run
 * that fails keeps its config and metrics and says why in summary.json.
 */
export async function runExperiment(config: RunConfig, opts: RunOptions): Promise<RunOutcome> {
  try {
    const outcome = await runAndWrite(config, opts);
    opts.observer?.ended(outcome.summary);
    return outcome;
  } catch (err) {
    opts.observer?.ended({ status: 'failed', error: err instanceof Error ? err.message : String(err), finalTestAccuracy: null });
    throw err;
  }
}

async function runAndWrite(config: RunConfig, opts: RunOptions): Promise<RunOutcome> {
  const log = opts.log ?? (() => undefined);
  const backend: BackendName = await initBackend(config.backend);
  if (backend === 'native') setBlasThreads(config.blasThreads);
  const data = prepareData(config);
  // Every mistake in the settings is refused before the run directory holds anything.
  const layers = await loadModelOf(config);
  checkModelFitsData(config, data.train.numFeatures, data.train.numClasses, data.description, layers);
  log(`data: ${data.description}; strategy: ${data.strategy.describe()}; coordinator backend: ${describeBackend(backend)}`);

  // One writer at a time: a second `--resume` of a run still going is refused, naming the first.
  const lock = lockDirectory(opts.out);
  try {
    return await writeRun(config, opts, backend, data, layers, log);
  } finally {
    lock.release();
  }
}

async function writeRun(
  config: RunConfig,
  opts: RunOptions,
  backend: BackendName,
  data: PreparedData,
  layers: LayersSource | undefined,
  log: (line: string) => void,
): Promise<RunOutcome> {
  const resume = opts.resume ? resumeState(opts.out) : undefined;
  if (!resume) clearPreviousRun(opts.out);
  if (resume) log(`resuming from ${join(opts.out, CHECKPOINT_FILE)} at step ${resume.step} of ${config.steps}`);
  const testIds = Uint32Array.from({ length: data.test.size }, (_, i) => i);
  const testFeatures = data.test.features(testIds);
  let evaluator: Model | null = null;
  /**
   * A run file that cannot be written (permissions, a full or read-only disk) stops the run with one line naming
   * it, once; later writes are skipped, and the last checkpoint, written whole or not at all, stays valid.
   */
  let diskFailure: DiskError | null = null;
  const guarded = (write: () => void): void => {
    if (diskFailure) return;
    try {
      write();
    } catch (err) {
      if (!(err instanceof DiskError)) throw err;
      diskFailure = err;
      session.fail(err.message);
    }
  };
  const session: TrainingSession = new TrainingSession({
    config,
    train: data.train,
    strategy: data.strategy,
    strategyFor: (workers) => strategyFor(config, data.train, workers),
    layers,
    resume,
    checkpoint: (state) => guarded(() => writeCheckpoint(opts.out, { ...state, metricsBytes: metrics.bytes })),
    evaluate: async (params, buffers, step): Promise<Evaluation> => {
      evaluator ??= await createModel(session.model);
      evaluator.setParams(params);
      // BatchNorm: evaluate with worker 0's running statistics (as DDP's broadcast_buffers makes every replica use rank 0's).
      if (evaluator.bufferSize > 0 && buffers && buffers.length === evaluator.bufferSize) evaluator.setBuffers(buffers);
      const ev: Evaluation = await evaluateYielding(evaluator, testFeatures, data.test.labels, data.test.size);
      if (opts.saveSnapshots) writeSnapshot(opts.out, step, params);
      const ref = opts.reference ? readSnapshot(opts.reference, step, params.length) : null;
      return ref ? { ...ev, weightDivergence: weightDivergence(params, ref) } : ev;
    },
    record: (r) => {
      guarded(() => {
        metrics.write(r);
        tensorboard.record(r);
      });
      opts.observer?.record(r);
    },
    log,
    onProgress: opts.onProgress,
  });
  writeJsonFile(join(opts.out, 'config.json'), {
    ...config,
    backend,
    requestedBackend: config.backend,
    runId: session.runId,
    datasetDescription: data.description,
    classNames: data.train.classNames,
    strategyDescription: data.strategy.describe(),
    modelSpec: session.model,
    startedAt: new Date().toISOString(),
    provenance: provenance(),
  });
  writeJsonFile(join(opts.out, 'label-histogram.json'), {
    classNames: data.train.classNames,
    steps: config.steps * config.localSteps,
    perWorker: labelHistogram(data.strategy, data.train.labels, data.train.numClasses, config.workers, config.steps * config.localSteps),
    firstSteps: stepClassMix(data.strategy, data.train.labels, data.train.numClasses, Math.min(config.workers, FIRST_STEPS_WORKERS), Math.min(FIRST_STEPS, config.steps * config.localSteps)),
  });
  const metrics = new JsonlWriter(join(opts.out, 'metrics.jsonl'), resume?.metricsBytes);
  // The same records as TensorBoard scalars, in the run directory: `tensorboard --logdir runs/` shows every run.
  const tensorboard = new TensorBoardWriter(opts.out, data.train.classNames);
  guarded(() => tensorboard.hparams(...hparamsOf(config)));

  opts.observer?.started({ workers: config.workers, steps: config.steps, classNames: data.train.classNames });
  // How long this process's event loop is ever held while it serves (evaluation, checkpoints, metrics): into summary.json.
  const loopDelay = new LoopDelayMonitor();
  let result: SessionResult;
  try {
    const server = await opts.serve(session);
    try {
      opts.onListening?.(server.address, session);
      result = await session.run();
      // Up to 5 s for every trainer to hear that the run is over; meanwhile GetStatus still shows
      // the final state to observers (a lost worker never comes back, so a failed run lingers the 5 s).
      await session.waitForDeparture(5000);
    } finally {
      await server.close();
    }
  } catch (err) {
    // The directory has config.json; it gets a summary.json that says why the run never finished (a port in use...).
    session.fail(err instanceof Error ? err.message : String(err));
    loopDelay.stop();
    const failed = session.result();
    guarded(() => writeJsonFile(join(opts.out, 'summary.json'), runSummary(config, failed, backend, data.train.classNames, loopDelay.maxMs)));
    guarded(() => tensorboard.end('failed', failed.stepsCompleted, {}));
    tensorboard.close();
    throw err;
  }
  if (result.status === 'completed') {
    try {
      await saveLayersModel(session.model, result.params, join(opts.out, 'model'), result.buffers ?? undefined);
    } catch (err) {
      // Group norm has no TensorFlow.js layer; the parameters are still in the last snapshot/metrics.
      log(`model/ not written: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const summary = runSummary(config, result, backend, data.train.classNames, loopDelay.maxMs);
  guarded(() =>
    tensorboard.end(summary.status, summary.stepsCompleted, {
      test_accuracy: summary.finalTestAccuracy,
      worst_class_accuracy: summary.worstClassAccuracy,
      loss: summary.finalLoss,
      loss_swing: summary.lossSwing,
      steps_per_second: summary.stepsPerSecond,
    }),
  );
  tensorboard.close();
  loopDelay.stop();
  try {
    writeJsonFile(join(opts.out, 'summary.json'), summary);
  } catch (err) {
    if (!(err instanceof DiskError)) throw err;
    // Say what was lost and what is kept: the checkpoint, when the run writes them, continues the run.
    const kept = existsSync(join(opts.out, CHECKPOINT_FILE))
      ? `the last checkpoint is intact: once the directory is writable, continue with shardlab run --resume ${opts.out}`
      : 'no checkpoint to continue from (--checkpoint-every N writes them)';
    throw new DiskError(`${err.message}; the run ${result.status === 'completed' ? 'completed' : `stopped: ${result.error}`}; ${kept}`);
  }
  (evaluator as Model | null)?.dispose();
  return { summary, result, out: opts.out };
}

/**
 * The run's settings for TensorBoard's HParams view (lists as text), and its session group: the settings but the
 * seed, so the seeds of one arm are one group.
 */
function hparamsOf(config: RunConfig): [HParams, string] {
  const hparams: HParams = {};
  for (const o of EXPERIMENT_OPTIONS) {
    const v = (config as unknown as Record<string, unknown>)[o.key];
    if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') hparams[o.key] = v;
    else if (Array.isArray(v)) hparams[o.key] = v.join(',');
  }
  const group = Object.entries(hparams).filter(([k]) => k !== 'seed');
  return [hparams, createHash('sha256').update(JSON.stringify(group)).digest('hex').slice(0, 16)];
}

/** summary.json of a run: its settings, what it came to and how fast. */
function runSummary(config: RunConfig, result: SessionResult, backend: BackendName, classNames: readonly string[], coordinatorLoopDelayMs: number): RunSummary {
  const perClass = result.lastEval?.perClassAccuracy ?? null;
  return {
    status: result.status,
    error: result.error,
    strategy: config.strategy,
    dataset: config.dataset,
    workers: config.workers,
    batchSize: config.batchSize,
    steps: config.steps,
    stepsCompleted: result.stepsCompleted,
    optimizer: config.optimizer,
    lr: config.lr,
    aggregation: config.aggregation,
    collective: config.collective,
    feed: config.feed,
    localSteps: config.localSteps,
    model: config.model,
    norm: config.norm,
    seed: config.seed,
    finalTestAccuracy: result.lastEval?.accuracy ?? null,
    perClassAccuracy: perClass,
    classNames: [...classNames],
    worstClassAccuracy: perClass ? Math.min(...perClass.filter((a) => !Number.isNaN(a))) : null,
    finalLoss: result.finalLoss,
    lossSwing: result.lossSwing,
    backend,
    trainerBackends: result.trainerBackends,
    wallSeconds: result.wallSeconds,
    stepsPerSecond: result.wallSeconds > 0 ? result.stepsCompleted / result.wallSeconds : 0,
    communicationShare: result.communicationShare,
    refused: result.refused,
    lostWorkers: result.lostWorkers,
    replacements: result.replacements,
    checkpointStep: result.status === 'completed' ? null : result.checkpointStep,
    endedAt: new Date().toISOString(),
    eventLoopDelayMs: { coordinator: coordinatorLoopDelayMs, workers: result.loopDelayMs },
  };
}

/** Test rows per slice of an evaluation: the coordinator's event loop turns between slices. */
const EVAL_SLICE_ROWS = 1000;

/**
 * Evaluates the test set in slices, returning to the event loop between them when it is due: a CNN's pass over
 * 10,000 test images holds the loop ~1 s on this machine, long enough under load to miss keepalive pings.
 */
async function evaluateYielding(model: Model, features: Float32Array, labels: ArrayLike<number>, n: number): Promise<EvaluationResult> {
  const width = features.length / Math.max(1, n);
  const parts: EvaluationResult[] = [];
  for (let start = 0; start < n; start += EVAL_SLICE_ROWS) {
    const end = Math.min(n, start + EVAL_SLICE_ROWS);
    parts.push(model.evaluate(features.subarray(start * width, end * width), Array.prototype.slice.call(labels, start, end) as number[], end - start));
    await yieldIfDue();
  }
  return combineEvaluations(parts);
}

/**
 * A fresh run in a directory that holds an earlier run replaces that run's files. metrics.jsonl, summary.json and
 * model/ are rewritten anyway; these would not be: the earlier TensorBoard event files (TensorBoard would draw
 * both runs as one) and its checkpoint (--resume would continue it under this run's config.json).
 */
export function clearPreviousRun(out: string): void {
  if (!existsSync(out)) return;
  for (const name of readdirSync(out)) {
    if (name.startsWith('events.out.tfevents.') || name === CHECKPOINT_FILE) rmSync(join(out, name), { force: true });
  }
}

/**
 * What a resumed run starts from: the checkpoint, plus the step losses and last evaluation of the
 * metrics.jsonl lines it keeps (so the loss swing and final figures equal an uninterrupted run's).
 */
function resumeState(out: string): Checkpoint & { stepLosses: number[]; lastEval: (Evaluation & { step: number }) | null } {
  let checkpoint: Checkpoint;
  try {
    checkpoint = readCheckpoint(out);
  } catch (err) {
    throw new ConfigError(`--resume ${out}: ${(err as Error).message}`);
  }
  const kept = readFileSync(join(out, 'metrics.jsonl')).subarray(0, checkpoint.metricsBytes).toString('utf8');
  const records = kept.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as MetricsRecord);
  const stepLosses = records.flatMap((r) => (r.kind === 'step' ? [r.loss] : []));
  if (stepLosses.length !== checkpoint.step) throw new Error(`${join(out, 'metrics.jsonl')}: ${stepLosses.length} step records before the checkpoint, expected ${checkpoint.step}`);
  const last = records.filter((r): r is EvalRecord => r.kind === 'eval').at(-1);
  const lastEval = last ? { accuracy: last.testAccuracy, loss: last.testLoss, perClassAccuracy: last.perClassAccuracy, step: last.step } : null;
  return { ...checkpoint, stepLosses, lastEval };
}
