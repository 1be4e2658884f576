import { describe, expect, it } from 'vitest';
import { cosineSimilarity, l2Norm, maxAbsDiff, paramChecksum } from './metrics';

describe('paramChecksum', () => {
  it('is 16 hex digits and a function of the bytes only', () => {
    const a = new Float32Array([0.1, -2.5, 3e-39, 7]);
    const c = paramChecksum(a);
    expect(c).toMatch(/^[0-9a-f]{16}$/);
    expect(paramChecksum(a.slice())).toBe(c);
    // A view at an offset into a bigger buffer hashes only its own bytes.
    const big = new Float32Array(10);
    big.set(a, 3);
    expect(paramChecksum(big.subarray(3, 7))).toBe(c);
  });

  it('changes on a 1-ulp change of a single parameter', () => {
    const a = Float32Array.from({ length: 10_000 }, (_, i) => Math.sin(i) * 0.05);
    const before = paramChecksum(a);
    const b = a.slice();
    // One ulp: the adjacent float32, by stepping the bit pattern by one.
    new Uint32Array(b.buffer)[5_000]! += 1;
    expect(b[5_000]).not.toBe(a[5_000]);
    expect(Math.abs(b[5_000]! - a[5_000]!)).toBeLessThan(Math.abs(a[5_000]!) * 2 ** -22);
    expect(paramChecksum(b)).not.toBe(before);
  });

  it('distinguishes -0 from +0 (bit-identical, not numerically equal)', () => {
    expect(paramChecksum(new Float32Array([0]))).not.toBe(paramChecksum(new Float32Array([-0])));
  });

  it('matches sha256 of the little-endian float32 bytes', () => {
    // sha256 of the 4 bytes 00 00 80 3f (1.0f), computed independently:
    // printf '\x00\x00\x80\x3f' | sha256sum
    expect(paramChecksum(new Float32Array([1]))).toBe('e00e5eb9444182f3');
  });
});

describe('l2Norm / maxAbsDiff / cosineSimilarity', () => {
  it('l2Norm', () => {
    expect(l2Norm(new Float32Array([3, 4]))).toBe(5);
    expect(l2Norm(new Float32Array(0))).toBe(0);
    // No overflow although the squares exceed float32's range.
    const n = l2Norm(new Float32Array([1.8e38, 2.4e38]));
    expect(Number.isFinite(n)).toBe(true);
    expect(Math.abs(n / 3e38 - 1)).toBeLessThan(1e-7);
    // Every element counts, whatever the length's remainder mod 4 (the sum runs in four lanes), and any
    // non-finite element makes the norm non-finite (the coordinator's finiteness check relies on it).
    for (let len = 1; len <= 9; len++) {
      const v = Float32Array.from({ length: len }, (_, i) => i + 1);
      expect(l2Norm(v)).toBeCloseTo(Math.sqrt((len * (len + 1) * (2 * len + 1)) / 6), 12);
      for (let at = 0; at < len; at++) {
        for (const bad of [NaN, Infinity, -Infinity]) {
          const w = v.slice();
          w[at] = bad;
          expect(Number.isFinite(l2Norm(w)), `length ${len}, ${bad} at ${at}`).toBe(false);
        }
      }
    }
  });

  it('maxAbsDiff', () => {
    const a = new Float32Array([1, 2, 3, Infinity]);
    expect(maxAbsDiff(a, a.slice())).toBe(0);
    expect(maxAbsDiff(a, new Float32Array([1, 2.5, 2, Infinity]))).toBe(1);
    expect(maxAbsDiff(new Float32Array([0]), new Float32Array([NaN]))).toBeNaN();
    expect(maxAbsDiff(new Float32Array([NaN, 0]), new Float32Array([NaN, 5]))).toBeNaN();
    expect(maxAbsDiff(new Float32Array(0), new Float32Array(0))).toBe(0);
    expect(() => maxAbsDiff(new Float32Array(1), new Float32Array(2))).toThrow('lengths differ (1 vs 2)');
  });

  it('cosineSimilarity', () => {
    expect(cosineSimilarity(new Float32Array([1, 0]), new Float32Array([0, 2]))).toBe(0);
    expect(cosineSimilarity(new Float32Array([1, 2, 3]), new Float32Array([2, 4, 6]))).toBe(1);
    expect(cosineSimilarity(new Float32Array([1, 2, 3]), new Float32Array([-1, -2, -3]))).toBe(-1);
    expect(cosineSimilarity(new Float32Array([1, 1]), new Float32Array([1, 0]))).toBeCloseTo(Math.SQRT1_2, 12);
    expect(cosineSimilarity(new Float32Array([0, 0]), new Float32Array([1, 0]))).toBeNaN();
    expect(() => cosineSimilarity(new Float32Array(1), new Float32Array(2))).toThrow('lengths differ');
  });
});
