import { describe, expect, it } from 'vitest';
import { dataFingerprint, fingerprintDifferences, fingerprintIds } from './fingerprint';
import { loadDataset } from './load';

const synthetic = (over: Partial<{ seed: number; samples: number; features: number; numClasses: number; classes: number[] }> = {}) =>
  loadDataset({ dataset: 'synthetic', seed: 1, samples: 2000, testSamples: 100, features: 16, numClasses: 4, ...over }).train;

describe('data fingerprints', () => {
  it('are equal for two independent loads of the same description', () => {
    const a = dataFingerprint(synthetic());
    const b = dataFingerprint(synthetic());
    expect(a).toEqual(b);
    expect(a.labelsSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(fingerprintDifferences(a, b)).toEqual([]);
  });

  it('name every field that differs: size, features, classes kept, seed', () => {
    const base = dataFingerprint(synthetic());
    expect(fingerprintDifferences(base, dataFingerprint(synthetic({ samples: 2001 })))).toEqual([
      'samples 2000 here, 2001 there',
      expect.stringMatching(/^labels differ \(sha256 [0-9a-f]{12} here, [0-9a-f]{12} there\)$/),
      expect.stringMatching(/^features differ/),
    ]);
    expect(fingerprintDifferences(base, dataFingerprint(synthetic({ features: 17 })))[0]).toBe('features 16 here, 17 there');
    const subset = fingerprintDifferences(base, dataFingerprint(synthetic({ classes: [0, 1, 2] })));
    expect(subset).toContain('classes 4 here, 3 there');
    // Another seed: same sizes and (balanced, i mod C) labels, other features.
    expect(fingerprintDifferences(base, dataFingerprint(synthetic({ seed: 2 })))).toEqual([expect.stringMatching(/^features differ/)]);
  });

  it('samples ids spread over the whole set, first and last included', () => {
    expect(fingerprintIds(0)).toEqual([]);
    expect(fingerprintIds(1)).toEqual([0]);
    expect(fingerprintIds(3)).toEqual([0, 1, 2]);
    const ids = fingerprintIds(10_000_000);
    expect(ids).toHaveLength(64);
    expect(ids[0]).toBe(0);
    expect(ids.at(-1)).toBe(9_999_999);
    expect(new Set(ids).size).toBe(64);
  });
});
