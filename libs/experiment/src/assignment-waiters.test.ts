import { describe, expect, it } from 'vitest';
import { AssignmentWaiters } from './assignment-waiters';
import type { StepAssignment__Output } from '@shardlab/protocol';

const assignment = (step: number, worker: number): StepAssignment__Output => ({ step, done: false, batches: [{ features: null, labels: [worker], ids: [worker] }], reportChecksum: false, stopReason: '', peers: [], reportGradient: false, reportParams: false, reportState: false, peerVerifiers: [], peerWorkers: [], epoch: 0 });

describe('AssignmentWaiters', () => {
  it("answers each waiting call with its own worker's assignment when the step begins, and only that step's", async () => {
    const waiters = new AssignmentWaiters(() => undefined);
    const a = waiters.wait(3, 1);
    const b = waiters.wait(3, 0);
    let later = false;
    void waiters.wait(4, 0).then(() => (later = true));
    waiters.begin(3, [assignment(3, 0), assignment(3, 1)]);
    expect((await a).batches[0]!.ids).toEqual([1]);
    expect((await b).batches[0]!.ids).toEqual([0]);
    await Promise.resolve();
    expect(later).toBe(false);
  });

  it('forgets a cancelled call; dismisses the selected workers with their reason and counts them departed', async () => {
    const departures: number[] = [];
    const waiters = new AssignmentWaiters(() => departures.push(1));
    void waiters.wait(0, 0);
    expect(waiters.forget(0, 0)).toBe(true);
    expect(waiters.forget(0, 0)).toBe(false);
    const lost = waiters.wait(0, 2);
    const kept = waiters.wait(0, 1);
    waiters.dismiss((w) => w === 2, (w) => `worker ${w} was declared lost`);
    expect(await lost).toMatchObject({ step: 0, done: true, stopReason: 'worker 2 was declared lost', batches: [] });
    expect(waiters.hasDeparted(2)).toBe(true);
    expect(waiters.hasDeparted(1)).toBe(false);
    expect(departures).toHaveLength(1);
    waiters.begin(0, [assignment(0, 0), assignment(0, 1), assignment(0, 2)]);
    expect((await kept).done).toBe(false);
  });
});
