import { l2Norm, type RobustRule } from '@shardlab/aggregation';
import type { Collective } from '@shardlab/collective';
import type { Dataset } from '@shardlab/data';
import { decodeTensor, encodeTensor, type Batch__Output, type GradientAck__Output, type GradientUpdate, type StepAssignment__Output } from '@shardlab/protocol';
import type { AggregationRule, GradientModel, LocalBatch } from './aggregation-rules';
import { buffersContribution, buffersFromSum, type BuffersRule } from './buffers';
import type { FaultPlan } from './faults';
import type { Replica } from './replica';

/** A failure of the step loop that the trainer reports as one line: a wrong assignment, a peer gone. */
export class WorkerError extends Error {
  override name = 'WorkerError';
}

/** The coordinator as the step loop sees it; the trainer app implements it over gRPC (and names its failures). */
export interface CoordinatorPort {
  /** The assignment of `step`: a long poll, for a step no earlier answer carried (the first one). */
  nextStep(step: number): Promise<StepAssignment__Output>;
  /** One step's report (relay: with the gradient); resolves with the answer: the average (relay) and the next assignment. */
  push(update: GradientUpdate): Promise<GradientAck__Output>;
  /** Relay: an in-step sum over all workers (SyncBN statistics) through the coordinator. */
  sum(step: number, tag: number, values: Float64Array): Promise<Float64Array>;
}

/** What fault injection does to the whole process (the trainer app's: SIGKILL, a frozen event loop). */
export interface FaultEffects {
  kill(): void;
  freeze(ms: number): void;
}

/** The model as the step loop uses it: a gradient, and the buffers (BatchNorm running statistics) it reports. */
export interface WorkerModel extends GradientModel {
  /** Number of buffer values; 0 for a model without any. */
  readonly bufferSize: number;
  getBuffers(): Float32Array;
  setBuffers(flat: Float32Array): void;
}

export interface WorkerLoopOptions {
  runId: string;
  worker: number;
  /** Workers in the run. */
  workers: number;
  /** 0, or a resumed run's first step (the replica already holds the checkpoint's state). */
  startStep: number;
  model: WorkerModel;
  /** Features per sample (the model's input size). */
  inputSize: number;
  replica: Replica;
  rule: AggregationRule;
  /** SyncBN: BatchNorm statistics are summed over all workers within the step. */
  syncBatchNorm: boolean;
  /** What happens to the model's buffers across workers after each step (--buffers). */
  buffersRule: BuffersRule;
  /**
   * Among trainers with --lost-worker continue|replace: a failed all-reduce is reported, not fatal; every report
   * leaves after the all-reduce, and the step's starting state is kept until the coordinator's answer, which may
   * be the same step again with the collective re-formed.
   */
  elastic?: boolean;
  /** The training set under feed "ids"; null under feed "features" (every batch carries its features). */
  train: Dataset | null;
  faults: FaultPlan;
  /** A robust --combine the collective computes (shared memory); null: the mean (or relay, where the coordinator combines). */
  robust: RobustRule | null;
  effects: FaultEffects;
  coordinator: CoordinatorPort;
  /**
   * Among trainers: the collective, made at the first step from the peers' addresses that step carries (none for
   * shared memory) and what proves each peer (the hashes of their credentials, in a run with a token); a later
   * step that carries addresses again re-forms it. Null: relay.
   */
  connectPeers: ((addresses: readonly string[], verifiers: readonly string[], workers: readonly number[], epoch: number) => Collective) | null;
  /** The collective's name, for messages. */
  collective: string;
  log: (line: string) => void;
}

/** One batch as the model wants it: built from the local training set (feed ids) or decoded from the message. */
export function localBatch(b: Batch__Output, train: Dataset | null, inputSize: number): LocalBatch {
  if (!train) return { features: decodeTensor(b.features!, { length: b.labels.length * inputSize, field: 'batch.features' }), labels: b.labels };
  const labels = new Uint8Array(b.ids.length);
  for (let i = 0; i < b.ids.length; i++) {
    const id = b.ids[i]!;
    if (!(id < train.size)) throw new WorkerError(`batch.ids: sample id ${id} is outside the training set (0..${train.size - 1})`);
    labels[i] = train.labels[id]!;
  }
  return { features: train.features(b.ids), labels };
}

/**
 * A worker's steps until the run is over for it: for each step, compute the contribution of the assigned
 * batches, average it with every other worker's (relay: the coordinator answers the push with the average;
 * among trainers: the collective), and apply the average to the replica. Resolves with the steps taken and the
 * coordinator's reason if it stopped the run (empty when the run simply finished).
 */
export async function runWorkerLoop(o: WorkerLoopOptions): Promise<{ steps: number; stopReason: string }> {
  const { runId, worker, model, replica, rule, coordinator, inputSize, log } = o;
  let peers: Collective | null = null;
  /** The next step's assignment, when the answer to this step's push carried it (it always does, unless the push was dropped). */
  let next: StepAssignment__Output | null = null;
  /** Among trainers: this worker's time in the previous step's all-reduce (a step reports before its own is over). */
  let lastReduceMs = 0;
  for (let step = o.startStep; ; step++) {
    const a: StepAssignment__Output = next ?? (await coordinator.nextStep(step));
    next = null;
    if (a.step !== step && !a.done) throw new WorkerError(`the coordinator assigned step ${a.step} where step ${step} was due`);
    if (a.done) return { steps: step, stopReason: a.stopReason };
    const fault = o.faults.at(step);
    if (fault.kill) {
      log(`fault injection: worker ${worker} dies at step ${step} (SIGKILL)`);
      o.effects.kill();
    }
    if (fault.pauseMs > 0) {
      log(`fault injection: worker ${worker} freezes for ${fault.pauseMs / 1000} s at step ${step}`);
      o.effects.freeze(fault.pauseMs);
    }
    if (o.connectPeers && (a.peers.length > 0 || !peers)) peers = o.connectPeers(a.peers, a.peerVerifiers, a.peerWorkers, a.epoch);
    // Elastic: what this worker restores if the step is to be done again.
    const start = o.elastic && peers ? { params: replica.params.slice(), state: replica.optimizerState(), buffers: model.bufferSize > 0 ? model.getBuffers() : null } : null;
    const again = (ack: GradientAck__Output): boolean => {
      if (!start || ack.next?.step !== step || ack.next.done) return false;
      replica.restore(start.params, start.state);
      if (start.buffers) model.setBuffers(start.buffers);
      log(`worker ${worker}: step ${step} again, the collective re-formed (epoch ${ack.next.epoch})`);
      return true;
    };
    const batches = a.batches.map((b) => () => localBatch(b, o.train, inputSize));
    // The checksum of the parameters this step starts from (before its update), as the coordinator expects.
    // With buffers that --buffers makes equal everywhere, they are in the checksum too: they must not drift apart.
    const paramChecksum = a.reportChecksum ? replica.checksum(model.bufferSize > 0 && o.buffersRule !== 'local' ? model.getBuffers() : undefined) : '';
    const started = performance.now();
    // SyncBN: BatchNorm statistics are summed over all workers (relay: the coordinator; otherwise the peers), in program order.
    let tag = 0;
    const among = peers;
    const reduce = !o.syncBatchNorm ? undefined : among ? (values: Float64Array) => among.sum(values, step, tag++) : (values: Float64Array) => coordinator.sum(step, tag++, values);
    const honest = await rule.contribute(model, replica.params, { batches, reduce });
    // Fault injection's poisoner: a valid report of a contribution that is not the honest one.
    const c = fault.poison ? { ...honest, update: o.faults.poisoned(honest.update, fault.poison, step) } : honest;
    const buffers = model.bufferSize > 0 ? model.getBuffers() : null;
    const computeMs = performance.now() - started;
    const report = { runId, worker, step, samples: c.samples, loss: c.loss, paramChecksum, computeMs, buffers: buffers ? encodeTensor(buffers, [buffers.length]) : undefined };
    if (fault.delayMs > 0) await new Promise((r) => setTimeout(r, fault.delayMs));
    if (fault.drop) {
      // The push is lost on the way: this worker never learns the average (and is declared lost, or the run stops).
      log(`fault injection: worker ${worker} drops its push of step ${step}`);
      continue;
    }
    if (!peers) {
      // Relay: the coordinator answers once every worker has pushed, with the average.
      const ack: GradientAck__Output = await coordinator.push({ ...report, gradient: encodeTensor(c.update, [c.update.length]) });
      if (!ack.update) throw new WorkerError(`step ${step}: the coordinator's reply carries no update`);
      rule.applyAverage(replica, decodeTensor(ack.update, { length: replica.params.length, field: 'update' }));
      if (ack.buffers && model.bufferSize > 0) model.setBuffers(decodeTensor(ack.buffers, { length: model.bufferSize, field: 'buffers' }));
      next = ack.next;
      continue;
    }
    // Among trainers: the step's report leaves before the all-reduce, so the coordinator's answer (the next
    // step's ids) travels while the trainers reduce. Only a step whose parameters are asked for (evaluation), every
    // step of a robust rule (the report says what the rule left out), and every elastic step (the coordinator must
    // know how the all-reduce ended) report after the update.
    const scalars = { ...report, gradNorm: l2Norm(c.update), reduceMs: lastReduceMs, gradient: a.reportGradient ? encodeTensor(c.update, [c.update.length]) : undefined };
    const early: Promise<GradientAck__Output> | null = a.reportParams || o.robust || o.elastic ? null : coordinator.push(scalars);
    early?.catch(() => undefined);
    const reduceStarted = performance.now();
    let average: Float32Array;
    let discarded: number | undefined;
    try {
      if (o.robust) {
        if (!peers.combine) throw new WorkerError(`--combine ${o.robust.name} cannot be computed by the ${o.collective}`);
        const combined = await peers.combine(c.update, c.samples, step, o.robust);
        average = combined.update;
        discarded = combined.discarded[worker];
      } else {
        average = await peers.average(c.update, c.samples, step);
      }
    } catch (err) {
      const reason = `${o.collective} all-reduce: ${(err as Error).message}`;
      if (start) {
        // Elastic: say why and wait for the coordinator, which has the step done again among the members left.
        log(`worker ${worker}: step ${step}: ${reason}`);
        const ack = await coordinator.push({ runId, worker, step, error: reason, retry: true });
        // The answer is the step again, or the end of the run for this worker (the loop's next turn returns).
        if (!again(ack) && !ack.next?.done) throw new WorkerError(`step ${step}: ${reason}`);
        next = ack.next;
        step--;
        continue;
      }
      // Say why before leaving, so the run stops naming the neighbour instead of timing out on everyone.
      await coordinator.push({ runId, worker, step, error: reason }).catch(() => undefined);
      throw new WorkerError(`step ${step}: ${reason}`);
    }
    let combinedBuffers: Float32Array | null = null;
    if (buffers && o.buffersRule !== 'local') {
      // Every worker takes part in every step among trainers (a lost worker stops the run), so worker 0 is the first.
      const sum = await peers.sum(buffersContribution(o.buffersRule, buffers, worker === 0), step, tag++);
      combinedBuffers = buffersFromSum(o.buffersRule, sum, o.workers);
      model.setBuffers(combinedBuffers);
    }
    lastReduceMs = performance.now() - reduceStarted;
    rule.applyAverage(replica, average);
    // Asked for the state (a checkpoint follows): the optimizer's too, as the JoinReply of a resumed run carries it.
    const state = a.reportState ? replica.optimizerState() : null;
    const ack: GradientAck__Output = early
      ? await early
      : await coordinator.push({
          ...scalars,
          ...(combinedBuffers ? { buffers: encodeTensor(combinedBuffers, [combinedBuffers.length]) } : {}),
          ...(discarded !== undefined ? { discarded } : {}),
          ...(a.reportParams ? { params: encodeTensor(replica.params, [replica.params.length]) } : {}),
          ...(state ? { optimizerState: Buffer.from(state.buffer, state.byteOffset, state.byteLength) } : {}),
        });
    next = ack.next;
    // Elastic: another member's all-reduce failed, or a member went or came: this step again, from its start.
    if (again(ack)) step--;
  }
}
