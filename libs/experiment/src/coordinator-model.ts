import { combine } from '@shardlab/aggregation';
import { collectiveNeeds } from '@shardlab/collective';
import type { Dataset } from '@shardlab/data';
import { bufferCount, initBuffers, type LayersSource, type ModelSpec } from '@shardlab/model';
import { encodeTensor } from '@shardlab/protocol';
import { Replica, aggregationRule, combineBuffers, modelFromWire, type AggregationRule, type WireModelSpec } from '@shardlab/worker';
import type { RunConfig } from './config';
import type { StartState } from './join-reply';
import { wireModelSpec } from './model-spec';
import type { StepState } from './step-state';

/**
 * The model as the coordinator holds it. Relay: a replica of its own, updated with every step's average like
 * the trainers' (the reference their checksums are compared with, and what checkpoints and replacements start
 * from). Among trainers it never sees the average, so it keeps no replica of its own: only the latest
 * parameters worker 0 sent. The buffers (BatchNorm running statistics) it evaluates and checkpoints with are what
 * --buffers makes every worker's (relay: combined here from the pushes; among trainers: worker 0's, combined by the
 * collective before it reports them), or worker 0's own under --buffers local.
 */
export class CoordinatorModel {
  readonly spec: ModelSpec;
  /** The model as sent to trainers at join. */
  readonly wire: WireModelSpec;
  /** Worker 0's non-trainable state, if the model has any. */
  buffers: Float32Array | null = null;
  private readonly replica: Replica;
  private readonly rule: AggregationRule;
  private readonly amongTrainers: boolean;
  /** Among trainers: the latest parameters worker 0 sent. */
  private workerParams: Float32Array | null = null;
  /** Among trainers: the optimizer state worker 0 sent with them for a checkpoint. */
  private workerOptimizerState: Float64Array | null = null;

  constructor(
    private readonly config: RunConfig,
    train: Dataset,
    resume?: StartState,
    layers?: LayersSource,
  ) {
    this.wire = wireModelSpec(config, train.numFeatures, train.numClasses, layers);
    this.spec = modelFromWire(this.wire).spec;
    const optimizer = { name: config.optimizer, lr: config.lr, momentum: config.momentum };
    this.replica = new Replica(this.spec, optimizer);
    this.rule = aggregationRule(config.aggregation, { optimizer, proxMu: config.proxMu });
    this.amongTrainers = !collectiveNeeds(config.collective).coordinatorAverages;
    // Every replica starts from the model's initial buffers (a resumed run: worker 0's, from the checkpoint).
    if (bufferCount(this.spec) > 0) this.buffers = initBuffers(this.spec);
    if (resume) {
      this.replica.restore(resume.params, resume.optimizerState);
      this.buffers = resume.buffers ?? this.buffers;
    }
  }

  /** Number of model parameters (the length of a gradient). */
  get size(): number {
    return this.replica.params.length;
  }

  /** Relay: the checksum every replica must report at the start of the next step (after all earlier updates). Among trainers: null. */
  expectedChecksum(): string | null {
    if (this.amongTrainers) return null;
    return this.replica.checksum(this.config.buffers !== 'local' && this.buffers ? this.buffers : undefined);
  }

  /**
   * Takes in a completed step. Relay: the sample-weighted average of the gradients of the workers that
   * contributed (all of them, unless some were declared lost under --lost-worker continue) is applied here and
   * kept in `st.update` for the answers. Among trainers: worker 0's parameters, when it sent them.
   */
  absorb(st: StepState): void {
    let combined: Float32Array | null = null;
    if (!this.amongTrainers) {
      const from = st.samples.flatMap((n, w) => (n > 0 ? [w] : []));
      const { update: average, discarded } = combine(
        this.config.combine,
        from.map((w) => st.gradients[w]!),
        from.map((w) => st.samples[w]!),
        this.config,
      );
      if (this.config.combine !== 'mean') {
        st.discarded = st.samples.map(() => 0);
        from.forEach((w, i) => (st.discarded![w] = discarded[i]!));
      }
      this.rule.applyAverage(this.replica, average);
      st.update = encodeTensor(average, [average.length]);
      const pushed = from.flatMap((w) => (st.buffers[w] ? [st.buffers[w]!] : []));
      if (this.config.buffers !== 'local' && pushed.length > 0 && pushed.length === from.length) {
        // Worker 0's (or, once it is lost, the lowest survivor's), or the mean: what every worker takes with the answer.
        combined = combineBuffers(this.config.buffers, pushed);
        st.combinedBuffers = encodeTensor(combined, [combined.length]);
      }
    } else if (st.params) {
      this.workerParams = st.params;
    }
    if (st.optimizerState) this.workerOptimizerState = st.optimizerState;
    // Worker 0's, or (once it is lost) the first member's still in the run.
    const reported = combined ?? st.buffers.find((b) => b !== null) ?? null;
    if (reported) this.buffers = reported;
  }

  /** The current parameters: the replica's (relay), or the latest ones worker 0 sent (among trainers; the initial ones before). */
  params(): Float32Array {
    return this.workerParams ?? this.replica.params;
  }

  /** What a checkpoint saves and a replacement or a resumed run starts from (relay: the replica's state). */
  /** Whether this coordinator keeps the state of every step itself (relay); among trainers worker 0 sends it when asked. */
  get keepsState(): boolean {
    return !this.amongTrainers;
  }

  /** Float64 values of the optimizer's state (what a checkpoint and a report of it carry). */
  get optimizerStateLength(): number {
    return this.replica.optimizerState().length;
  }

  /**
   * What a replacement or a resumed run starts from: the replica's state (relay, or among trainers before any step
   * was reported: a resumed run's checkpoint), else the last parameters and optimizer state worker 0 sent.
   */
  state(): StartState {
    if (this.amongTrainers && this.workerParams && this.workerOptimizerState) {
      return { params: this.workerParams, optimizerState: this.workerOptimizerState, buffers: this.buffers };
    }
    return { params: this.replica.params, optimizerState: this.replica.optimizerState(), buffers: this.buffers };
  }

  /** The state after the completed step `st` for a checkpoint; among trainers only when worker 0 reported it with that step. */
  checkpointState(st: StepState): StartState | null {
    if (!this.amongTrainers) return this.state();
    return st.params && st.optimizerState ? { params: st.params, optimizerState: st.optimizerState, buffers: this.buffers } : null;
  }
}
