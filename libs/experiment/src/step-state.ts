import { l2Norm } from '@shardlab/aggregation';
import { decodeTensor, firstNonFinite } from '@shardlab/protocol';
import { duplicate, malformed, wrongState } from './errors';
import { InStepReductions } from './in-step-reductions';
import type { GradientUpdate__Output, StepAssignment__Output, Tensor__Output } from '@shardlab/protocol';
import type { CompletedStep } from './step-observer';
import { majority } from './step-metrics';

/*
 * One step in progress as the coordinator sees it, and the pure rules over it: what a push must carry to be
 * taken in (takePush), and whether the replicas agree (replicaCheck). The session owns the lifecycle (begin,
 * wait, complete, answer); these know nothing of time, membership or gRPC.
 */

/** The answer to a push: the averaged update (relay) and the worker's assignment for the next step (or done). */
export interface PushReply {
  update: Tensor__Output | null;
  next: StepAssignment__Output;
  /** Relay, --buffers broadcast or average: every worker's buffers after the step. */
  buffers?: Tensor__Output | null;
}

export interface StepState extends CompletedStep {
  assignments: StepAssignment__Output[];
  /** Which workers have pushed (reported) this step. */
  pushed: boolean[];
  /** Ring: worker 0's parameters after this step, when asked (evaluation, final model). */
  params: Float32Array | null;
  /** Among trainers: worker 0's optimizer state after this step, when asked (a checkpoint). */
  optimizerState: Float64Array | null;
  /** Relay: the sample-weighted average of the step's gradients, once complete. */
  update: Tensor__Output | null;
  /** Relay, --buffers broadcast or average: the buffers every worker takes after the step, once complete. */
  combinedBuffers: Tensor__Output | null;
  /** Pushes waiting for the step to complete: answered with the update (relay) and the next assignment. */
  pushWaiters: { worker: number; resolve: (reply: PushReply) => void; reject: (err: Error) => void }[];
  checksums: string[];
  buffers: (Float32Array | null)[];
  reductions: InStepReductions;
  reportChecksum: boolean;
  /** Relay: the checksum every replica must report (the coordinator's own); among trainers: null (compared with each other). */
  expectedChecksum: string | null;
  /**
   * Elastic among trainers (see elasticAmongTrainers): why this attempt at the step cannot complete (a member's
   * all-reduce failed, a member was lost or replaced), so that it is done again by the collective re-formed; null
   * while it can complete.
   */
  redo: string | null;
  /** Elastic: replacements admitted during this attempt; they wait for the step again, with the new collective. */
  rejoined: Set<number>;
}

/** A fresh step: `lost` workers count as pushed, so the step waits for the others only. */
export function newStepState(opts: {
  step: number;
  assignments: StepAssignment__Output[];
  lost: readonly boolean[];
  parameters: number;
  reportChecksum: boolean;
  expectedChecksum: string | null;
}): StepState {
  const W = opts.assignments.length;
  return {
    step: opts.step,
    assignments: opts.assignments,
    pushed: [...opts.lost],
    gradients: new Array(W).fill(null),
    gradNorms: new Array(W).fill(0),
    reduceMs: new Array(W).fill(0),
    params: null,
    optimizerState: null,
    update: null,
    combinedBuffers: null,
    redo: null,
    rejoined: new Set(),
    pushWaiters: [],
    reportChecksum: opts.reportChecksum,
    samples: new Array(W).fill(0),
    losses: new Array(W).fill(NaN),
    computeMs: new Array(W).fill(0),
    checksums: new Array(W).fill(''),
    buffers: new Array(W).fill(null),
    reductions: new InStepReductions(W, opts.parameters),
    expectedChecksum: opts.expectedChecksum,
    startedAt: Date.now(),
  };
}

/** Throws unless `msg` is this step's first push from its worker. */
function checkPushStep(st: StepState, msg: { step: number; worker: number }): void {
  if (msg.step !== st.step) throw wrongState(`gradient for step ${msg.step}, but the run is at step ${st.step}`);
  if (st.pushed[msg.worker]) throw duplicate(`a gradient for step ${msg.step} from worker ${msg.worker} was already received`);
}

/**
 * Takes one worker's push into the step, or throws a RequestError naming what is wrong (nothing is recorded
 * then): wrong step, a second push, a sample count other than the batch's, a non-finite loss or value, a
 * missing gradient (relay, or among trainers on a gradient-metrics step), parameters or checksum that were asked for.
 */
export function takePush(
  st: StepState,
  msg: GradientUpdate__Output,
  opts: { amongTrainers: boolean; parameters: number; optimizerStateLength: number; /** Among trainers under a robust --combine: each report says what the rule left out of it. */ robust?: boolean },
): void {
  checkPushStep(st, msg);
  const a = st.assignments[msg.worker]!;
  const expectedSamples = a.batches.reduce((n, b) => n + b.ids.length, 0);
  if (msg.samples !== expectedSamples) throw malformed(`samples is ${msg.samples}, but the batch had ${expectedSamples}`);
  if (!Number.isFinite(msg.loss)) throw malformed(`loss is ${msg.loss}`);
  const wantGradient = !opts.amongTrainers || a.reportGradient;
  const hasGradient = !!msg.gradient && msg.gradient.data.length > 0;
  if (wantGradient && !hasGradient) throw malformed('gradient is missing');
  let gradient: Float32Array | null = null;
  let gradNorm = msg.gradNorm;
  if (hasGradient) {
    gradient = decodeTensor(msg.gradient!, { length: opts.parameters, field: 'gradient' });
    // One pass for both: the norm of float32 values is finite exactly when every value is (squares stay far below
    // float64's range), so only a non-finite norm sends us looking for the culprit.
    gradNorm = l2Norm(gradient);
    if (!Number.isFinite(gradNorm)) {
      const bad = firstNonFinite(gradient);
      throw malformed(`gradient element ${bad} is ${gradient[bad]}: training diverged (lower --lr?) or the trainer is faulty`);
    }
  }
  if (opts.amongTrainers && !(Number.isFinite(msg.gradNorm) && msg.gradNorm >= 0)) throw malformed(`grad_norm is ${msg.gradNorm}`);
  if (opts.robust && !(msg.discarded >= 0 && msg.discarded <= 1)) throw malformed(`discarded is ${msg.discarded}; a share must be in 0..1`);
  let params: Float32Array | null = null;
  if (a.reportParams) {
    if (!msg.params || msg.params.data.length === 0) throw malformed('params were requested for this step but are missing');
    params = decodeTensor(msg.params, { length: opts.parameters, field: 'params' });
    const bad = firstNonFinite(params);
    if (bad >= 0) throw malformed(`params element ${bad} is ${params[bad]}`);
  }
  let optimizerState: Float64Array | null = null;
  if (a.reportState) {
    const bytes = msg.optimizerState ?? Buffer.alloc(0);
    if (bytes.length !== 8 * opts.optimizerStateLength) {
      throw malformed(`optimizer_state: ${bytes.length} bytes, but this optimizer's state is ${opts.optimizerStateLength} float64 values (${8 * opts.optimizerStateLength} bytes)`);
    }
    optimizerState = new Float64Array(opts.optimizerStateLength);
    new Uint8Array(optimizerState.buffer).set(bytes);
    const bad = optimizerState.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw malformed(`optimizer_state element ${bad} is ${optimizerState[bad]}`);
  }
  if (st.reportChecksum && !msg.paramChecksum) throw malformed('param_checksum was requested for this step but is missing');
  let buffers: Float32Array | null = null;
  if (msg.buffers && msg.buffers.data.length > 0) {
    buffers = decodeTensor(msg.buffers, { field: 'buffers' });
    const bad = firstNonFinite(buffers);
    if (bad >= 0) throw malformed(`buffers element ${bad} is ${buffers[bad]}`);
  }
  // Everything checked: record it.
  const w = msg.worker;
  if (gradient) st.gradients[w] = gradient;
  if (params) st.params = params;
  if (optimizerState) st.optimizerState = optimizerState;
  if (buffers) st.buffers[w] = buffers;
  st.pushed[w] = true;
  st.samples[w] = msg.samples;
  st.losses[w] = msg.loss;
  st.computeMs[w] = msg.computeMs;
  st.reduceMs[w] = msg.reduceMs;
  st.gradNorms[w] = gradNorm;
  st.checksums[w] = msg.paramChecksum;
  if (opts.robust) (st.discarded ??= new Array<number>(st.samples.length).fill(0))[w] = msg.discarded;
}

/**
 * Whether the replicas of the workers that contributed agree: relay, each with the coordinator's checksum;
 * among trainers, with each other (the ones off the majority are named).
 */
export function replicaCheck(st: StepState): { ok: true; message: string } | { ok: false; message: string } {
  const reporting = st.checksums.flatMap((c, w) => (st.samples[w]! > 0 ? [c] : []));
  const reference = st.expectedChecksum ?? majority(reporting);
  const off = st.checksums.flatMap((c, w) => (st.samples[w]! > 0 && c !== reference ? [`worker ${w} has ${c}`] : []));
  if (off.length === 0) return { ok: true, message: `all ${reporting.length} replicas at ${reference}` };
  const whose = st.expectedChecksum !== null ? 'coordinator parameters' : 'most workers have';
  return { ok: false, message: `replicas diverged before step ${st.step}: ${whose} ${reference}, ${off.join(', ')}` };
}
