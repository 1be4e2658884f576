import * as tf from '@tensorflow/tfjs';
import { describe, it, expect, beforeAll } from 'vitest';
import { initBackend } from './backend';
import { conv2dSameInputGrad, registerWasmKernels } from './conv-grad';
import { mulberry32 } from './spec';

type Pad = tf.Conv2DBackpropFilterAttrs['pad'];

interface Case {
  label: string;
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: Pad;
}

const cases: Case[] = [
  { label: '3x3, stride 1, same, 3 -> 4 channels', x: [2, 9, 9, 3], filter: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { label: '3x3, stride 1, valid', x: [2, 9, 9, 3], filter: [3, 3, 3, 4], strides: 1, pad: 'valid' },
  { label: '4x3 (even, asymmetric padding), stride 2, same', x: [3, 11, 10, 2], filter: [4, 3, 2, 5], strides: 2, pad: 'same' },
  { label: '3x3, stride 2, valid (last input row unused)', x: [3, 10, 10, 2], filter: [3, 3, 2, 5], strides: 2, pad: 'valid' },
  { label: '5x4, strides [2, 3], same', x: [2, 10, 13, 4], filter: [5, 4, 4, 3], strides: [2, 3], pad: 'same' },
  { label: '3x3, stride 2, numeric padding 1', x: [2, 8, 7, 3], filter: [3, 3, 3, 2], strides: 2, pad: 1 },
  {
    label: '3x2, stride 1, explicit padding',
    x: [2, 6, 7, 2],
    filter: [3, 2, 2, 3],
    strides: 1,
    pad: [[0, 0], [1, 2], [0, 1], [0, 0]],
  },
  { label: 'CNN stage 1: [16,28,28,1] * 5x5x1x8 same', x: [16, 28, 28, 1], filter: [5, 5, 1, 8], strides: 1, pad: 'same' },
  { label: 'CNN stage 2: [16,14,14,8] * 5x5x8x16 same', x: [16, 14, 14, 8], filter: [5, 5, 8, 16], strides: 1, pad: 'same' },
];

function uniform(length: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  return Float32Array.from({ length }, () => 2 * rand() - 1);
}

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

function filterGradKernel(x: tf.Tensor4D, dy: tf.Tensor4D, c: Case): Float32Array {
  const out = tf.engine().runKernel(
    tf.Conv2DBackpropFilter,
    { x, dy },
    { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.filter },
  ) as tf.Tensor;
  try {
    return out.dataSync() as Float32Array;
  } finally {
    out.dispose();
  }
}

/**
 * Tolerance. Every entry of dW is a float32 sum of K = N * OH * OW products x * dy (up to 12544 here), which the
 * two implementations add in different orders (XNNPACK blocks the sum over SIMD lanes, the cpu kernel runs it
 * sequentially). Scale: B = sum |x| |dy| over the same terms (computed exactly enough as dW of |x| and |dy|).
 * The worst-case bound K * 2^-24 * B is useless (7e-4 B); the realistic one: for mixed-sign terms the partial
 * sums grow like sqrt(k) |t|, each addition rounds by at most 2^-24 of its partial sum, and those errors are
 * independent, so the total is ~ 2^-24 |t| sqrt(sum_k k) ~ 2^-24 B / sqrt(2) ~ 4e-8 B per implementation.
 * Observed: 0.5e-7 .. 2e-7 B. We allow 2e-6 B (10x margin); any indexing, padding or stride bug is O(B).
 */
const RELATIVE_TO_ABS_SUM = 2e-6;

describe('Conv2DBackpropFilter on wasm', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('is registered once by initBackend and leaves other kernels alone', () => {
    expect(tf.getKernel(tf.Conv2DBackpropFilter, 'wasm')).toBeDefined();
    const kernelsBefore = tf.getKernelsForBackend('wasm').length;
    expect(registerWasmKernels()).toEqual([tf.Conv2DBackpropFilter]);
    expect(registerWasmKernels()).toEqual([tf.Conv2DBackpropFilter]);
    expect(tf.getKernelsForBackend('wasm').length).toBe(kernelsBefore);
    // The other kernels a CNN backward pass needs ship with tfjs-backend-wasm 4.22.
    for (const name of [tf.Conv2DBackpropInput, tf.MaxPoolGrad, tf.AvgPoolGrad, tf.Conv2D, tf.FusedConv2D]) {
      expect(tf.getKernel(name, 'wasm'), name).toBeDefined();
    }
  });

  for (const c of cases) {
    it(`matches the cpu kernel: ${c.label}`, async () => {
      const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad);
      const xValues = uniform(size(c.x), 1);
      const dyValues = uniform(size(info.outShape), 2);
      const terms = info.batchSize * info.outHeight * info.outWidth;

      await initBackend('cpu');
      const x = tf.tensor4d(xValues, c.x);
      const dy = tf.tensor4d(dyValues, info.outShape);
      const absX = tf.abs(x);
      const absDy = tf.abs(dy);
      const expected = filterGradKernel(x, dy, c);
      const bound = filterGradKernel(absX, absDy, c);
      tf.dispose([absX, absDy]);

      await initBackend('wasm');
      const before = tf.memory().numTensors;
      const actual = filterGradKernel(x, dy, c);
      expect(tf.memory().numTensors).toBe(before);
      // The same gradient as tf autodiff computes it (the path tf.layers training takes).
      const viaAutodiff = tf.tidy(() => {
        const filter = tf.zeros(c.filter) as tf.Tensor4D;
        return tf.grad((f) => tf.sum(tf.mul(tf.conv2d(x, f as tf.Tensor4D, c.strides, c.pad), dy)))(filter);
      });
      const autodiff = viaAutodiff.dataSync();
      tf.dispose([x, dy, viaAutodiff]);

      expect(actual.length).toBe(size(c.filter));
      let worst = 0;
      let maxAbs = 0;
      for (let i = 0; i < expected.length; i++) {
        maxAbs = Math.max(maxAbs, Math.abs(expected[i]!));
        const b = Math.max(bound[i]!, 1e-30);
        worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!) / b, Math.abs(autodiff[i]! - expected[i]!) / b);
      }
      expect(terms).toBeGreaterThan(0);
      expect(maxAbs).toBeGreaterThan(0.5);
      expect(worst).toBeLessThan(RELATIVE_TO_ABS_SUM);
    });
  }

  it('conv2dSameInputGrad matches the cpu Conv2DBackpropInput (odd and even kernels)', async () => {
    for (const [x, filter] of [
      [[3, 14, 14, 8], [5, 5, 8, 16]],
      [[2, 9, 7, 3], [4, 4, 3, 2]],
      [[2, 6, 5, 2], [1, 3, 2, 3]],
    ] as [number, number, number, number][][]) {
      const dyShape: [number, number, number, number] = [x[0]!, x[1]!, x[2]!, filter[3]!];
      const dyValues = uniform(size(dyShape), 3);
      const fValues = uniform(size(filter), 4);
      await initBackend('cpu');
      const cpuOut = tf.tidy(() =>
        tf.conv2dTranspose(tf.tensor4d(dyValues, dyShape), tf.tensor4d(fValues, filter), x as [number, number, number, number], 1, 'same'),
      );
      const expected = cpuOut.dataSync();
      const boundT = tf.tidy(() =>
        tf.conv2dTranspose(tf.abs(tf.tensor4d(dyValues, dyShape)), tf.abs(tf.tensor4d(fValues, filter)), x as [number, number, number, number], 1, 'same'),
      );
      const bound = boundT.dataSync();
      tf.dispose([cpuOut, boundT]);
      await initBackend('wasm');
      const out = tf.tidy(() => conv2dSameInputGrad(tf.tensor4d(dyValues, dyShape), tf.tensor4d(fValues, filter)));
      expect(out.shape).toEqual(x);
      const actual = out.dataSync();
      out.dispose();
      // Sums of at most k*k*F = 400 terms: the same argument and tolerance as above.
      for (let i = 0; i < expected.length; i++) {
        expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThanOrEqual(RELATIVE_TO_ABS_SUM * bound[i]! + 1e-30);
      }
    }
  });
});
