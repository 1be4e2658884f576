import { describe, expect, it } from 'vitest';
import type { LiveEvent, StepRecord } from '@shardlab/report';
import { DashboardHub, HISTORY_STEPS } from './hub';

const step = (n: number): StepRecord => ({
  kind: 'step', step: n, loss: 1 / (n + 1), workerLoss: [1], samples: 8, stepMs: 1, computeMs: [1], elapsedSeconds: n / 10, gradNorm: [1], gradCosine: null, gradCosinePairs: [],
});

describe('DashboardHub', () => {
  it('gives a late watcher the runs and their records first, then the live events, in order', () => {
    const hub = new DashboardHub('compare', 'compare');
    hub.plan('b', 'b', 1);
    const a = hub.observer('a', 'a', 1);
    a.started({ workers: 2, steps: 3, classNames: ['x', 'y'] });
    a.record(step(0));
    a.record({ kind: 'event', step: 0, event: 'joined', worker: 1, message: 'worker 1 joined' });
    a.record(step(1));
    const seen: LiveEvent[] = [];
    hub.subscribe((e) => (seen.push(e), true));
    expect(seen[0]).toMatchObject({ type: 'hello', runs: [{ id: 'b', status: 'planned' }, { id: 'a', status: 'running', workers: 2, classNames: ['x', 'y'] }] });
    expect(seen.slice(1).map((e) => (e.type === 'record' ? `${e.run}:${e.record.kind}:${e.record.step}` : e.type))).toEqual(['a:step:0', 'a:event:0', 'a:step:1']);
    a.record(step(2));
    a.ended({ status: 'completed', error: null, finalTestAccuracy: 0.9 });
    expect(seen.slice(4)).toMatchObject([{ type: 'record', run: 'a', record: { step: 2 } }, { type: 'run', run: { id: 'a', status: 'completed', finalTestAccuracy: 0.9 } }]);
  });

  it('drops a watcher that cannot keep up, and keeps the others', () => {
    const hub = new DashboardHub('run', 'run');
    const o = hub.observer('r', 'r', 1);
    let slow = 0;
    let fast = 0;
    hub.subscribe(() => ++slow < 3);
    hub.subscribe(() => (++fast, true));
    for (let i = 0; i < 5; i++) o.record(step(i));
    expect(hub.watcherCount).toBe(1);
    expect(slow).toBe(3);
    expect(fast).toBe(1 + 5);
  });

  it('bounds the history of a long run: at most HISTORY_STEPS steps kept, evenly spread, the first and every eval kept', () => {
    const hub = new DashboardHub('run', 'run');
    const o = hub.observer('r', 'r', 1);
    const total = HISTORY_STEPS * 5 + 123;
    for (let i = 0; i < total; i++) {
      o.record(step(i));
      if (i % 1000 === 0) o.record({ kind: 'eval', step: i, testAccuracy: 0.5, testLoss: 1, perClassAccuracy: [] });
    }
    const kept = hub.history().flatMap((e) => (e.type === 'record' ? [e.record] : []));
    const steps = kept.filter((r) => r.kind === 'step').map((r) => r.step);
    expect(steps.length).toBeLessThanOrEqual(HISTORY_STEPS);
    expect(steps.length).toBeGreaterThan(HISTORY_STEPS / 2);
    expect(steps[0]).toBe(0);
    const gaps = new Set(steps.slice(1).map((s, i) => s - steps[i]!));
    expect(gaps.size).toBe(1);
    expect(kept.filter((r) => r.kind === 'eval')).toHaveLength(Math.ceil(total / 1000));
  });
});
