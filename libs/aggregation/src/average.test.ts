import { describe, expect, it } from 'vitest';
import { weightedAverage } from './average';

const f32 = (xs: number[]): Float32Array => new Float32Array(xs);

function bits(v: Float32Array): number[] {
  return [...new Uint32Array(v.buffer, v.byteOffset, v.length)];
}

function randomGrads(k: number, n: number, seed: number): Float32Array[] {
  let s = seed >>> 0;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
  return Array.from({ length: k }, () => Float32Array.from({ length: n }, () => next() * 10 ** Math.floor(next() * 8)));
}

describe('weightedAverage', () => {
  it('equals the hand computation', () => {
    // (3*[1, 2, -4] + 1*[5, -2, 8]) / 4 = [8, 4, -4] / 4 = [2, 1, -1]
    expect([...weightedAverage([f32([1, 2, -4]), f32([5, -2, 8])], [3, 1])]).toEqual([2, 1, -1]);
  });

  it('with equal weights is the plain mean', () => {
    const grads = [f32([1, 10]), f32([2, 20]), f32([6, 60])];
    expect([...weightedAverage(grads, [7, 7, 7])]).toEqual([3, 30]);
    expect([...weightedAverage(grads, [1, 1, 1])]).toEqual([3, 30]);
  });

  it('weights matter: unequal sample counts pull the average toward the bigger batch', () => {
    const a = f32([0]);
    const b = f32([1]);
    expect(weightedAverage([a, b], [1, 1])[0]).toBe(0.5);
    // 96 samples of a, 32 of b: 32/128 = 0.25, not the unweighted 0.5.
    expect(weightedAverage([a, b], [96, 32])[0]).toBe(0.25);
    // A worker with 0 samples contributes nothing.
    expect(weightedAverage([a, b], [0, 5])[0]).toBe(1);
  });

  it('accumulates in float64 and rounds once', () => {
    // In float32, 2^24 + 1 + ... would lose the 1s; float64 keeps them until the final rounding.
    const big = 2 ** 24;
    const r = weightedAverage([f32([big]), f32([1]), f32([1]), f32([-big])], [1, 1, 1, 1]);
    expect(r[0]).toBe(0.5);
    // The result is the float32 rounding of the exact average.
    const grads = randomGrads(5, 200, 3);
    const w = [32, 17, 64, 1, 9];
    const out = weightedAverage(grads, w);
    for (let j = 0; j < 200; j++) {
      let acc = 0;
      for (let i = 0; i < 5; i++) acc += w[i]! * grads[i]![j]!;
      expect(out[j]).toBe(Math.fround(acc / 123));
    }
  });

  it('is deterministic: same inputs in the same order give the same bits', () => {
    const grads = randomGrads(4, 5000, 42);
    const w = [128, 96, 128, 3];
    const first = bits(weightedAverage(grads, w));
    for (let rep = 0; rep < 3; rep++) {
      const copies = grads.map((g) => g.slice());
      expect(bits(weightedAverage(copies, w))).toEqual(first);
    }
  });

  it('fixes the order because float addition is not associative', () => {
    // Why "in the given (worker) order" is part of the contract: with catastrophic
    // cancellation the order decides the result, even in float64.
    const huge = 2 ** 60;
    const inOrder = weightedAverage([f32([huge]), f32([1]), f32([-huge])], [1, 1, 1]);
    const reordered = weightedAverage([f32([huge]), f32([-huge]), f32([1])], [1, 1, 1]);
    expect(inOrder[0]).toBe(0);
    expect(reordered[0]).toBe(Math.fround(1 / 3));
  });

  it('writes into out, which may alias an input', () => {
    const a = f32([2, 4]);
    const b = f32([4, 8]);
    const out = new Float32Array(2);
    expect(weightedAverage([a, b], [1, 1], out)).toBe(out);
    expect([...out]).toEqual([3, 6]);
    expect(weightedAverage([a, b], [1, 3], a)).toBe(a);
    expect([...a]).toEqual([3.5, 7]);
  });

  it('gives the bits of the plain element-major loop for every worker count (1-4 take an unrolled path), -0 and extremes included', () => {
    const reference = (grads: Float32Array[], weights: number[]) => {
      const total = weights.reduce((a, b) => a + b, 0);
      return Float32Array.from(grads[0]!, (_, j) => {
        let acc = 0;
        for (let i = 0; i < grads.length; i++) acc += weights[i]! * grads[i]![j]!;
        return acc / total;
      });
    };
    let seed = 7;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const special = [-0, 0, 3.4e38, -3.4e38, 1e-45, -1e-45, 1.17549435e-38];
    for (let k = 1; k <= 6; k++) {
      // Powers of two, so that the cancelling terms below are exact products.
      const weights = Array.from({ length: k }, (_, i) => [2, 1, 4, 1, 8, 2][i]!);
      // Magnitudes 40 decades apart, so float64 sums of these products are rounded and their order shows.
      const grads = Array.from({ length: k }, (_, i) =>
        Float32Array.from({ length: 500 }, (_, j) => (j < 50 ? special[(j + i) % special.length]! : (rand() - 0.5) * 10 ** Math.floor(rand() * 40 - 20))),
      );
      // Terms that cancel (+1e20, -1e20, 1, ...), whose sum depends on the order it is taken in.
      const cancelling = [1e20, -1e20, 1, -1e20, 1e20, 3];
      for (let j = 50; j < 60; j++) grads.forEach((g, i) => (g[j] = cancelling[(i + j) % cancelling.length]! / weights[i]!));
      // An element that is -0 in every gradient: the average is +0, as 0 + (-0) is.
      for (const g of grads) g[499] = -0;
      const got = weightedAverage(grads, weights);
      const want = reference(grads, weights);
      for (let j = 0; j < want.length; j++) expect(Object.is(got[j], want[j]), `k=${k} element ${j}: ${got[j]} vs ${want[j]}`).toBe(true);
      expect(Object.is(got[499], 0)).toBe(true);
    }
  });

  it('rejects bad input', () => {
    const g = f32([1, 2]);
    expect(() => weightedAverage([], [])).toThrow('no gradients');
    expect(() => weightedAverage([g, g], [1])).toThrow('2 gradients but 1 weights');
    expect(() => weightedAverage([g, f32([1, 2, 3])], [1, 1])).toThrow('gradient 1 has 3 values, gradient 0 has 2');
    expect(() => weightedAverage([g], [0])).toThrow('total weight is 0');
    expect(() => weightedAverage([g, g], [0, 0])).toThrow('total weight is 0');
    expect(() => weightedAverage([g, g], [-1, 2])).toThrow('weight 0 is -1');
    expect(() => weightedAverage([g], [NaN])).toThrow('weight 0 is NaN');
    expect(() => weightedAverage([g], [Infinity])).toThrow('weight 0 is Infinity');
    expect(() => weightedAverage([g], [1], new Float32Array(3))).toThrow('out has 3 values');
  });
});
