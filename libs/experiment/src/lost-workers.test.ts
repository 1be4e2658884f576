import { describe, expect, it } from 'vitest';
import { onStepTimeout, onTrainerGone, type Slot } from './lost-workers';

const slots = (n: number, vacant: number[] = [], lost: number[] = []): Slot[] =>
  Array.from({ length: n }, (_, w) => ({ name: `t${w}`, vacant: vacant.includes(w), lost: lost.includes(w) || vacant.includes(w) }));
const timeout = { step: 7, stepTimeout: 5, replaceTimeout: 60 };

describe('onStepTimeout', () => {
  it('stop: stops naming every missing worker, its trainer and the setting', () => {
    const a = onStepTimeout({ ...timeout, policy: 'stop', missing: [1, 3], slots: slots(4), active: 4 });
    expect(a).toEqual({ kind: 'stop', reason: 'step 7: no gradient from worker 1 (t1), 3 (t3) within 5 s (--step-timeout); treating it as lost and stopping the run' });
  });

  it('continue: drops the missing workers while someone is left, stops when nobody would be', () => {
    expect(onStepTimeout({ ...timeout, policy: 'continue', missing: [2], slots: slots(4), active: 4 })).toEqual({ kind: 'declare-lost', workers: [2], why: 'step 7: no gradient within 5 s (--step-timeout)' });
    expect(onStepTimeout({ ...timeout, policy: 'continue', missing: [0, 1], slots: slots(2), active: 2 }).kind).toBe('stop');
  });

  it('replace: waits for replacements of the fresh losses, then gives up naming --replace-timeout', () => {
    expect(onStepTimeout({ ...timeout, policy: 'replace', missing: [1, 2], slots: slots(4, [2]), active: 3 })).toEqual({ kind: 'vacate', workers: [1], why: 'step 7: no gradient within 5 s (--step-timeout)' });
    expect(onStepTimeout({ ...timeout, policy: 'replace', missing: [2], slots: slots(4, [2]), active: 3 })).toEqual({ kind: 'stop', reason: 'step 7: lost worker 2 not replaced within 60 s (--replace-timeout)' });
  });
});

describe('onTrainerGone', () => {
  const gone = { reason: 'trainer t1 exited with code 1', worker: 1, active: 4, running: true };
  it('stops under stop, before the run starts, and for a process that never joined before the start', () => {
    expect(onTrainerGone({ ...gone, policy: 'stop', slots: slots(4) })).toEqual({ kind: 'stop', reason: gone.reason });
    expect(onTrainerGone({ ...gone, policy: 'continue', running: false, slots: slots(4) })).toEqual({ kind: 'stop', reason: gone.reason });
    expect(onTrainerGone({ ...gone, policy: 'continue', running: false, worker: -1, slots: slots(4) })).toEqual({ kind: 'stop', reason: gone.reason });
  });

  it('continue drops it unless it is the last one; replace vacates its slot', () => {
    expect(onTrainerGone({ ...gone, policy: 'continue', slots: slots(4) })).toEqual({ kind: 'declare-lost', workers: [1], why: gone.reason });
    expect(onTrainerGone({ ...gone, policy: 'continue', active: 1, slots: slots(4, [], [0, 2, 3]) })).toEqual({ kind: 'stop', reason: gone.reason });
    expect(onTrainerGone({ ...gone, policy: 'replace', slots: slots(4) })).toEqual({ kind: 'vacate', workers: [1], why: gone.reason });
  });

  it('does nothing for a worker already out, or (while running) a process that holds no slot any more', () => {
    expect(onTrainerGone({ ...gone, policy: 'continue', slots: slots(4, [], [1]) })).toBeNull();
    expect(onTrainerGone({ ...gone, policy: 'stop', worker: -1, slots: slots(4) })).toBeNull();
  });
});
