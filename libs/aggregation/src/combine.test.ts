import { describe, expect, it } from 'vitest';
import { weightedAverage } from './average';
import { checkCombine, combine } from './combine';

const opts = { trim: 1, krumF: 1 };
const g = (...v: number[]) => Float32Array.from(v);

describe('combine', () => {
  it('mean is the sample-weighted average, bit for bit, and discards nothing', () => {
    const grads = [g(1, 2), g(3, 5), g(-1, 0.5)];
    const r = combine('mean', grads, [32, 32, 64], opts);
    expect(Array.from(r.update)).toEqual(Array.from(weightedAverage(grads, [32, 32, 64])));
    expect(r.discarded).toEqual([0, 0, 0]);
  });

  it('median: the middle value for an odd count, the mean of the middle two for an even one, per coordinate', () => {
    // Coordinates: [3, 1, 2] -> 2; [10, -10, 0] -> 0; ties [5, 5, 1] -> 5.
    const odd = combine('median', [g(3, 10, 5), g(1, -10, 5), g(2, 0, 1)], [1, 1, 1], opts);
    expect(Array.from(odd.update)).toEqual([2, 0, 5]);
    // Left out: worker 0 twice of 3 (3 is highest; 10 is highest) and not for the tie (worker 0 keeps rank 1 of 5, 5).
    expect(odd.discarded).toEqual([2 / 3, 3 / 3, 1 / 3]);
    const even = combine('median', [g(1), g(4), g(2), g(100)], [1, 1, 1, 1], opts);
    expect(Array.from(even.update)).toEqual([3]); // (2 + 4) / 2
    expect(even.discarded).toEqual([1, 0, 0, 1]);
  });

  it('trimmed mean drops trim values at each end, per coordinate, and refuses to trim half or more', () => {
    const r = combine('trimmed-mean', [g(1), g(2), g(3), g(4), g(1000)], [1, 1, 1, 1, 1], { trim: 1, krumF: 1 });
    expect(Array.from(r.update)).toEqual([3]); // (2 + 3 + 4) / 3
    expect(r.discarded).toEqual([1, 0, 0, 0, 1]);
    expect(combine('trimmed-mean', [g(1), g(2), g(3), g(4), g(1000)], [1, 1, 1, 1, 1], { trim: 2, krumF: 1 }).update[0]).toBe(3);
    expect(() => checkCombine('trimmed-mean', 4, { trim: 2, krumF: 1 })).toThrow('--trim 2: trimmed-mean drops --trim values at each end, so it needs 1 <= trim < workers / 2 (4 workers)');
    expect(() => checkCombine('trimmed-mean', 4, { trim: 0, krumF: 1 })).toThrow('--trim 0');
  });

  it('multi-krum keeps the W - f contributions closest to their neighbours and averages them by weight', () => {
    // Four honest contributions near (1, 1), one far away: it is the one left out.
    const grads = [g(1, 1), g(1.1, 0.9), g(0.9, 1.1), g(1, 1.2), g(-50, 40)];
    const r = combine('multi-krum', grads, [1, 1, 1, 1, 1], { trim: 1, krumF: 1 });
    expect(r.discarded).toEqual([0, 0, 0, 0, 1]);
    expect(Array.from(r.update)).toEqual(Array.from(weightedAverage(grads.slice(0, 4), [1, 1, 1, 1])));
    expect(() => checkCombine('multi-krum', 4, { trim: 1, krumF: 1 })).toThrow('--krum-f 1: multi-krum needs more than 2 f + 2 workers (4 workers)');
  });
});
