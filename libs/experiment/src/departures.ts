import type { Strategy } from '@shardlab/data';
import type { EventRecord } from '@shardlab/report';
import type { AssignmentWaiters } from './assignment-waiters';
import { elasticAmongTrainers, type RunConfig } from './config';
import { onStepTimeout, onTrainerGone, type LostWorkerAction } from './lost-workers';
import type { Membership } from './membership';
import type { SessionState } from './messages';
import type { StepState } from './step-state';

/** What Departures needs of the session it works for. */
export interface DepartureContext {
  config: RunConfig;
  membership: Membership;
  waiters: AssignmentWaiters;
  /** The batch plan for all workers, and for fewer of them (--lost-worker continue rebuilds it for the survivors). */
  strategy: Strategy;
  strategyFor?: (workers: number) => Strategy;
  state: () => SessionState;
  /** The step in progress, if any. */
  current: () => StepState | null;
  /** Moves the deadline of the step in progress (a vacant slot waits --replace-timeout for its replacement). */
  setDeadline: (at: number) => void;
  fail: (reason: string) => void;
  /** Elastic among trainers: the step under way is to be done again, among the members then in the run. */
  redo: (st: StepState, why: string) => void;
  event: (r: EventRecord) => void;
  log: (line: string) => void;
  /** Wakes the run loop. */
  poke: () => void;
}

/**
 * Carries out --lost-worker's decisions (lost-workers.ts) when a worker goes: its trainer process exited, it
 * missed a step's deadline, or it left before the first step. Keeps the survivors' batch plan, and tells
 * supervisors (the embedded runner) which slot needs a new trainer.
 */
export class Departures {
  /** The batch plan and which worker takes which of its ranks (all of them, until a worker is lost). */
  plan: { strategy: Strategy; ranks: number[] };
  private readonly vacancyListeners: ((name: string) => void)[] = [];
  /** Ring or halving-doubling re-formed on a loss (elasticAmongTrainers): a loss mid-step has the step done again. */
  private readonly elastic: boolean;

  constructor(private readonly ctx: DepartureContext) {
    this.plan = { strategy: ctx.strategy, ranks: Array.from({ length: ctx.config.workers }, (_, w) => w) };
    this.elastic = elasticAmongTrainers(ctx.config);
  }

  /** Hears the name of every trainer whose slot falls vacant (--lost-worker replace): a supervisor starts a new one. */
  onVacancy(listener: (name: string) => void): void {
    this.vacancyListeners.push(listener);
  }

  /**
   * A trainer process is gone. Under --lost-worker stop, or before the run started, the run stops with
   * `reason`; under continue its worker is declared lost and the run goes on; under replace its slot falls vacant.
   */
  workerGone(name: string, reason: string): void {
    const { membership } = this.ctx;
    const action = onTrainerGone({
      policy: this.ctx.config.lostWorker,
      running: this.ctx.state() === 'running',
      worker: membership.members.findIndex((m) => m.name === name),
      slots: membership.members,
      active: membership.active().length,
      reason,
    });
    if (action) this.carryOut(action);
  }

  /** The deadline of step `st` passed before every worker pushed. True if the run stops. */
  stepTimedOut(st: StepState): boolean {
    const { config, membership } = this.ctx;
    const action = onStepTimeout({
      policy: config.lostWorker,
      step: st.step,
      missing: st.pushed.flatMap((pushed, w) => (pushed ? [] : [w])),
      slots: membership.members,
      active: membership.active().length,
      stepTimeout: config.stepTimeout,
      replaceTimeout: config.replaceTimeout,
    });
    this.carryOut(action);
    return action.kind === 'stop';
  }

  /**
   * A NextStep call ended without an answer (the trainer's connection closed). Before the run starts that frees
   * the trainer's slot, like an expired lease, so a trainer killed right after Join does not hold it forever.
   */
  leftBeforeStart(worker: number, step: number): void {
    const { membership } = this.ctx;
    const member = membership.members[worker];
    if (this.ctx.state() !== 'waiting' || !member || member.vacant) return;
    if (!this.ctx.waiters.forget(step, worker)) return;
    member.lost = true;
    member.vacant = true;
    this.ctx.event({ kind: 'event', step: 0, event: 'lost', worker, message: `${membership.describe(worker)} left before the first step (its NextStep call was cancelled); its slot is free again` });
    this.ctx.log(`${membership.describe(worker)} left before the run started; its slot is free again`);
  }

  private carryOut(action: LostWorkerAction): void {
    if (action.kind === 'stop') return this.ctx.fail(action.reason);
    // Elastic among trainers: the members of the step under way are no longer those who can finish it.
    const st = this.ctx.current();
    if (st && this.elastic) this.ctx.redo(st, `worker ${action.workers.join(', ')} lost (${action.why})`);
    if (action.kind === 'vacate') this.vacate(action.workers, action.why);
    else this.declareLost(action.workers, action.why);
  }

  /**
   * --lost-worker replace: these workers' slots wait up to --replace-timeout for a replacement trainer; the
   * step in progress waits with them (a replacement computes what the lost one did not push).
   */
  private vacate(workers: readonly number[], why: string): void {
    const { config, membership } = this.ctx;
    const step = this.ctx.current()?.step ?? 0;
    for (const w of workers) {
      const m = membership.members[w]!;
      for (const listener of this.vacancyListeners) listener(m.name);
      m.lost = true;
      m.vacant = true;
      this.ctx.event({ kind: 'event', step, event: 'lost', worker: w, message: `${membership.describe(w)} lost: ${why}; waiting up to ${config.replaceTimeout} s for a replacement` });
      this.ctx.log(`${membership.describe(w)} lost (${why}); waiting up to ${config.replaceTimeout} s for a replacement`);
    }
    this.ctx.setDeadline(Date.now() + config.replaceTimeout * 1000);
    this.dismissLost(why);
  }

  /**
   * --lost-worker continue: these workers are out of the run from now on. The current step completes with
   * the survivors' contributions; from the next step the batch plan is rebuilt for the survivors.
   */
  private declareLost(workers: readonly number[], why: string): void {
    const { membership } = this.ctx;
    const st = this.ctx.current();
    for (const w of workers) {
      membership.members[w]!.lost = true;
      if (st && !st.pushed[w]) st.pushed[w] = true;
      this.ctx.event({ kind: 'event', step: st?.step ?? 0, event: 'lost', worker: w, message: `${membership.describe(w)} lost: ${why}; continuing with ${membership.active().length} worker(s)` });
      this.ctx.log(`${membership.describe(w)} lost (${why}); continuing with the survivors`);
    }
    const survivors = membership.active();
    this.plan = { strategy: this.ctx.strategyFor ? this.ctx.strategyFor(survivors.length) : this.ctx.strategy, ranks: survivors };
    this.dismissLost(why);
  }

  /** Answers every lost worker still waiting for a step with "you are out", and wakes the run loop. */
  private dismissLost(why: string): void {
    this.ctx.waiters.dismiss(
      (w) => this.ctx.membership.members[w]!.lost,
      (w) => `worker ${w} was declared lost: ${why}`,
    );
    this.ctx.poke();
  }
}
