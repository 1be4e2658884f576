import { describe, it, expect } from 'vitest';
import { loadDataset } from './load';
import type { Dataset } from './dataset';
import { createSynthetic } from './synthetic';

const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);
const small = (seed: number) => createSynthetic({ seed, samples: 2000, testSamples: 500, features: 784, numClasses: 4 });

describe('synthetic dataset', () => {
  it('has the requested shape and exactly balanced labels (i mod C)', () => {
    const { train, test } = small(1);
    expect(train.size).toBe(2000);
    expect(test.size).toBe(500);
    expect(train.numFeatures).toBe(784);
    expect(train.numClasses).toBe(4);
    expect(train.classNames).toHaveLength(4);
    expect(Array.from(train.labels.subarray(0, 6))).toEqual([0, 1, 2, 3, 0, 1]);
    expect(train.features([0, 1])).toHaveLength(2 * 784);
  });

  it('is a pure function of (seed, split, i)', () => {
    const a = small(1).train;
    const b = small(1).train;
    expect(b.features([3, 17, 1999])).toEqual(a.features([3, 17, 1999]));
    // A sample's row does not depend on which other ids are requested with it.
    expect(a.features([17])).toEqual(a.features([3, 17]).subarray(784));
  });

  it('kept rows are the generated rows, bit for bit, whatever was asked before', () => {
    const opts = { seed: 5, samples: 300, testSamples: 10, features: 33, numClasses: 3 };
    const kept = createSynthetic(opts).train;
    const fresh = createSynthetic({ ...opts, cacheBytes: 0 }).train;
    const bits = (f: Float32Array) => Array.from(new Uint32Array(f.buffer));
    // First touch, second touch, a mix of both, repeats within one batch.
    for (const ids of [[7, 3, 299], [3, 7], [0, 7, 7, 150, 3], range(300).reverse()]) {
      expect(bits(kept.features(ids))).toEqual(bits(fresh.features(ids)));
    }
    // A kept row is copied out, never shared: writing into a batch leaves later batches alone.
    const batch = kept.features([7]);
    batch.fill(0);
    expect(bits(kept.features([7]))).toEqual(bits(fresh.features([7])));
  });

  it('different seeds give different data', () => {
    const a = small(1).train.features([0, 1]);
    const b = small(2).train.features([0, 1]);
    expect(b).not.toEqual(a);
  });

  it('train and test are different streams of the same task', () => {
    const { train, test } = small(1);
    const tr = train.features(range(200));
    const te = test.features(range(200));
    expect(te).not.toEqual(tr);
    // Same task: class means estimated on each split point the same way.
    const mTrain = classMeans(train, range(2000));
    const mTest = classMeans(test, range(500));
    for (let c = 0; c < 4; c++) expect(cosine(mTrain[c], mTest[c])).toBeGreaterThan(0.5);
    expect(cosine(mTrain[0], mTest[1])).toBeLessThan(0.5);
  });

  it('features look like standardised pixels: mean ~0, variance ~1, finite', () => {
    const f = small(3).train.features(range(500));
    let sum = 0;
    let sum2 = 0;
    for (const v of f) {
      sum += v;
      sum2 += v * v;
    }
    expect(f.every(Number.isFinite)).toBe(true);
    const mean = sum / f.length;
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(sum2 / f.length - mean * mean).toBeGreaterThan(0.9);
    expect(sum2 / f.length - mean * mean).toBeLessThan(1.1);
  });

  it('is a realistic, not trivial task: nearest-class-mean accuracy between 75% and 95%', () => {
    const { train, test } = createSynthetic({ seed: 11, samples: 8000, testSamples: 2000, features: 784, numClasses: 4 });
    const means = classMeans(train, range(8000));
    const ids = range(2000);
    const x = test.features(ids);
    let correct = 0;
    for (let r = 0; r < ids.length; r++) {
      let best = -1;
      let bestDist = Infinity;
      for (let c = 0; c < 4; c++) {
        let dist = 0;
        for (let j = 0; j < 784; j++) dist += (x[r * 784 + j] - means[c][j]) ** 2;
        if (dist < bestDist) [best, bestDist] = [c, dist];
      }
      if (best === test.labels[ids[r]]) correct++;
    }
    const accuracy = correct / ids.length;
    expect(accuracy).toBeGreaterThan(0.75);
    expect(accuracy).toBeLessThan(0.95);
  });

  it('supports odd feature counts and other class counts', () => {
    const { train } = createSynthetic({ seed: 1, samples: 10, testSamples: 10, features: 5, numClasses: 3 });
    const f = train.features([0, 9]);
    expect(f).toHaveLength(10);
    for (const v of f) expect(Number.isFinite(v)).toBe(true);
    expect(train.labels[9]).toBe(0);
  });

  // How fast it loads and how fast a batch is generated are in `npm run bench` (section "data").
  it('N = 10^7 loads and serves any sample', () => {
    const { train } = loadDataset({ dataset: 'synthetic', seed: 42, samples: 10_000_000 });
    expect(train.size).toBe(10_000_000);
    expect(train.labels).toHaveLength(10_000_000);
    const f = train.features([0, 5_000_000, 9_999_999]);
    expect(f).toHaveLength(3 * 784);
    expect(f.every(Number.isFinite)).toBe(true);
    expect(train.labels[9_999_999]).toBe(9_999_999 % 4);
  });

  it('rejects ids outside the split', () => {
    const { train } = small(1);
    expect(() => train.features([2000])).toThrow(RangeError);
    expect(() => train.features([-1])).toThrow(RangeError);
  });
});

function classMeans(ds: Dataset, ids: number[]): Float64Array[] {
  const d = ds.numFeatures;
  const means = Array.from({ length: ds.numClasses }, () => new Float64Array(d));
  const counts = new Array<number>(ds.numClasses).fill(0);
  const x = ds.features(ids);
  ids.forEach((id, r) => {
    const c = ds.labels[id];
    counts[c]++;
    for (let j = 0; j < d; j++) means[c][j] += x[r * d + j];
  });
  means.forEach((m, c) => m.forEach((v, j) => (m[j] = v / counts[c])));
  return means;
}

function cosine(a: Float64Array, b: Float64Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let j = 0; j < a.length; j++) {
    ab += a[j] * b[j];
    aa += a[j] * a[j];
    bb += b[j] * b[j];
  }
  return ab / Math.sqrt(aa * bb);
}
