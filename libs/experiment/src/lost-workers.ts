import type { LostWorkerPolicy } from './config';

/*
 * --lost-worker as decisions: what the step loop does with workers that did not push in time, and with a trainer
 * process that is gone. Pure functions of the policy and who is in the run; the session carries them out.
 */

/** What to do about lost workers: stop the run, go on without them (continue), or wait for replacements (replace). */
export type LostWorkerAction =
  | { kind: 'stop'; reason: string }
  | { kind: 'declare-lost'; workers: number[]; why: string }
  | { kind: 'vacate'; workers: number[]; why: string };

/** A worker as these decisions see it. */
export interface Slot {
  name: string;
  /** Already out of the run (lost under continue, or a slot waiting for its replacement). */
  lost: boolean;
  /** Waiting for a replacement (--lost-worker replace). */
  vacant: boolean;
}

/**
 * The step's deadline passed and `missing` have not pushed. Continue drops them if anyone is left; replace waits
 * for replacements of the ones not already waited for, then gives up; stop stops, naming them.
 */
export function onStepTimeout(opts: {
  policy: LostWorkerPolicy;
  step: number;
  missing: readonly number[];
  slots: readonly Slot[];
  /** How many workers are still in the run. */
  active: number;
  stepTimeout: number;
  replaceTimeout: number;
}): LostWorkerAction {
  const { policy, step, missing, slots } = opts;
  const why = `step ${step}: no gradient within ${opts.stepTimeout} s (--step-timeout)`;
  if (policy === 'continue' && missing.length < opts.active) return { kind: 'declare-lost', workers: [...missing], why };
  if (policy === 'replace') {
    const fresh = missing.filter((w) => !slots[w]!.vacant);
    if (fresh.length > 0) return { kind: 'vacate', workers: fresh, why };
    return { kind: 'stop', reason: `step ${step}: lost worker ${missing.join(', ')} not replaced within ${opts.replaceTimeout} s (--replace-timeout)` };
  }
  const names = missing.map((w) => `${w} (${slots[w]!.name})`);
  return { kind: 'stop', reason: `step ${step}: no gradient from worker ${names.join(', ')} within ${opts.stepTimeout} s (--step-timeout); treating it as lost and stopping the run` };
}

/**
 * The trainer process of `worker` (-1: none of the members) is gone. Before the run starts, under stop, or with
 * nobody left to continue with, the run stops; under replace its slot waits for a new trainer; under continue it
 * is out. Null: nothing to do (it is out already, or its slot holds another trainer by now).
 */
export function onTrainerGone(opts: { policy: LostWorkerPolicy; running: boolean; worker: number; slots: readonly Slot[]; active: number; reason: string }): LostWorkerAction | null {
  const { policy, running, worker, reason } = opts;
  const slot = opts.slots[worker];
  if (slot?.lost || (!slot && running)) return null;
  if (policy === 'stop' || !running || !slot || (policy === 'continue' && opts.active <= 1)) return { kind: 'stop', reason };
  return { kind: policy === 'replace' ? 'vacate' : 'declare-lost', workers: [worker], why: reason };
}
