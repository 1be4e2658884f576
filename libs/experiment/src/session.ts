import { randomUUID } from 'node:crypto';
import { collectiveNeeds, isPeerAlgorithm, peerAlgorithmFor } from '@shardlab/collective';
import { dataFingerprint, type Dataset, type Strategy } from '@shardlab/data';
import type { LayersSource, ModelSpec } from '@shardlab/model';
import { isWireError } from '@shardlab/protocol';
import type { EventRecord, MetricsRecord } from '@shardlab/report';
import type { WireModelSpec } from '@shardlab/worker';
import { planStep } from './batch-planner';
import { elasticAmongTrainers, type RunConfig } from './config';
import { CoordinatorModel } from './coordinator-model';
import { wireDatasetSpec } from './dataset-spec';
import { Departures } from './departures';
import { AssignmentWaiters } from './assignment-waiters';
import { duplicate, isRequestError, wrongState } from './errors';
import { joinReply, type StartState } from './join-reply';
import { Membership } from './membership';
import { RefusalTally } from './refusals';
import { newStepState, replicaCheck, takePush, type PushReply, type StepState } from './step-state';
import { StepObserver, type Evaluation, type Progress } from './step-observer';
import { Wakeup } from './wakeup';

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

import type { JoinRequest__Output, DatasetDescription__Output, JoinReply__Output, StepAssignment__Output, GradientUpdate__Output, AllReduceRequest__Output, RunStatus__Output } from '@shardlab/protocol';
import type { SessionState } from './messages';

export type { EvalRecord, EventRecord, MetricsRecord, StepRecord } from '@shardlab/report';

export interface SessionDeps {
  config: RunConfig;
  train: Dataset;
  strategy: Strategy;
  /** Called every --checkpoint-every steps with the state to save (the runner writes checkpoint.bin). */
  checkpoint?: (state: StartState & { step: number }) => void;
  /** Continue a run from a checkpoint: its state, and the losses and last evaluation metrics.jsonl kept. */
  resume?: StartState & { step: number; stepLosses: number[]; lastEval: (Evaluation & { step: number }) | null };
  /** The loaded model of --model layers:<dir> (see loadModelOf); absent for a built-in kind. */
  layers?: LayersSource;
  /** The batch plan for fewer workers (--lost-worker continue rebuilds it for the survivors). */
  strategyFor?: (workers: number) => Strategy;
  /** Test accuracy of the given parameters (the coordinator's replica) and buffers (worker 0's, if any); may take its time. */
  evaluate: (params: Float32Array, buffers: Float32Array | null, step: number) => Evaluation | Promise<Evaluation>;
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
  /** The longest event-loop delay each worker's trainer reported, in ms. */
  loopDelayMs: number[];
  /** The step of the last checkpoint this run wrote (it continues from there with --resume), or null. */
  checkpointStep: number | null;
}

/** How long a stop at the step boundary (Ctrl-C) waits for the step under way before it stops the run there. */
const STOP_GRACE_MS = 10_000;


export { meanPairwiseCosine, pairwiseCosines } from './step-metrics';

export class TrainingSession {
  readonly runId = randomUUID();
  private readonly coordinatorModel: CoordinatorModel;
  private readonly membership: Membership;
  private readonly departures: Departures;
  private readonly observer: StepObserver;
  /** When the step in progress gives up on a missing push (moved by replacements and vacancies). */
  private stepDeadline = 0;
  /** Deferred replies to replacements, answered once the step in progress completes. */
  private afterStep: (() => void)[] = [];
  private stateValue: SessionState = 'waiting';
  private errorValue: string | null = null;
  private current: StepState | null = null;
  /** The last completed step: a push resent after a reconnect whose answer was lost is answered from it. */
  private lastCompleted: StepState | null = null;
  private stepsCompleted = 0;
  /** Why the run is to stop at the next step boundary (stop()), or null. */
  private stopRequested: string | null = null;
  private checkpointStep: number | null = null;
  /** NextStep calls waiting for their step, and who has been told the run is over. */
  private readonly waiters = new AssignmentWaiters(() => {
    if (!this.stillThere()) this.wakeup.poke();
  });
  private startedAt = 0;
  /** Wakes run() when all workers joined, a step completed, or the run failed. */
  private readonly wakeup = new Wakeup();
  private readonly refusals = new RefusalTally(10_000);
  /** Workers whose report stream is open (reportStream). */
  private readonly openStreams = new Set<number>();
  /** Ring or halving-doubling re-formed when a member goes or comes (elasticAmongTrainers). */
  private readonly elastic: boolean;
  /** How many times the trainers' collective was re-formed (StepAssignment.epoch). */
  private epoch = 0;

  constructor(private readonly deps: SessionDeps) {
    const { config, train } = deps;
    this.coordinatorModel = new CoordinatorModel(config, train, deps.resume, deps.layers);
    this.elastic = elasticAmongTrainers(config);
    this.observer = new StepObserver(deps);
    if (deps.resume) {
      this.stepsCompleted = deps.resume.step;
      this.checkpointStep = deps.resume.step;
      this.observer.stepLosses.push(...deps.resume.stepLosses);
      this.observer.lastEval = deps.resume.lastEval;
    }
    this.membership = new Membership(this.runId, config, config.feed === 'ids' ? dataFingerprint(train) : null);
    this.departures = new Departures({
      config,
      membership: this.membership,
      waiters: this.waiters,
      strategy: deps.strategy,
      strategyFor: deps.strategyFor,
      state: () => this.stateValue,
      current: () => this.current,
      setDeadline: (at) => (this.stepDeadline = at),
      fail: (reason) => this.fail(reason),
      redo: (st, why) => this.redoStep(st, why),
      event: (r) => this.event(r),
      log: (line) => this.deps.log?.(line),
      poke: () => this.wakeup.poke(),
    });
  }

  get model(): ModelSpec {
    return this.coordinatorModel.spec;
  }

  /** The model as sent to trainers at join. */
  get wireModel(): WireModelSpec {
    return this.coordinatorModel.wire;
  }

  /** Float64 values of the optimizer's state (what a push before a checkpoint carries among trainers). */
  get optimizerStateLength(): number {
    return this.coordinatorModel.optimizerStateLength;
  }

  /** Number of model parameters (the length of a gradient). */
  get parameters(): number {
    return this.coordinatorModel.size;
  }

  get state(): SessionState {
    return this.stateValue;
  }

  get error(): string | null {
    return this.errorValue;
  }

  // ---- RPC surface -------------------------------------------------------------------------

  /** What a trainer needs to know before it joins: the feed, and the training set to load under feed "ids". */
  describeDataset(): DatasetDescription__Output {
    const { config } = this.deps;
    return { feed: config.feed, dataset: wireDatasetSpec(config), collective: config.collective };
  }

  /** Admits a trainer (Join) and answers it. For a run in progress, see joinWhenReady. */
  join(req: JoinRequest__Output): JoinReply__Output {
    const worker = this.admit(req);
    return this.joinReply(worker, this.startStepFor(worker));
  }

  /**
   * Join as the coordinator app calls it. A replacement (--lost-worker replace) whose lost predecessor had
   * already pushed the step in progress is answered when that step completes, with the state after it.
   */
  joinWhenReady(req: JoinRequest__Output): Promise<JoinReply__Output> {
    const worker = this.admit(req);
    const st = this.current;
    // Elastic among trainers the step under way is done again with the replacement, whatever its predecessor pushed.
    if (this.stateValue === 'running' && st && st.pushed[worker] && !this.elastic) {
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
    this.departures.leftBeforeStart(worker, step);
  }

  /** Hears the name of every trainer whose slot falls vacant (--lost-worker replace): a supervisor starts a new one. */
  onVacancy(listener: (name: string) => void): void {
    this.departures.onVacancy(listener);
  }

  /**
   * A trainer process is gone (the embedded runner saw it exit). Under --lost-worker stop, or before the run
   * started, the run stops with `reason`; under continue its worker is declared lost and the run goes on;
   * under replace its slot falls vacant (and onVacancy listeners start a new trainer).
   */
  workerGone(name: string, reason: string): void {
    this.departures.workerGone(name, reason);
  }

  /** The credential generation of a worker slot (a replacement's differs from the lost trainer's). */
  generationOf(worker: number): number {
    return this.membership.members[worker]?.generation ?? 0;
  }

  private admit(req: JoinRequest__Output): number {
    const worker = this.membership.admit(req, this.stateValue, (kind, message) => this.noteRefused(kind, message));
    const member = this.membership.members[worker]!;
    const replacing = this.stateValue === 'running';
    this.event({ kind: 'event', step: this.current?.step ?? 0, event: 'joined', worker, message: `worker ${worker} joined: ${member.name} (${member.backend})${replacing ? ', replacing the lost one' : ''}` });
    if (replacing) {
      this.deps.log?.(`${this.membership.describe(worker)} joined as the replacement of the lost worker ${worker}`);
      if (this.elastic && this.current) this.current.rejoined.add(worker);
      // It gets a full step timeout from now to compute the step it joins at.
      this.stepDeadline = Math.max(this.stepDeadline, Date.now() + this.deps.config.stepTimeout * 1000);
    }
    if (this.membership.full) this.wakeup.poke();
    return worker;
  }

  /** The step a trainer admitted now starts at: 0, a resumed run's first step, or (a replacement) the step in progress. */
  private startStepFor(worker: number): number {
    if (this.stateValue === 'running' && this.current) return this.current.pushed[worker] && !this.elastic ? this.current.step + 1 : this.current.step;
    return this.stepsCompleted;
  }

  private joinReply(worker: number, startStep: number): JoinReply__Output {
    return joinReply({
      config: this.deps.config,
      runId: this.runId,
      worker,
      model: this.wireModel,
      startStep,
      generation: this.generationOf(worker),
      state: () => this.coordinatorModel.state(),
    });
  }

  /**
   * Element-wise sum over all workers of a small vector, for reductions inside a step (SyncBN
   * statistics). Resolves for every worker once all have sent (step, tag). The sum is taken in
   * worker order in float64, so every worker receives the identical result.
   */
  allReduce(msg: AllReduceRequest__Output): Promise<number[]> {
    this.checkMember(msg.runId, msg.worker);
    const current = this.current;
    if (this.stateValue !== 'running' || !current) throw wrongState(`run is ${this.stateValue}; no step is in progress`);
    try {
      if (msg.step !== current.step) throw wrongState(`all-reduce for step ${msg.step}, but the run is at step ${current.step}`);
      return current.reductions.add(msg.worker, msg.step, msg.tag, msg.values, msg.resend);
    } catch (err) {
      if (isRequestError(err)) this.fail(`${this.membership.describe(msg.worker)}, step ${msg.step}, all-reduce ${msg.tag}: ${err.message}`);
      throw err;
    }
  }

  /** Long poll: resolves when the assignment for `step` exists, or the run ended. */
  nextStep(req: { runId: string; worker: number; step: number }): Promise<StepAssignment__Output> {
    this.checkMember(req.runId, req.worker);
    if (this.stateValue === 'failed' || this.stateValue === 'finished') return Promise.resolve(this.doneMessage(req.step, req.worker));
    const current = this.current;
    // A replacement joined mid-attempt (elastic): it takes part in the step done again, with the collective re-formed.
    if (current && req.step === current.step && current.rejoined.has(req.worker)) return this.waiters.wait(req.step, req.worker);
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
  pushGradient(msg: GradientUpdate__Output): Promise<PushReply> {
    this.checkMember(msg.runId, msg.worker);
    const member = this.membership.members[msg.worker]!;
    member.loopDelayMs = Math.max(member.loopDelayMs, Number.isFinite(msg.loopDelayMs) ? msg.loopDelayMs : 0);
    const current = this.current;
    if (msg.resend && !msg.error) {
      const again = this.answerResend(msg);
      if (again) return again;
    }
    if (this.stateValue === 'failed') throw wrongState(`run stopped: ${this.errorValue}`);
    if (this.stateValue !== 'running' || !current) throw wrongState(`run is ${this.stateValue}; no step is in progress`);
    const where = `${this.membership.describe(msg.worker)}, step ${msg.step}`;
    const amongTrainers = !collectiveNeeds(this.deps.config.collective).coordinatorAverages;
    const size = this.coordinatorModel.size;
    if (msg.error && msg.retry && this.elastic && msg.step === current.step) {
      // Its all-reduce failed (a peer is gone): it kept the step's starting state; the step is done again once
      // every member has said how its attempt ended, with the collective re-formed.
      current.pushed[msg.worker] = true;
      this.redoStep(current, `${where}: ${msg.error}`);
      return this.awaitStep(current, msg.worker);
    }
    if (msg.error) {
      // A member that cannot go on (a peer of its all-reduce is gone): stop with its reason rather than wait for
      // the timeout. Among trainers its report of the step may have been taken already (reports leave before the
      // all-reduce), and the run may be a step further: the error counts whatever step it names.
      this.fail(`${where}: ${msg.error}`);
      throw wrongState(`run stopped: ${where}: ${msg.error}`);
    }
    try {
      takePush(current, msg, {
        amongTrainers,
        parameters: size,
        optimizerStateLength: this.coordinatorModel.optimizerStateLength,
        robust: amongTrainers && this.deps.config.combine !== 'mean',
      });
    } catch (err) {
      if (isRequestError(err) || isWireError(err)) this.fail(`${where}: ${err.message}`);
      throw err;
    }
    return this.awaitStep(current, msg.worker);
  }

  /** The answer to a push of `st`, once every worker's push is in and the next step has begun. */
  private awaitStep(st: StepState, worker: number): Promise<PushReply> {
    const answer = new Promise<PushReply>((resolve, reject) => st.pushWaiters.push({ worker, resolve, reject }));
    if (st.pushed.every(Boolean)) this.wakeup.poke();
    return answer;
  }

  /**
   * A push sent again after the trainer's connection dropped (resend): if the first copy arrived, the same answer
   * as the first (waited for, or from the step just completed, whose answer the drop lost); null if it never
   * arrived, and the resend is taken as a first push. A resend that differs from the copy taken is a duplicate.
   */
  private answerResend(msg: GradientUpdate__Output): Promise<PushReply> | null {
    const w = msg.worker;
    const st = this.current?.step === msg.step ? this.current : this.lastCompleted?.step === msg.step ? this.lastCompleted : null;
    if (!st || !st.pushed[w]) return null;
    if (st.samples[w] !== msg.samples || st.losses[w] !== msg.loss || st.checksums[w] !== msg.paramChecksum) {
      throw duplicate(`worker ${w} resent step ${msg.step} with other contents than the push already received`);
    }
    if (st === this.current && this.stateValue === 'running') return this.awaitStep(st, w);
    if (this.stateValue === 'failed') throw wrongState(`run stopped: ${this.errorValue}`);
    const next = this.current && this.current !== st && this.stateValue === 'running' ? this.current.assignments[w]! : this.doneMessage(st.step + 1, w);
    return Promise.resolve({ update: st.update, buffers: st.combinedBuffers, next });
  }

  status(): RunStatus__Output {
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
    this.wakeup.poke();
  }

  /**
   * Stops the run at the next step boundary (Ctrl-C, docker stop): the step under way completes, a checkpoint is
   * written (among trainers after one step more, whose assignment asks worker 0 for its state), then the run stops.
   * A step that does not complete within STOP_GRACE_MS is not waited for.
   */
  stop(reason: string): void {
    if (this.stateValue !== 'running') return this.fail(reason);
    if (this.stopRequested !== null) return;
    this.stopRequested = reason;
    this.deps.log?.(`${reason}: stopping after the step under way`);
    setTimeout(() => this.fail(`${reason} (the step under way did not finish within ${STOP_GRACE_MS / 1000} s)`), STOP_GRACE_MS).unref();
    this.wakeup.poke();
  }

  /** A checkpoint after the completed step `st`, when this coordinator has its state (among trainers: only if worker 0 sent it). */
  private writeCheckpoint(st: StepState): void {
    const state = this.coordinatorModel.checkpointState(st);
    if (!this.deps.checkpoint || !state) return;
    this.deps.checkpoint({ step: this.stepsCompleted, ...state });
    if (this.stateValue === 'running') this.checkpointStep = this.stepsCompleted;
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
      await this.wakeup.sleep(left);
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
      while (this.stateValue === 'running' && !this.settled(st)) {
        const left = this.stepDeadline - Date.now();
        if (left <= 0) {
          if (this.departures.stepTimedOut(st)) break;
          continue;
        }
        await this.wakeup.sleep(left);
      }
      if (this.stateValue !== 'running') break;
      if (st.redo !== null) {
        // Elastic among trainers: this attempt cannot complete. Its pushes are answered with the step again,
        // among the members now in the run, whose collective is re-formed (beginStep with a new epoch).
        this.epoch++;
        const members = this.departures.plan.ranks.length;
        const formed = isPeerAlgorithm(config.collective) ? peerAlgorithmFor(config.collective, members) : config.collective;
        const algorithm = formed === config.collective ? formed : `the ${formed} (${config.collective} needs a power of two, not ${members})`;
        log(`step ${t} again: ${st.redo}; the ${members} worker(s) in the run re-form their collective as ${algorithm}`);
        this.event({ kind: 'event', step: t, event: 'reformed', message: `${st.redo}; step ${t} again among ${members} worker(s), ${algorithm}` });
        previous = st;
        t--;
        continue;
      }
      await this.completeStep(st);
      if (this.stateValue === 'running') previous = st;
      for (const answer of this.afterStep.splice(0)) answer();
      this.flushRefusals();
      const stopping = this.stopRequested !== null && this.stepsCompleted < config.steps;
      const due = config.checkpointEvery > 0 && this.stepsCompleted % config.checkpointEvery === 0;
      if ((due || stopping) && this.stepsCompleted < config.steps && this.stateValue === 'running') this.writeCheckpoint(st);
      // Among trainers a stop asked for mid-step waits one step more: the one whose assignment asked for the state.
      const oneMore = !this.coordinatorModel.keepsState && !!this.deps.checkpoint && !st.assignments.some((a) => a.reportState);
      if (stopping && this.stateValue === 'running' && (this.checkpointStep === this.stepsCompleted || !oneMore)) {
        const kept = this.checkpointStep === this.stepsCompleted ? 'checkpoint.bin holds it' : 'no checkpoint of it';
        this.fail(`${this.stopRequested} after step ${this.stepsCompleted}; ${kept}`);
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

  /**
   * Elastic among trainers: `st` is to be done again. The members still in their all-reduce get a full step timeout
   * from now to notice that it cannot complete and say so.
   */
  private redoStep(st: StepState, why: string): void {
    if (st.redo !== null) return;
    st.redo = why;
    this.stepDeadline = Math.max(this.stepDeadline, Date.now() + this.deps.config.stepTimeout * 1000);
  }

  /**
   * Whether step `st`'s attempt is over: every member pushed. Elastic among trainers, also when the attempt is to
   * be done again: every member still in it has said how it ended, and no slot waits for a replacement.
   */
  private settled(st: StepState): boolean {
    if (st.redo === null) return st.pushed.every(Boolean);
    const members = this.membership.members;
    return st.pushed.every((p, w) => p || st.rejoined.has(w)) && !members.some((m) => m.vacant);
  }

  private beginStep(t: number): StepState {
    const { config, train } = this.deps;
    const W = config.workers;
    // A checkpoint follows step t when one is due after it, or the run is to stop (Ctrl-C): among trainers, worker 0
    // then reports its state after the step.
    const done = t + 1;
    const checkpoint = !!this.deps.checkpoint && done < config.steps && ((config.checkpointEvery > 0 && done % config.checkpointEvery === 0) || this.stopRequested !== null);
    const assignments = planStep(t, {
      config,
      plan: this.departures.plan,
      train,
      peerAddresses: () => this.membership.members.map((m) => m.peerAddress),
      checkpoint,
      firstStep: this.deps.resume?.step ?? 0,
      ...(this.epoch > 0 && this.current?.step === t ? { reform: { epoch: this.epoch } } : {}),
    });
    // Whether this step checks the replicas: the same in every worker's assignment.
    const reportChecksum = assignments[0]!.reportChecksum;
    const st = newStepState({
      step: t,
      assignments,
      // A lost worker counts as done: the step waits for the survivors only.
      // Under --lost-worker replace a vacant slot is waited for (its replacement computes the step).
      lost: Array.from({ length: W }, (_, w) => this.membership.members[w]?.lost === true && !this.membership.members[w]!.vacant),
      parameters: this.coordinatorModel.size,
      reportChecksum,
      // The checksum a replica must report for step t: parameters after the updates of steps < t.
      // Among trainers: no replica here; the workers' checksums are compared with each other.
      expectedChecksum: reportChecksum ? this.coordinatorModel.expectedChecksum() : null,
    });
    this.current = st;
    this.waiters.begin(t, assignments);
    return st;
  }

  private async completeStep(st: StepState): Promise<void> {
    if (st.reportChecksum) {
      const check = replicaCheck(st);
      if (!check.ok) {
        this.fail(check.message);
        return;
      }
      this.event({ kind: 'event', step: st.step, event: 'checksum', message: check.message });
    }
    this.coordinatorModel.absorb(st);
    this.lastCompleted = st;
    st.samples.forEach((n, w) => {
      if (n > 0) this.membership.members[w]!.contributions++;
    });
    this.stepsCompleted = st.step + 1;

    await this.observer.observe(st, this.startedAt, () => this.coordinatorModel.params(), this.coordinatorModel.buffers);
  }

  /** Answers the pushes of a completed step: its update (relay) and each worker's next assignment. */
  private answerPushes(st: StepState, next: (worker: number) => StepAssignment__Output): void {
    for (const w of st.pushWaiters.splice(0)) w.resolve({ update: st.update, buffers: st.combinedBuffers, next: next(w.worker) });
  }

  /** What the run came to, so far: the final result once run() returned. */
  result(): SessionResult {
    const { stepLosses, lastEval } = this.observer;
    return {
      status: this.stateValue === 'finished' ? 'completed' : 'failed',
      error: this.errorValue,
      stepsCompleted: this.stepsCompleted,
      params: this.coordinatorModel.params(),
      lastEval,
      stepLosses,
      finalLoss: stepLosses.at(-1) ?? null,
      lossSwing: this.observer.lossSwing,
      trainerBackends: this.membership.members.map((m) => m.backend),
      buffers: this.coordinatorModel.buffers,
      wallSeconds: this.startedAt ? (Date.now() - this.startedAt) / 1000 : 0,
      communicationShare: this.observer.communicationShare,
      refused: Object.fromEntries(this.refusals.totals),
      lostWorkers: this.membership.members.flatMap((m, w) => (m.lost ? [w] : [])),
      replacements: this.membership.members.reduce((n, m) => n + m.generation, 0),
      loopDelayMs: this.membership.members.map((m) => m.loopDelayMs),
      checkpointStep: this.checkpointStep,
    };
  }

  /**
   * A worker's stream of reports opened (`open`) or ended by its trainer (which ends it once it has its last answer).
   * An answer can be lost with its connection; until the stream ends, a trainer that was told the run is over may
   * still be reconnecting to hear it, so the coordinator waits for that (see waitForDeparture).
   */
  reportStream(worker: number, open: boolean): void {
    if (open) this.openStreams.add(worker);
    else this.openStreams.delete(worker);
    if (!open) this.wakeup.poke();
  }

  /** True while a member that is still in the run has not been told it is over, or has not closed its report stream since. */
  private stillThere(): boolean {
    return this.membership.members.some((m, w) => !m.lost && (!this.waiters.hasDeparted(w) || this.openStreams.has(w)));
  }

  /** After run(): waits (at most `ms`) until every worker has been told the run is over. */
  async waitForDeparture(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.stillThere() && Date.now() < deadline) await this.wakeup.sleep(deadline - Date.now());
  }

  // ---- helpers -----------------------------------------------------------------------------

  private checkMember(runId: string, worker: number): void {
    this.membership.check(runId, worker, (kind, message) => this.noteRefused(kind, message));
  }


  private doneMessage(step: number, worker: number): StepAssignment__Output {
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
}
