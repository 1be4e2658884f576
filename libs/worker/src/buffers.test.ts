import { describe, expect, it } from 'vitest';
import { buffersContribution, buffersFromSum, combineBuffers } from './buffers';

describe('the --buffers rules', () => {
  const w0 = Float32Array.from([1.5, -2, 0.1]);
  const w1 = Float32Array.from([3, 4, 0.2]);
  const w2 = Float32Array.from([0, 1, 0.3]);

  it('broadcast gives the first worker taking part its own buffers bit for bit', () => {
    expect(Array.from(combineBuffers('broadcast', [w0, w1, w2]))).toEqual(Array.from(w0));
    // Once worker 0 is lost, the lowest survivor's.
    expect(Array.from(combineBuffers('broadcast', [w1, w2]))).toEqual(Array.from(w1));
  });

  it('average gives the mean, computed in float64 and rounded once', () => {
    const mean = combineBuffers('average', [w0, w1, w2]);
    for (let i = 0; i < 3; i++) expect(mean[i]).toBe(Math.fround((w0[i]! + w1[i]! + w2[i]!) / 3));
  });

  it('the collective side (contributions summed) and the coordinator side agree', () => {
    for (const rule of ['broadcast', 'average'] as const) {
      const sum = new Float64Array(3);
      [w0, w1, w2].forEach((b, w) => buffersContribution(rule, b, w === 0).forEach((v, i) => (sum[i]! += v)));
      expect(Array.from(buffersFromSum(rule, sum, 3))).toEqual(Array.from(combineBuffers(rule, [w0, w1, w2])));
    }
  });
});
