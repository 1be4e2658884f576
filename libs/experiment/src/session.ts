import { randomUUID } from 'node:crypto';
import { isPeerAlgorithm } from '@shardlab/collective';
import { weightedAverage } from '@shardlab/aggregation';
import { dataFingerprint, type Dataset, type Strategy } from '@shardlab/data';
import type { ModelSpec } from '@shardlab/model';
import { encodeTensor, isWireError } from '@shardlab/protocol';
import type { EventRecord, MetricsRecord } from '@shardlab/report';
import { Replica, aggregationRule, modelFromWire, type AggregationRule, type WireModelSpec } from '@shardlab/worker';
import { planBatches } from './batch-planner';
import type { RunConfig } from './config';
import { wireDatasetSpec } from './dataset-spec';
import { AssignmentWaiters } from './assignment-waiters';
import { isRequestError, wrongState } from './errors';
import { joinReply } from './join-reply';
import { onStepTimeout, onTrainerGone, type LostWorkerAction } from './lost-workers';
import { Membership } from './membership';
import { wireModelSpec } from './model-spec';
import { RefusalTally } from './refusals';
import { newStepState, replicaCheck, takePush, type PushReply, type StepState } from './step-state';
import { StepObserver, type Evaluation, type Progress } from './step-observer';

export type { Evaluation, Progress } from './step-observer';
export type { PushReply } from './step-state';

/*
 * The synchronous step engine the coordinator runs. It knows nothing of gRPC: the
 * coordinator app maps RPCs onto join / nextStep / pushGradient / status, and maps the
 * RequestError thrown here (errors.ts: malformed, wrong-state, not-member...) to a gRPC status.
 *
 * One step t:
 *   1. beginStep(t): every worker's batch for t is planned (batch-planner.ts: ids, or features
 *      under --feed features); the pushes of step t-1 are answered with these assignments (and a
 *      first step's long-polling NextStep(t) calls with theirs).
 *   2. each worker computes its gradient and averages it with the others':
 *      relay  PushGradient(t) with the gradient; its answer carries the average (the coordinator's
 *             replica applies it too);
 *      ring, halving-doubling (among the trainers)
 *             PushGradient(t) with the step's scalars, sent as the trainers' own all-reduce starts, so
 *             the answer (step t+1's ids) travels while they reduce; on an evaluation step after
 *             the all-reduce, with the parameters.
 *   3. when all W pushes are in: checksums compared (relay: against the coordinator's replica;
 *      among trainers: against each other), metrics written, maybe an evaluation (among trainers: on the parameters
 *      worker 0 sent). Then step t+1 begins, and every push of t is answered with its assignment:
 *      one call per worker per step.
 *
 * Failure policy (documented in docs/architecture.md):
 *   - a request from outside the run (unknown run id, a worker index that never joined) is
 *     refused with not-member (PERMISSION_DENIED) and the run goes on: an outsider cannot stop it;
 *   - a member that sends a bad gradient (wrong length, NaN/Inf, wrong sample count), a gradient
 *     for the wrong step or twice for one step is refused (INVALID_ARGUMENT / FAILED_PRECONDITION /
 *     ALREADY_EXISTS) and the run stops with an error naming the worker, the step and the fault;
 *     nothing of that step is averaged in;
 *   - a worker that has not pushed its gradient `stepTimeout` seconds after the step began is
 *     declared lost and the run stops with an error naming it;
 *   - replicas whose checksums differ (from the coordinator's, or among trainers from the majority's)
 *     stop the run naming the workers;
 *   - a worker that reports an error (a peer of its all-reduce is gone) stops the run with that reason.
 * On a stop every trainer's pending push or next NextStep is answered with the reason, so nobody
 * hangs, and everything already written stays on disk.
 */

export { MAX_REDUCTIONS_PER_STEP } from './in-step-reductions';

import type {
  JoinRequestMessage,
  DatasetDescriptionMessage,
  JoinReplyMessage,
  StepAssignmentMessage,
  GradientMessage,
  AllReduceMessage,
  RunStatusMessage,
  SessionState,
} from './messages';

export type { EvalRecord, EventRecord, MetricsRecord, StepRecord } from '@shardlab/report';

export interface SessionDeps {
  config: RunConfig;
  train: Dataset;
  strategy: Strategy;
  /** Called every --checkpoint-every steps with the state to save (the runner writes checkpoint.bin). */
  checkpoint?: (state: { step: number; params: Float32Array; optimizerState: Float64Array; buffers: Float32Array | null }) => void;
  /** Continue a run from a checkpoint: its state, and the losses and last evaluation metrics.jsonl kept. */
  resume?: { step: number; params: Float32Array; optimizerState: Float64Array; buffers: Float32Array | null; stepLosses: number[]; lastEval: (Evaluation & { step: number }) | null };
  /** The batch plan for fewer workers (--lost-worker continue rebuilds it for the survivors). */
  strategyFor?: (workers: number) => Strategy;
  /** Test accuracy of the given parameters (the coordinator's replica) and buffers (worker 0's, if any). */
  evaluate: (params: Float32Array, buffers: Float32Array | null, step: number) => Evaluation;
  record: (r: MetricsRecord) => void;
  log?: (line: string) => void;
  onProgress?: (p: Progress) => void;
}

export interface SessionResult {
  status: 'completed' | 'failed';
  error: string | null;
  stepsCompleted: number;
  params: Float32Array;
  lastEval: (Evaluation & { step: number }) | null;
  stepLosses: number[];
  finalLoss: number | null;
  lossSwing: number | null;
  trainerBackends: string[];
  /** Worker 0's buffers at the end (BatchNorm running statistics), if the model has any. */
  buffers: Float32Array | null;
  wallSeconds: number;
  communicationShare: number | null;
  /** Requests refused during the run, by kind (no token, not a member, oversized ...). */
  refused: Record<string, number>;
  /** Workers declared lost under --lost-worker continue. */
  lostWorkers: number[];
  /** Trainers that took a lost worker's place (--lost-worker replace). */
  replacements: number;
}


export { meanPairwiseCosine, pairwiseCosines } from './step-metrics';

export class TrainingSession {
  readonly runId = randomUUID();
  readonly model: ModelSpec;
  /** The model as sent to trainers at join. */
  readonly wireModel: WireModelSpec;
  private readonly replica: Replica;
  private readonly rule: AggregationRule;
  private readonly membership: Membership;
  private readonly observer: StepObserver;
  /** When the step in progress gives up on a missing push (moved by replacements, see admit). */
  private stepDeadline = 0;
  /** Deferred replies to replacements, answered once the step in progress completes. */
  private afterStep: (() => void)[] = [];
  private readonly vacancyListeners: ((name: string) => void)[] = [];
  /** The batch plan and which worker takes which of its ranks (all of them, until a worker is lost). */
  private plan: { strategy: Strategy; ranks: number[] };
  private stateValue: SessionState = 'waiting';
  private errorValue: string | null = null;
  private current: StepState | null = null;
  private stepsCompleted = 0;
  /** Among trainers: the latest parameters worker 0 sent (the coordinator keeps no replica then). */
  private workerParams: Float32Array | null = null;
  /** NextStep calls waiting for their step, and who has been told the run is over. */
  private readonly waiters = new AssignmentWaiters(() => {
    if (!this.stillThere()) this.poke();
  });
  /** Worker 0's non-trainable state (BatchNorm running statistics), used for evaluation. */
  private buffers: Float32Array | null = null;
  private startedAt = 0;
  /** Wakes run() when all workers joined, a step completed, or the run failed. */
  private wake: (() => void) | null = null;
  private readonly refusals = new RefusalTally(10_000);

  constructor(private readonly deps: SessionDeps) {
    const { config, train } = deps;
    this.wireModel = wireModelSpec(config, train.numFeatures, train.numClasses);
    this.model = modelFromWire(this.wireModel).spec;
    const optimizer = { name: config.optimizer, lr: config.lr, momentum: config.momentum };
    this.replica = new Replica(this.model, optimizer);
    this.rule = aggregationRule(config.aggregation, { optimizer, proxMu: config.proxMu });
    this.observer = new StepObserver(deps);
    this.plan = { strategy: deps.strategy, ranks: Array.from({ length: config.workers }, (_, w) => w) };
    if (deps.resume) {
      const r = deps.resume;
      this.replica.restore(r.params, r.optimizerState);
      this.buffers = r.buffers;
      this.stepsCompleted = r.step;
      this.observer.stepLosses.push(...r.stepLosses);
      this.observer.lastEval = r.lastEval;
    }
    this.membership = new Membership(this.runId, config, config.feed === 'ids' ? dataFingerprint(train) : null);
  }

  /** Number of model parameters (the length of a gradient). */
  get parameters(): number {
    return this.replica.params.length;
  }

  get state(): SessionState {
    return this.stateValue;
  }

  get error(): string | null {
    return this.errorValue;
  }

  // ---- RPC surface -------------------------------------------------------------------------

  /** What a trainer needs to know before it joins: the feed, and the training set to load under feed "ids". */
  describeDataset(): DatasetDescriptionMessage {
    const { config } = this.deps;
    return { feed: config.feed, dataset: wireDatasetSpec(config), collective: config.collective };
  }

  /** Admits a trainer (Join) and answers it. For a run in progress, see joinWhenReady. */
  join(req: JoinRequestMessage): JoinReplyMessage {
    const worker = this.admit(req);
    return this.joinReply(worker, this.startStepFor(worker));
  }

  /**
   * Join as the coordinator app calls it. A replacement (--lost-worker replace) whose lost predecessor had
   * already pushed the step in progress is answered when that step completes, with the state after it.
   */
  joinWhenReady(req: JoinRequestMessage): Promise<JoinReplyMessage> {
    const worker = this.admit(req);
    const st = this.current;
    if (this.stateValue === 'running' && st && st.pushed[worker]) {
      return new Promise((resolve) => this.afterStep.push(() => resolve(this.joinReply(worker, this.stepsCompleted))));
    }
    return Promise.resolve(this.joinReply(worker, this.startStepFor(worker)));
  }

  /**
   * A NextStep call ended without an answer (the trainer's connection closed: it was killed, or its host is
   * gone; grpc-js notices a vanished peer through keepalive). Before the run starts that frees the trainer's
   * slot, like an expired lease, so a trainer killed right after Join does not hold it forever.
   */
  nextStepCancelled(worker: number, step: number): void {
    const member = this.membership.members[worker];
    if (this.stateValue !== 'waiting' || !member || member.vacant) return;
    if (!this.waiters.forget(step, worker)) return;
    member.lost = true;
    member.vacant = true;
    this.event({ kind: 'event', step: 0, event: 'lost', worker, message: `${this.membership.describe(worker)} left before the first step (its NextStep call was cancelled); its slot is free again` });
    this.deps.log?.(`${this.membership.describe(worker)} left before the run started; its slot is free again`);
  }

  /** Hears the name of every trainer whose slot falls vacant (--lost-worker replace): a supervisor starts a new one. */
  onVacancy(listener: (name: string) => void): void {
    this.vacancyListeners.push(listener);
  }

  /** The credential generation of a worker slot (a replacement's differs from the lost trainer's). */
  generationOf(worker: number): number {
    return this.membership.members[worker]?.generation ?? 0;
  }

  private admit(req: JoinRequestMessage): number {
    const worker = this.membership.admit(req, this.stateValue, (kind, message) => this.noteRefused(kind, message));
    const member = this.membership.members[worker]!;
    const replacing = this.stateValue === 'running';
    this.event({ kind: 'event', step: this.current?.step ?? 0, event: 'joined', worker, message: `worker ${worker} joined: ${member.name} (${member.backend})${replacing ? ', replacing the lost one' : ''}` });
    if (replacing) {
      this.deps.log?.(`${this.membership.describe(worker)} joined as the replacement of the lost worker ${worker}`);
      // It gets a full step timeout from now to compute the step it joins at.
      this.stepDeadline = Math.max(this.stepDeadline, Date.now() + this.deps.config.stepTimeout * 1000);
    }
    if (this.membership.full) this.poke();
    return worker;
  }

  /** The step a trainer admitted now starts at: 0, a resumed run's first step, or (a replacement) the step in progress. */
  private startStepFor(worker: number): number {
    if (this.stateValue === 'running' && this.current) return this.current.pushed[worker] ? this.current.step + 1 : this.current.step;
    return this.stepsCompleted;
  }

  private joinReply(worker: number, startStep: number): JoinReplyMessage {
    return joinReply({
      config: this.deps.config,
      runId: this.runId,
      worker,
      model: this.wireModel,
      startStep,
      generation: this.generationOf(worker),
      state: () => ({ params: this.replica.params, optimizerState: this.replica.optimizerState(), buffers: this.buffers }),
    });
  }

  /**
   * Element-wise sum over all workers of a small vector, for reductions inside a step (SyncBN
   * statistics). Resolves for every worker once all have sent (step, tag). The sum is taken in
   * worker order in float64, so every worker receives the identical result.
   */
  allReduce(msg: AllReduceMessage): Promise<number[]> {
    this.checkMember(msg.runId, msg.worker);
    const current = this.current;
    if (this.stateValue !== 'running' || !current) throw wrongState(`run is ${this.stateValue}; no step is in progress`);
    try {
      if (msg.step !== current.step) throw wrongState(`all-reduce for step ${msg.step}, but the run is at step ${current.step}`);
      return current.reductions.add(msg.worker, msg.step, msg.tag, msg.values);
    } catch (err) {
      if (isRequestError(err)) this.fail(`${this.membership.describe(msg.worker)}, step ${msg.step}, all-reduce ${msg.tag}: ${err.message}`);
      throw err;
    }
  }

  /** Long poll: resolves when the assignment for `step` exists, or the run ended. */
  nextStep(req: { runId: string; worker: number; step: number }): Promise<StepAssignmentMessage> {
    this.checkMember(req.runId, req.worker);
    if (this.stateValue === 'failed' || this.stateValue === 'finished') return Promise.resolve(this.doneMessage(req.step, req.worker));
    const current = this.current;
    if (current && req.step === current.step) return Promise.resolve(current.assignments[req.worker]!);
    const next = current ? current.step + 1 : this.stepsCompleted;
    if (req.step !== next) {
      throw wrongState(`worker ${req.worker} asked for step ${req.step}, but the run is at step ${current?.step ?? 0}`);
    }
    return this.waiters.wait(req.step, req.worker);
  }

  /**
   * One worker's contribution to a step. Relay: its gradient. Ring: the step's scalars, sent while the trainers'
   * own all-reduce runs (the full gradient only on gradient-metrics steps, worker 0's parameters after the
   * all-reduce when asked). Resolves once every worker's is in and the next step has begun: with the averaged
   * update (relay) and this worker's next assignment.
   */
  pushGradient(msg: GradientMessage): Promise<PushReply> {
    this.checkMember(msg.runId, msg.worker);
    const current = this.current;
    if (this.stateValue === 'failed') throw wrongState(`run stopped: ${this.errorValue}`);
    if (this.stateValue !== 'running' || !current) throw wrongState(`run is ${this.stateValue}; no step is in progress`);
    const where = `${this.membership.describe(msg.worker)}, step ${msg.step}`;
    const amongTrainers = isPeerAlgorithm(this.deps.config.collective);
    const size = this.replica.params.length;
    if (msg.error) {
      // A member that cannot go on (a peer of its all-reduce is gone): stop with its reason rather than wait for
      // the timeout. Among trainers its report of the step may have been taken already (reports leave before the
      // all-reduce), and the run may be a step further: the error counts whatever step it names.
      this.fail(`${where}: ${msg.error}`);
      throw wrongState(`run stopped: ${where}: ${msg.error}`);
    }
    try {
      takePush(current, msg, { amongTrainers, parameters: size });
    } catch (err) {
      if (isRequestError(err) || isWireError(err)) this.fail(`${where}: ${err.message}`);
      throw err;
    }
    const answer = new Promise<PushReply>((resolve, reject) => current.pushWaiters.push({ worker: msg.worker, resolve, reject }));
    if (current.pushed.every(Boolean)) this.poke();
    return answer;
  }

  status(): RunStatusMessage {
    return {
      runId: this.runId,
      state: this.stateValue,
      step: this.stepsCompleted,
      steps: this.deps.config.steps,
      workers: this.deps.config.workers,
      joined: this.membership.joined,
      strategy: this.deps.config.strategy,
      lastLoss: this.observer.stepLosses.at(-1) ?? NaN,
      testAccuracy: this.observer.lastEval?.accuracy ?? -1,
      error: this.errorValue ?? '',
      contributions: this.membership.members.map((m) => m.contributions),
    };
  }

  /** Stops the run (a trainer process died, Ctrl-C...). Idempotent; the first reason wins. */
  fail(reason: string): void {
    if (this.stateValue === 'failed' || this.stateValue === 'finished') return;
    this.stateValue = 'failed';
    this.errorValue = reason;
    this.event({ kind: 'event', step: this.current?.step ?? 0, event: 'stopped', message: reason });
    this.releaseWaiters();
    // Workers blocked in an all-reduce or waiting for the averaged update would otherwise wait for peers
    // that will never send.
    const stopped = () => wrongState(`run stopped: ${reason}`);
    this.current?.reductions.failAll(stopped);
    for (const w of this.current?.pushWaiters.splice(0) ?? []) w.reject(stopped());
    this.poke();
  }

  // ---- the step loop -----------------------------------------------------------------------

  async run(): Promise<SessionResult> {
    const { config } = this.deps;
    const log = this.deps.log ?? (() => undefined);
    const joinDeadline = Date.now() + config.joinTimeout * 1000;
    while (!this.membership.full && this.stateValue === 'waiting') {
      const left = joinDeadline - Date.now();
      if (left <= 0) {
        this.fail(`only ${this.membership.joined} of ${config.workers} workers joined within ${config.joinTimeout} s (--join-timeout)`);
        break;
      }
      await this.sleepUntilPoked(left);
    }
    if (this.stateValue === 'waiting') {
      this.stateValue = 'running';
      this.startedAt = Date.now();
      log(`all ${config.workers} workers joined: ${this.membership.members.map((m) => `${m.name} [${m.backend}]`).join(', ')}`);
    }
    /** The completed step whose pushes wait for the next step's assignments. */
    let previous: StepState | null = null;
    for (let t = this.stepsCompleted; t < config.steps && this.stateValue === 'running'; t++) {
      const st = this.beginStep(t);
      if (previous) this.answerPushes(previous, (w) => st.assignments[w]!);
      previous = null;
      this.stepDeadline = st.startedAt + config.stepTimeout * 1000;
      while (this.stateValue === 'running' && !st.pushed.every(Boolean)) {
        const left = this.stepDeadline - Date.now();
        if (left <= 0) {
          const missing = st.pushed.flatMap((pushed, w) => (pushed ? [] : [w]));
          const action = onStepTimeout({
            policy: config.lostWorker,
            step: t,
            missing,
            slots: this.membership.members,
            active: this.membership.active().length,
            stepTimeout: config.stepTimeout,
            replaceTimeout: config.replaceTimeout,
          });
          this.carryOut(action);
          if (action.kind === 'stop') break;
          continue;
        }
        await this.sleepUntilPoked(left);
      }
      if (this.stateValue !== 'running') break;
      this.completeStep(st);
      if (this.stateValue === 'running') previous = st;
      for (const answer of this.afterStep.splice(0)) answer();
      this.flushRefusals();
      if (config.checkpointEvery > 0 && this.stepsCompleted % config.checkpointEvery === 0 && this.stepsCompleted < config.steps && this.stateValue === 'running') {
        this.deps.checkpoint?.({ step: this.stepsCompleted, params: this.replica.params, optimizerState: this.replica.optimizerState(), buffers: this.buffers });
      }
    }
    if (this.stateValue === 'running') {
      this.stateValue = 'finished';
      this.releaseWaiters();
    }
    // The last step's pushes learn that the run is over (a failed run rejected them in fail()).
    if (previous && this.stateValue === 'finished') this.answerPushes(previous, (w) => this.doneMessage(previous!.step + 1, w));
    this.flushRefusals(true);
    return this.result();
  }

  private beginStep(t: number): StepState {
    const { config, train } = this.deps;
    const { strategy, ranks } = this.plan;
    const W = config.workers;
    const assignments: StepAssignmentMessage[] = [];
    const reportChecksum = t % config.checksumEvery === 0;
    const amongTrainers = isPeerAlgorithm(config.collective);
    const reportGradient = amongTrainers && t % config.gradientMetricsEvery === 0;
    // Among trainers: the coordinator keeps no replica; worker 0 sends the parameters it evaluates and saves.
    const evaluates = (t + 1) % config.evalEvery === 0 || t + 1 === config.steps;
    const peers = amongTrainers && t === 0 ? this.membership.members.map((m) => m.peerAddress) : [];
    for (let w = 0; w < W; w++) {
      // A lost worker gets nothing (its calls are refused); the survivors take the plan's ranks in worker order.
      const rank = ranks.indexOf(w);
      const batches = rank < 0 ? [] : planBatches(t, rank, config, strategy, train);
      assignments.push({ step: t, done: rank < 0, batches, reportChecksum, stopReason: '', peers, reportGradient, reportParams: amongTrainers && evaluates && w === 0 });
    }
    const st = newStepState({
      step: t,
      assignments,
      // A lost worker counts as done: the step waits for the survivors only.
      // Under --lost-worker replace a vacant slot is waited for (its replacement computes the step).
      lost: Array.from({ length: W }, (_, w) => this.membership.members[w]?.lost === true && !this.membership.members[w]!.vacant),
      parameters: this.replica.params.length,
      reportChecksum,
      // The checksum a replica must report for step t: parameters after the updates of steps < t.
      // Among trainers: no replica here; the workers' checksums are compared with each other.
      expectedChecksum: reportChecksum && !amongTrainers ? this.replica.checksum() : null,
    });
    this.current = st;
    this.waiters.begin(t, assignments);
    return st;
  }

  private completeStep(st: StepState): void {
    const { config } = this.deps;
    if (st.reportChecksum) {
      const check = replicaCheck(st);
      if (!check.ok) {
        this.fail(check.message);
        return;
      }
      this.event({ kind: 'event', step: st.step, event: 'checksum', message: check.message });
    }
    if (config.collective === 'relay') {
      // Over the workers that contributed (all of them, unless some were declared lost under --lost-worker continue).
      const from = st.samples.flatMap((n, w) => (n > 0 ? [w] : []));
      const average = weightedAverage(
        from.map((w) => st.gradients[w]!),
        from.map((w) => st.samples[w]!),
      );
      this.rule.applyAverage(this.replica, average);
      st.update = encodeTensor(average, [average.length]);
    } else if (st.params) {
      this.workerParams = st.params;
    }
    // BatchNorm running statistics are not averaged: like DDP (broadcast_buffers), every replica
    // and the evaluation use worker 0's.
    if (st.buffers[0]) this.buffers = st.buffers[0];
    st.samples.forEach((n, w) => {
      if (n > 0) this.membership.members[w]!.contributions++;
    });
    this.stepsCompleted = st.step + 1;

    this.observer.observe(st, this.startedAt, () => this.params(), this.buffers);
  }

  /** Answers the pushes of a completed step: its update (relay) and each worker's next assignment. */
  private answerPushes(st: StepState, next: (worker: number) => StepAssignmentMessage): void {
    for (const w of st.pushWaiters.splice(0)) w.resolve({ update: st.update, next: next(w.worker) });
  }

  /** The current parameters: the coordinator's replica (relay), or the latest ones worker 0 sent (among trainers). */
  private params(): Float32Array {
    return isPeerAlgorithm(this.deps.config.collective) ? (this.workerParams ?? this.replica.params) : this.replica.params;
  }

  private result(): SessionResult {
    const { stepLosses, lastEval } = this.observer;
    return {
      status: this.stateValue === 'finished' ? 'completed' : 'failed',
      error: this.errorValue,
      stepsCompleted: this.stepsCompleted,
      params: this.params(),
      lastEval,
      stepLosses,
      finalLoss: stepLosses.at(-1) ?? null,
      lossSwing: this.observer.lossSwing,
      trainerBackends: this.membership.members.map((m) => m.backend),
      buffers: this.buffers,
      wallSeconds: this.startedAt ? (Date.now() - this.startedAt) / 1000 : 0,
      communicationShare: this.observer.communicationShare,
      refused: Object.fromEntries(this.refusals.totals),
      lostWorkers: this.membership.members.flatMap((m, w) => (m.lost ? [w] : [])),
      replacements: this.membership.members.reduce((n, m) => n + m.generation, 0),
    };
  }

  /** True while a member that is still in the run has not been told it is over. */
  private stillThere(): boolean {
    return this.membership.members.some((m, w) => !m.lost && !this.waiters.hasDeparted(w));
  }

  /** After run(): waits (at most `ms`) until every worker has been told the run is over. */
  async waitForDeparture(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.stillThere() && Date.now() < deadline) await this.sleepUntilPoked(deadline - Date.now());
  }

  // ---- helpers -----------------------------------------------------------------------------

  private checkMember(runId: string, worker: number): void {
    this.membership.check(runId, worker, (kind, message) => this.noteRefused(kind, message));
  }


  /**
   * A trainer process is gone (the embedded runner saw it exit). Under --lost-worker stop, or before the run
   * started, the run stops with `reason`; under continue its worker is declared lost and the run goes on;
   * under replace its slot falls vacant (and onVacancy listeners start a new trainer).
   */
  workerGone(name: string, reason: string): void {
    const worker = this.membership.members.findIndex((m) => m.name === name);
    const action = onTrainerGone({
      policy: this.deps.config.lostWorker,
      running: this.stateValue === 'running',
      worker,
      slots: this.membership.members,
      active: this.membership.active().length,
      reason,
    });
    if (action) this.carryOut(action);
  }

  private carryOut(action: LostWorkerAction): void {
    if (action.kind === 'stop') this.fail(action.reason);
    else if (action.kind === 'vacate') this.vacate(action.workers, action.why);
    else this.declareLost(action.workers, action.why);
  }

  /**
   * --lost-worker replace: these workers' slots wait up to --replace-timeout for a replacement trainer; the
   * step in progress waits with them (a replacement computes what the lost one did not push).
   */
  private vacate(workers: readonly number[], why: string): void {
    const { config } = this.deps;
    for (const w of workers) {
      const m = this.membership.members[w]!;
      for (const listener of this.vacancyListeners) listener(m.name);
      m.lost = true;
      m.vacant = true;
      this.event({ kind: 'event', step: this.current?.step ?? 0, event: 'lost', worker: w, message: `${this.membership.describe(w)} lost: ${why}; waiting up to ${config.replaceTimeout} s for a replacement` });
      this.deps.log?.(`${this.membership.describe(w)} lost (${why}); waiting up to ${config.replaceTimeout} s for a replacement`);
    }
    this.stepDeadline = Date.now() + config.replaceTimeout * 1000;
    this.dismissLost(why);
  }

  /**
   * --lost-worker continue: these workers are out of the run from now on. The current step completes with
   * the survivors' contributions; from the next step the batch plan is rebuilt for the survivors.
   */
  private declareLost(workers: readonly number[], why: string): void {
    const st = this.current;
    for (const w of workers) {
      this.membership.members[w]!.lost = true;
      if (st && !st.pushed[w]) st.pushed[w] = true;
      this.event({ kind: 'event', step: st?.step ?? 0, event: 'lost', worker: w, message: `${this.membership.describe(w)} lost: ${why}; continuing with ${this.membership.active().length} worker(s)` });
      this.deps.log?.(`${this.membership.describe(w)} lost (${why}); continuing with the survivors`);
    }
    const survivors = this.membership.active();
    this.plan = { strategy: this.deps.strategyFor ? this.deps.strategyFor(survivors.length) : this.deps.strategy, ranks: survivors };
    this.dismissLost(why);
  }

  /** Answers every lost worker still waiting for a step with "you are out", and wakes the run loop. */
  private dismissLost(why: string): void {
    this.waiters.dismiss(
      (w) => this.membership.members[w]!.lost,
      (w) => `worker ${w} was declared lost: ${why}`,
    );
    this.poke();
  }

  private doneMessage(step: number, worker: number): StepAssignmentMessage {
    return this.waiters.done(step, worker, this.errorValue ?? '');
  }

  /**
   * A refused request (from the membership checks here, or from the coordinator app's guard: no token,
   * oversized message). Counted, and written as one 'refused' event per kind per 10 s at most.
   */
  noteRefused(kind: string, message: string): void {
    this.refusals.note(kind, message);
  }

  private flushRefusals(force = false): void {
    for (const r of this.refusals.take(force)) {
      this.event({ kind: 'event', step: this.stepsCompleted, event: 'refused', message: `${r.count} request(s) refused (${r.kind}), first: ${r.example}` });
    }
  }

  private releaseWaiters(): void {
    this.waiters.dismiss(
      () => true,
      () => this.errorValue ?? '',
    );
  }

  private event(r: EventRecord): void {
    this.deps.record(r);
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private sleepUntilPoked(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
