import type { StepAssignment__Output } from '@shardlab/protocol';

/*
 * The long-polling side of the step loop: NextStep calls that wait for a step's assignment, and which workers
 * have been told that the run is over for them. The session decides when a step begins and who is out; this
 * only keeps the callers waiting and answers them.
 */

interface Waiter {
  worker: number;
  resolve: (a: StepAssignment__Output) => void;
}

/** The "you are done" assignment for `step`, with the reason (empty when the run simply finished). */
export function doneAssignment(step: number, reason: string): StepAssignment__Output {
  return { step, done: true, batches: [], reportChecksum: false, stopReason: reason, peers: [], reportGradient: false, reportParams: false, reportState: false, peerVerifiers: [], peerWorkers: [], epoch: 0 };
}

export class AssignmentWaiters {
  private readonly waiting = new Map<number, Waiter[]>();
  /** Workers that have been told the run is over. */
  private readonly departed = new Set<number>();

  /** Called each time a worker is told the run is over (the session wakes its loop when nobody is left). */
  constructor(private readonly onDeparted: () => void) {}

  /** A NextStep(step) call from `worker` that waits until the step begins (or the run ends for it). */
  wait(step: number, worker: number): Promise<StepAssignment__Output> {
    return new Promise((resolve) => {
      const list = this.waiting.get(step) ?? [];
      list.push({ worker, resolve });
      this.waiting.set(step, list);
    });
  }

  /** Step `step` began: every call waiting for it gets its worker's assignment. */
  begin(step: number, assignments: readonly StepAssignment__Output[]): void {
    const list = this.waiting.get(step) ?? [];
    this.waiting.delete(step);
    for (const w of list) w.resolve(assignments[w.worker]!);
  }

  /** Forgets `worker`'s call for `step` (its connection closed); false if it had none. */
  forget(step: number, worker: number): boolean {
    const list = this.waiting.get(step) ?? [];
    if (!list.some((x) => x.worker === worker)) return false;
    this.waiting.set(step, list.filter((x) => x.worker !== worker));
    return true;
  }

  /** Tells `worker` the run is over for it: the assignment to answer with (and it counts as departed). */
  done(step: number, worker: number, reason: string): StepAssignment__Output {
    this.departed.add(worker);
    this.onDeparted();
    return doneAssignment(step, reason);
  }

  /** Answers the waiting calls of the workers `which` selects with done(reason(worker)). */
  dismiss(which: (worker: number) => boolean, reason: (worker: number) => string): void {
    for (const [step, list] of this.waiting) {
      for (const x of list) if (which(x.worker)) x.resolve(this.done(step, x.worker, reason(x.worker)));
      this.waiting.set(step, list.filter((x) => !which(x.worker)));
    }
  }

  /** Whether `worker` has been told the run is over. */
  hasDeparted(worker: number): boolean {
    return this.departed.has(worker);
  }
}
