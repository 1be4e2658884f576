import { describe, expect, it } from 'vitest';
import { emaSmooth, minMaxIndices } from './series';

describe('minMaxIndices', () => {
  it('keeps everything when the curve is short enough', () => {
    expect(minMaxIndices([3, 1, 2], 5)).toEqual([0, 1, 2]);
  });

  it('keeps each bucket\'s lowest and highest point, so a one-step spike survives', () => {
    const values = Array.from({ length: 1000 }, (_, i) => (i === 537 ? 9 : i === 812 ? -4 : Math.sin(i / 50)));
    const keep = minMaxIndices(values, 100);
    expect(keep.length).toBeLessThanOrEqual(100);
    expect(keep).toContain(537);
    expect(keep).toContain(812);
    expect([...keep].sort((a, b) => a - b)).toEqual(keep);
    // The extremes of the kept points are the extremes of the curve.
    const kept = keep.map((i) => values[i]!);
    expect(Math.max(...kept)).toBe(9);
    expect(Math.min(...kept)).toBe(-4);
  });

  it('skips nulls unless a bucket has nothing else', () => {
    const values = [null, null, 5, null, null, null, null, null];
    // Two buckets of four: the first keeps its one value, the second (all null) its first index.
    expect(minMaxIndices(values, 4)).toEqual([2, 4]);
  });
});

describe('emaSmooth', () => {
  it('is the identity at weight 0 and on a constant curve', () => {
    expect(emaSmooth([1, 2, 3], 0)).toEqual([1, 2, 3]);
    for (const v of emaSmooth([2, 2, 2, 2], 0.9)) expect(v).toBeCloseTo(2, 12);
  });

  it('is debiased: the first point is the first value, later points a weighted mean', () => {
    const s = emaSmooth([4, 0, null, 2], 0.5);
    expect(s[0]).toBeCloseTo(4, 12);
    // (0.5*0.5*4 + 0.5*0) / (1 - 0.25) = 1/0.75
    expect(s[1]).toBeCloseTo(1 / 0.75, 12);
    expect(s[2]).toBeNull();
    // The null is skipped: raw average 0.5*1 + 0.5*2 = 1.5 after three values, debiased by 1 - 0.5^3.
    expect(s[3]).toBeCloseTo(1.5 / 0.875, 12);
  });
});
