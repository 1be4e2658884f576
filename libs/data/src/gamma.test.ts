import { describe, it, expect } from 'vitest';
import { sampleDirichlet, sampleGamma, sampleStandardNormal } from './gamma';
import { SplitMix32 } from './prng';

function moments(draw: () => number, n: number): { mean: number; variance: number } {
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < n; i++) {
    const x = draw();
    sum += x;
    sumSq += x * x;
  }
  const mean = sum / n;
  return { mean, variance: sumSq / n - mean * mean };
}

describe('gamma', () => {
  it('standard normal has mean 0 and variance 1', () => {
    const rng = new SplitMix32(1);
    const { mean, variance } = moments(() => sampleStandardNormal(rng), 50_000);
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(variance - 1)).toBeLessThan(0.03);
  });

  it.each([0.1, 0.5, 1, 2.5, 30, 1000])('Gamma(%f) has mean and variance = shape', (shape) => {
    const rng = new SplitMix32(42);
    const { mean, variance } = moments(() => sampleGamma(rng, shape), 40_000);
    expect(Math.abs(mean - shape) / shape).toBeLessThan(0.03);
    expect(Math.abs(variance - shape) / shape).toBeLessThan(0.1);
  });

  it('Gamma rejects shapes that are not finite and > 0', () => {
    const rng = new SplitMix32(1);
    for (const bad of [0, -1, NaN, Infinity]) expect(() => sampleGamma(rng, bad)).toThrow(RangeError);
  });

  it('Dirichlet draws sum to 1, have mean 1/n and the Dir variance', () => {
    const rng = new SplitMix32(3);
    const n = 5;
    const alpha = 0.5;
    const first: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const p = sampleDirichlet(rng, alpha, n);
      expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      first.push(p[0]);
    }
    const mean = first.reduce((a, b) => a + b, 0) / first.length;
    const variance = first.reduce((a, x) => a + (x - mean) ** 2, 0) / first.length;
    // Var of a Dir(alpha 1_n) coordinate: (1/n)(1 - 1/n) / (n alpha + 1).
    expect(Math.abs(mean - 1 / n)).toBeLessThan(0.01);
    expect(Math.abs(variance - (0.2 * 0.8) / (n * alpha + 1)) / variance).toBeLessThan(0.05);
  });

  it('tiny alpha stays finite (log-space): one coordinate takes almost everything', () => {
    const rng = new SplitMix32(9);
    let meanMax = 0;
    for (let i = 0; i < 200; i++) {
      const p = sampleDirichlet(rng, 0.001, 10);
      for (const x of p) expect(Number.isFinite(x)).toBe(true);
      meanMax += Math.max(...p) / 200;
    }
    expect(meanMax).toBeGreaterThan(0.97); // E[max] ~ 0.99 for Dir(0.001) over 10
  });

  it('is deterministic per seed', () => {
    expect(sampleDirichlet(new SplitMix32(5), 0.5, 8)).toEqual(sampleDirichlet(new SplitMix32(5), 0.5, 8));
    expect(sampleDirichlet(new SplitMix32(6), 0.5, 8)).not.toEqual(sampleDirichlet(new SplitMix32(5), 0.5, 8));
  });
});
