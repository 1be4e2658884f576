import { combine, weightedAverage } from '@shardlab/aggregation';
import { describe, expect, it } from 'vitest';
import { SharedMemoryCollective, abortSharedMemory, sharedMemoryBuffers } from './shared-memory';
import { data, firstBitDifference } from './test-values';

/*
 * The workers here are W collectives over the same buffers in one thread: their waits are asynchronous, so they
 * interleave like threads at every barrier. Real threads run them in apps/cli's threads-runtime tests.
 */
describe('SharedMemoryCollective', () => {
  for (const world of [1, 2, 3, 5]) {
    it(`gives every worker the relay coordinator's weighted average, bit for bit, step after step (${world} workers)`, async () => {
      const n = 10_007;
      const buffers = sharedMemoryBuffers(world, n);
      const workers = Array.from({ length: world }, (_, rank) => new SharedMemoryCollective(buffers, rank, 5_000));
      for (let step = 0; step < 3; step++) {
        const inputs = Array.from({ length: world }, (_, rank) => data(rank + 10 * step, n));
        const weights = inputs.map((_, rank) => 32 + rank * 7 + step);
        const expected = weightedAverage(inputs, weights);
        const results = await Promise.all(workers.map((c, rank) => c.average(inputs[rank]!, weights[rank]!, step).then((a) => a.slice())));
        for (const r of results) expect(firstBitDifference(r, expected)).toBe(-1);
      }
    });
  }

  for (const [name, world] of [['median', 4], ['median', 5], ['trimmed-mean', 5], ['multi-krum', 5], ['multi-krum', 7]] as const) {
    it(`computes ${name} over ${world} workers as the relay coordinator's combine(), bit for bit, with the same discarded shares`, async () => {
      const n = 3_001;
      const rule = { name, trim: world >= 5 ? 2 : 1, krumF: world >= 7 ? 2 : 1 };
      const buffers = sharedMemoryBuffers(world, n);
      const workers = Array.from({ length: world }, (_, rank) => new SharedMemoryCollective(buffers, rank, 5_000));
      for (let step = 0; step < 3; step++) {
        // The last worker poisons (-10x, from step 1 on), so the rules have something to leave out; ties included.
        const inputs = Array.from({ length: world }, (_, rank) => data(rank + 10 * step, n).map((v, j) => (j % 97 === 0 ? 0.5 : v)));
        if (step > 0) inputs[world - 1] = inputs[world - 1]!.map((v) => -10 * v);
        const weights = inputs.map((_, rank) => 32 + rank);
        const expected = combine(name, inputs, weights, rule);
        const results = await Promise.all(
          workers.map((c, rank) => c.combine(inputs[rank]!, weights[rank]!, step, rule).then((r) => ({ update: r.update.slice(), discarded: r.discarded }))),
        );
        for (const r of results) {
          expect(firstBitDifference(r.update, expected.update)).toBe(-1);
          expect(r.discarded).toEqual(expected.discarded);
        }
        if (name === 'multi-krum' && step > 0) expect(expected.discarded[world - 1]).toBe(1);
      }
    });
  }

  it('sums in worker order from 0, as the relay coordinator does', async () => {
    const buffers = sharedMemoryBuffers(3, 4);
    const workers = [0, 1, 2].map((rank) => new SharedMemoryCollective(buffers, rank, 5_000));
    const inputs = [Float64Array.of(1e16, 1, 0.1, -3), Float64Array.of(1, -1e16, 0.2, 5), Float64Array.of(1, 1, 0.3, -2)];
    const expected = inputs[0]!.map((_, i) => 0 + inputs[0]![i]! + inputs[1]![i]! + inputs[2]![i]!);
    const results = await Promise.all(workers.map((c, rank) => c.sum(inputs[rank]!, 0)));
    for (const r of results) expect(Array.from(r)).toEqual(Array.from(expected));
  });

  it('names the workers that did not arrive within the timeout', async () => {
    const buffers = sharedMemoryBuffers(4, 8);
    const workers = [0, 1, 2, 3].map((rank) => new SharedMemoryCollective(buffers, rank, 200));
    const waiting = [0, 2].map((rank) => workers[rank]!.average(new Float32Array(8), 1, 7));
    await expect(waiting[0]).rejects.toThrow('step 7: workers 1, 3 did not reach the shared-memory all-reduce within 0.2 s');
    await expect(waiting[1]).rejects.toThrow('workers 1, 3');
  });

  it('fails every wait at once when a worker is gone, and every later call', async () => {
    const buffers = sharedMemoryBuffers(2, 8);
    // An hour's timeout, past the test's own: only the abort can end the wait, and its message is not the timeout's.
    const worker0 = new SharedMemoryCollective(buffers, 0, 3_600_000);
    const waiting = worker0.average(new Float32Array(8), 1, 3);
    setTimeout(() => abortSharedMemory(buffers, 1), 20);
    await expect(waiting).rejects.toThrow('step 3: worker 1 is gone, so the shared-memory all-reduce cannot complete');
    await expect(worker0.sum(new Float64Array(2), 4)).rejects.toThrow('worker 1 is gone');
  });

  it('refuses a gradient of another size, a bad weight and a rank outside the world', async () => {
    const buffers = sharedMemoryBuffers(2, 8);
    const c = new SharedMemoryCollective(buffers, 0, 100);
    await expect(c.average(new Float32Array(7), 1, 0)).rejects.toThrow('7 values, the buffers hold 8');
    await expect(c.average(new Float32Array(8), Number.NaN, 0)).rejects.toThrow('weight must be finite');
    expect(() => new SharedMemoryCollective(buffers, 2, 100)).toThrow('rank must be in 0..1');
  });
});
