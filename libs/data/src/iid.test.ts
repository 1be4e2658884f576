import { describe, it, expect } from 'vitest';
import { IidStrategy } from './iid';

const sortedLabels = (sizes: number[]) => Uint8Array.from(sizes.flatMap((n, c) => Array<number>(n).fill(c)));
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** All ids handed out, in global-batch order, for `steps` steps. */
function stream(s: IidStrategy, workers: number, steps: number): number[] {
  const ids: number[] = [];
  for (let t = 0; t < steps; t++) for (let w = 0; w < workers; w++) ids.push(...s.batch(t, w));
  return ids;
}

describe('iid', () => {
  const labels = sortedLabels([2500, 2500, 2500, 2500]);

  it('covers every sample exactly once per epoch, epoch after epoch', () => {
    // N = 1003 is not a multiple of W*B = 100, so batches straddle epoch boundaries.
    const s = new IidStrategy({ labels: sortedLabels([500, 503]), numClasses: 2, workers: 2, batchSize: 50, seed: 1 });
    const ids = stream(s, 2, 31);
    for (let e = 0; e < 3; e++) expect(ids.slice(e * 1003, (e + 1) * 1003).sort((a, b) => a - b)).toEqual(range(1003));
    // A fresh permutation every epoch.
    expect(ids.slice(1003, 2006)).not.toEqual(ids.slice(0, 1003));
  });

  it('global batch g = step * W + worker reads positions [gB, (g+1)B) of the stream', () => {
    const a = new IidStrategy({ labels, numClasses: 4, workers: 4, batchSize: 16, seed: 3 });
    const b = new IidStrategy({ labels, numClasses: 4, workers: 1, batchSize: 16, seed: 3 });
    for (let t = 0; t < 30; t++) for (let w = 0; w < 4; w++) expect(a.batch(t, w)).toEqual(b.batch(t * 4 + w, 0));
  });

  it('is a true shuffle: a batch of label-sorted data mirrors the global label mix', () => {
    const s = new IidStrategy({ labels, numClasses: 4, workers: 1, batchSize: 128, seed: 7 });
    const batch = s.batch(0, 0);
    const counts = [0, 0, 0, 0];
    for (const id of batch) counts[labels[id]]++;
    for (const n of counts) {
      expect(n).toBeGreaterThan(16); // expected 32 each; contiguous slicing would give [128, 0, 0, 0]
      expect(n).toBeLessThan(48);
    }
    let adjacent = 0;
    for (let i = 1; i < batch.length; i++) if (Math.abs(batch[i] - batch[i - 1]) === 1) adjacent++;
    expect(adjacent).toBeLessThan(5);
  });

  it('is deterministic per seed; different seeds differ', () => {
    const make = (seed: number) => new IidStrategy({ labels, numClasses: 4, workers: 2, batchSize: 32, seed });
    expect(make(1).batch(5, 1)).toEqual(make(1).batch(5, 1));
    expect(make(2).batch(5, 1)).not.toEqual(make(1).batch(5, 1));
  });

  // That a batch far into the run costs O(batch), not O(step), is timed in `npm run bench` (section "data").
  it('a batch far into the run is a permutation slice of its epoch', () => {
    const big = new Uint8Array(1_000_000).map((_, i) => i % 10);
    const s = new IidStrategy({ labels: big, numClasses: 10, workers: 4, batchSize: 128, seed: 1 });
    const seen = new Set<number>();
    for (let w = 0; w < 4; w++) for (const id of s.batch(100_000, w)) seen.add(id);
    expect(seen.size).toBe(4 * 128); // no id twice within one step
    for (const id of seen) expect(id).toBeLessThan(1_000_000);
  });
});
