import { describe, it, expect } from 'vitest';
import { deriveSeed, mix32, permutation, SplitMix32 } from './prng';

describe('prng', () => {
  it('mix32 is deterministic and spreads nearby inputs', () => {
    expect(mix32(1)).toBe(mix32(1));
    expect(mix32(1)).not.toBe(mix32(2));
    expect(mix32(0)).toBe(0); // a bijection fixing 0: callers always offset their counters
  });

  it('deriveSeed depends on the order and size of its coordinates', () => {
    expect(deriveSeed(1, 2, 3)).toBe(deriveSeed(1, 2, 3));
    expect(deriveSeed(1, 2, 3)).not.toBe(deriveSeed(1, 3, 2));
    expect(deriveSeed(1)).not.toBe(deriveSeed(1 + 2 ** 32));
    expect(deriveSeed(-1)).not.toBe(deriveSeed(1));
  });

  it('nextFloat is in [0, 1) with mean ~0.5', () => {
    const rng = new SplitMix32(7);
    let sum = 0;
    for (let i = 0; i < 10_000; i++) {
      const u = rng.nextFloat();
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
      sum += u;
    }
    expect(sum / 10_000).toBeCloseTo(0.5, 1);
  });

  it('permutation is a seeded permutation', () => {
    const p = permutation(1000, 5);
    expect(Array.from(p).sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(permutation(1000, 5)).toEqual(p);
    expect(permutation(1000, 6)).not.toEqual(p);
  });
});
