import * as tf from '@tensorflow/tfjs';
import { describe, it, expect, beforeAll } from 'vitest';
import { initBackend } from './backend';
import { testBackends } from './testing/native';
import { Mlp } from './mlp';
import { autodiffGradient } from './reference';
import { initParams, mulberry32, paramShapes, type ModelSpec } from './spec';

/** Seeded inputs in [0, 1) and labels, so failures are reproducible. */
function randomBatch(spec: ModelSpec, n: number, seed: number): { features: Float32Array; labels: Int32Array } {
  const rand = mulberry32(seed);
  return {
    features: Float32Array.from({ length: n * spec.inputSize }, () => rand()),
    labels: Int32Array.from({ length: n }, () => Math.floor(rand() * spec.classes)),
  };
}

/** initParams with non-zero biases, so the bias path of forward and backward is actually exercised. */
function paramsWithBiases(spec: ModelSpec): Float32Array {
  const params = initParams(spec);
  const rand = mulberry32(spec.initSeed + 1000);
  let offset = 0;
  for (const { name, shape } of paramShapes(spec)) {
    const size = shape.reduce((a, b) => a * b, 1);
    if (name.endsWith('/bias')) for (let i = 0; i < size; i++) params[offset + i] = (rand() - 0.5) * 0.2;
    offset += size;
  }
  return params;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/**
 * Tolerance for manual vs autodiff gradients. Both evaluate the same float32 formulas; they differ
 * only in the order of additions (transpose-then-matMul vs transposed matMul, fused bias add,
 * reduction order in sums). Each gradient entry is a sum of at most a few hundred float32 products
 * (batch <= 128, widths <= 128), whose rounding error is about sqrt(k) * eps * |sum of |terms||
 * ~ 20 * 6e-8 * 1 ~ 1e-6 for gradients of order 1e-2..1. 1e-5 absolute leaves a 10x margin (observed:
 * ~1e-7), while every real bug (wrong transpose, missing ReLU mask, missing 1/n, off-by-one layer)
 * produces errors of the size of the gradient itself, >= 1e-3; the test asserts that scale too.
 */
const GRADIENT_TOLERANCE = 1e-5;
/** Loss is one mean of float32 terms of order 1: relative float32 rounding, with margin. */
const LOSS_TOLERANCE = 1e-5;

const specs: { label: string; spec: ModelSpec; n: number }[] = [
  { label: '784-128-64-4, batch 64', spec: { kind: 'mlp', inputSize: 784, hidden: [128, 64], classes: 4, initSeed: 3 }, n: 64 },
  { label: '20-16-3, batch 33', spec: { kind: 'mlp', inputSize: 20, hidden: [16], classes: 3, initSeed: 4 }, n: 33 },
  { label: '10-5 softmax regression, batch 7', spec: { kind: 'mlp', inputSize: 10, hidden: [], classes: 5, initSeed: 5 }, n: 7 },
  { label: 'single sample', spec: { kind: 'mlp', inputSize: 6, hidden: [4, 4], classes: 2, initSeed: 6 }, n: 1 },
];

for (const backend of testBackends()) {
  describe(`Mlp on ${backend}`, () => {
    beforeAll(async () => {
      expect(await initBackend(backend)).toBe(backend);
    });

    for (const { label, spec, n } of specs) {
      it(`gradient matches tf autodiff (${label})`, () => {
        expect(tf.getBackend()).toBe(backend);
        const params = paramsWithBiases(spec);
        const { features, labels } = randomBatch(spec, n, spec.initSeed * 17);
        const mlp = new Mlp(spec);
        try {
          mlp.setParams(params);
          const manual = mlp.gradient(features, labels, n);
          const reference = autodiffGradient(spec, params, features, labels, n);
          expect(manual.gradient.length).toBe(mlp.size);
          expect(Math.abs(manual.loss - reference.loss)).toBeLessThan(LOSS_TOLERANCE * Math.max(1, reference.loss));
          // The tolerance is only meaningful if the gradient is well above it.
          expect(maxAbs(reference.gradient)).toBeGreaterThan(1e-2);
          expect(maxAbsDiff(manual.gradient, reference.gradient)).toBeLessThan(GRADIENT_TOLERANCE);
          // evaluate runs the same forward pass in chunks and must report the same mean loss.
          expect(Math.abs(mlp.evaluate(features, labels, n).loss - reference.loss)).toBeLessThan(
            LOSS_TOLERANCE * Math.max(1, reference.loss),
          );
        } finally {
          mlp.dispose();
        }
      });
    }

    it('does not leak tensors across gradient, evaluate, predict and setParams calls', () => {
      const spec: ModelSpec = { kind: 'mlp', inputSize: 30, hidden: [16, 8], classes: 4, initSeed: 9 };
      const { features, labels } = randomBatch(spec, 50, 1);
      const mlp = new Mlp(spec);
      try {
        mlp.gradient(features, labels, 50); // first call may create one-off tensors
        const before = tf.memory().numTensors;
        for (let i = 0; i < 20; i++) mlp.gradient(features, labels, 50);
        expect(tf.memory().numTensors).toBe(before);
        for (let i = 0; i < 3; i++) {
          mlp.setParams(initParams({ ...spec, initSeed: i }));
          mlp.evaluate(features, labels, 50);
          mlp.predictLogits(features, 50);
          mlp.getParams();
        }
        expect(tf.memory().numTensors).toBe(before);
      } finally {
        mlp.dispose();
      }
    });

    it('dispose frees the parameter tensors and makes the instance unusable', () => {
      const before = tf.memory().numTensors;
      const mlp = new Mlp({ kind: 'mlp', inputSize: 4, hidden: [3], classes: 2, initSeed: 1 });
      expect(tf.memory().numTensors).toBe(before + 4);
      mlp.dispose();
      expect(tf.memory().numTensors).toBe(before);
      expect(() => mlp.gradient(new Float32Array(4), [0], 1)).toThrow(/disposed/);
    });

    it('copies the array given to setParams', () => {
      const spec: ModelSpec = { kind: 'mlp', inputSize: 3, hidden: [2], classes: 2, initSeed: 2 };
      const mlp = new Mlp(spec);
      try {
        const params = initParams(spec);
        mlp.setParams(params);
        params.fill(123);
        expect(Array.from(mlp.getParams())).toEqual(Array.from(initParams(spec)));
      } finally {
        mlp.dispose();
      }
    });

    it('validates its inputs', () => {
      const mlp = new Mlp({ kind: 'mlp', inputSize: 2, hidden: [], classes: 3, initSeed: 1 });
      try {
        expect(() => mlp.setParams(new Float32Array(5))).toThrow(/expected 9/);
        expect(() => mlp.gradient(new Float32Array(3), [0, 1], 2)).toThrow(/features/);
        expect(() => mlp.gradient(new Float32Array(4), [0], 2)).toThrow(/labels/);
        expect(() => mlp.gradient(new Float32Array(4), [0, 3], 2)).toThrow(/class index/);
        expect(() => mlp.gradient(new Float32Array(0), [], 0)).toThrow(/empty/);
      } finally {
        mlp.dispose();
      }
    });

    it('100 plain SGD steps substantially reduce the loss on a separable problem', () => {
      // Three well-separated 2-D blobs, full-batch gradient descent done in JS like the trainers do.
      const spec: ModelSpec = { kind: 'mlp', inputSize: 2, hidden: [8], classes: 3, initSeed: 11 };
      const centers = [[2, 0], [-1, 1.7], [-1, -1.7]] as const;
      const rand = mulberry32(99);
      const n = 90;
      const features = new Float32Array(n * 2);
      const labels = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const c = i % 3;
        labels[i] = c;
        features[2 * i] = centers[c]![0] + (rand() - 0.5) * 0.8;
        features[2 * i + 1] = centers[c]![1] + (rand() - 0.5) * 0.8;
      }
      const mlp = new Mlp(spec);
      try {
        const params = initParams(spec);
        const lr = 0.5;
        let first = NaN;
        let last = NaN;
        for (let step = 0; step < 100; step++) {
          mlp.setParams(params);
          const { loss, gradient } = mlp.gradient(features, labels, n);
          if (step === 0) first = loss;
          last = loss;
          for (let i = 0; i < params.length; i++) params[i]! -= lr * gradient[i]!;
        }
        mlp.setParams(params);
        const final = mlp.evaluate(features, labels, n);
        expect(first).toBeGreaterThan(0.5);
        expect(last).toBeLessThan(first * 0.2);
        expect(final.loss).toBeLessThan(first * 0.2);
        expect(final.accuracy).toBe(1);
      } finally {
        mlp.dispose();
      }
    });

    describe('evaluate', () => {
      // With no hidden layer, an identity kernel and zero bias the logits are the features, so the
      // prediction is simply the index of the largest feature.
      const spec: ModelSpec = { kind: 'mlp', inputSize: 4, hidden: [], classes: 4, initSeed: 1 };
      const identity = new Float32Array(20);
      for (let c = 0; c < 4; c++) identity[c * 4 + c] = 1;
      // [features (argmax = prediction), label]; class 3 never occurs as a label.
      const rows: [number[], number][] = [
        [[3, 0, 0, 0], 0], // correct
        [[2, 1, 0, 0], 0], // correct
        [[0, 0, 2, 0], 0], // predicted 2
        [[0, 4, 0, 0], 1], // correct
        [[0, 0, 0, 1], 1], // predicted 3
        [[0, 0, 5, 0], 2], // correct
      ];

      function expectedLoss(): number {
        let total = 0;
        for (const [x, y] of rows) {
          const max = Math.max(...x);
          const logSumExp = max + Math.log(x.reduce((s, v) => s + Math.exp(v - max), 0));
          total += logSumExp - x[y]!;
        }
        return total / rows.length;
      }

      function dataset(repeat: number): { features: Float32Array; labels: Int32Array; n: number } {
        const n = rows.length * repeat;
        const features = new Float32Array(n * 4);
        const labels = new Int32Array(n);
        for (let i = 0; i < n; i++) {
          const [x, y] = rows[i % rows.length]!;
          features.set(x, i * 4);
          labels[i] = y;
        }
        return { features, labels, n };
      }

      it('computes accuracy, per-class accuracy (NaN when absent), confusion and loss', () => {
        const mlp = new Mlp(spec);
        try {
          mlp.setParams(identity);
          const { features, labels, n } = dataset(1);
          const result = mlp.evaluate(features, labels, n);
          expect(result.accuracy).toBeCloseTo(4 / 6, 12);
          expect(result.perClassAccuracy.slice(0, 3)).toEqual([2 / 3, 1 / 2, 1]);
          expect(result.perClassAccuracy[3]).toBeNaN();
          expect(result.confusion).toEqual([
            [2, 0, 1, 0],
            [0, 1, 0, 1],
            [0, 0, 1, 0],
            [0, 0, 0, 0],
          ]);
          expect(Math.abs(result.loss - expectedLoss())).toBeLessThan(1e-6);
        } finally {
          mlp.dispose();
        }
      });

      it('gives the same answer when the set spans several chunks', () => {
        const mlp = new Mlp(spec);
        try {
          mlp.setParams(identity);
          const { features, labels, n } = dataset(500); // 3000 rows, several 1000-row chunks
          const result = mlp.evaluate(features, labels, n);
          expect(result.accuracy).toBeCloseTo(4 / 6, 12);
          expect(result.perClassAccuracy.slice(0, 3)).toEqual([2 / 3, 1 / 2, 1]);
          expect(result.confusion[0]).toEqual([1000, 0, 500, 0]);
          expect(Math.abs(result.loss - expectedLoss())).toBeLessThan(1e-6);
        } finally {
          mlp.dispose();
        }
      });
    });
  });
}
