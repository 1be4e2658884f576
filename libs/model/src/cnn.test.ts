import * as tf from '@tensorflow/tfjs';
import { describe, it, expect, beforeAll } from 'vitest';
import { initBackend } from './backend';
import { testBackends } from './testing/native';
import { Cnn } from './cnn';
import { Mlp } from './mlp';
import { createModel } from './model';
import { autodiffGradient } from './reference';
import { initParams, mulberry32, paramShapes, resolveSpec, type ModelSpec } from './spec';

/**
 * MNIST-like images: zero background with a bright noisy square whose position depends on the class. The
 * constant background matters: conv outputs there equal relu(bias), so 2x2 pool windows hold exact ties, and
 * max-pool gradients must route each to the same (first) position on every backend.
 */
function squares(spec: ModelSpec, n: number, seed: number): { features: Float32Array; labels: Int32Array } {
  const [h, w, c] = resolveSpec(spec).inputShape!;
  const rand = mulberry32(seed);
  const features = new Float32Array(n * h * w * c);
  const labels = new Int32Array(n);
  const side = Math.max(2, Math.floor(Math.min(h, w) / 3));
  for (let i = 0; i < n; i++) {
    const y = i % spec.classes;
    labels[i] = y;
    // Class y puts the square in one of 4 quadrants (and further classes shift it diagonally).
    const top = ((y % 2) * (h - side) + Math.floor(y / 4)) % (h - side + 1);
    const left = (Math.floor(y / 2) % 2) * (w - side);
    for (let r = top; r < top + side; r++) {
      for (let col = left; col < left + side; col++) {
        for (let ch = 0; ch < c; ch++) features[((i * h + r) * w + col) * c + ch] = 0.5 + 0.5 * rand();
      }
    }
  }
  return { features, labels };
}

/** initParams with non-zero (partly positive) biases, so that bias paths and pooled ties are exercised. */
function perturbedParams(spec: ModelSpec): Float32Array {
  const params = initParams(spec);
  const rand = mulberry32(spec.initSeed + 1000);
  let offset = 0;
  for (const { name, shape } of paramShapes(spec)) {
    const size = shape.reduce((a, b) => a * b, 1);
    if (name.endsWith('/bias')) for (let i = 0; i < size; i++) params[offset + i] = (rand() - 0.3) * 0.2;
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
 * Tolerance, relative to the largest gradient entry. Manual and autodiff (or wasm and cpu) evaluate the same
 * float32 formulas in different orders. The longest sums are the conv filter gradients: N * H * W products
 * (8 * 28 * 28 = 6272 for stage 1). As argued in conv-grad.test.ts, two summation orders of such a sum differ
 * by ~2^-24 times the sum of |terms|, which for these mixed-sign sums is a few times max|g|; the inputs of
 * those sums (conv input gradients over 400 terms, dense products over 784) carry similar relative errors.
 * Expected ~1e-7..1e-6 of max|g|; observed <= 1.2e-6 (manual vs autodiff), 6e-7 (wasm vs cpu). 1e-5 leaves
 * ~10x margin, and every real bug (pool routing or tie-breaking, a flipped kernel, a padding offset, a missing
 * ReLU mask) is of the order of the gradient itself.
 */
const RELATIVE_GRADIENT_TOLERANCE = 1e-5;
const LOSS_TOLERANCE = 1e-5;

const specs: { label: string; spec: ModelSpec; n: number }[] = [
  { label: 'default 28x28x1, conv 8-16, batch 8', spec: { kind: 'cnn', inputSize: 784, hidden: [], classes: 4, initSeed: 3 }, n: 8 },
  {
    label: '12x10x2, conv 3-5 with 4x4 kernels, dense 16, batch 5',
    spec: { kind: 'cnn', inputSize: 240, inputShape: [12, 10, 2], filters: [3, 5], kernelSize: 4, hidden: [16], classes: 3, initSeed: 4 },
    n: 5,
  },
  {
    label: '15x13x1 (odd sizes, floor pooling), three 3x3 stages, batch 6',
    spec: { kind: 'cnn', inputSize: 195, inputShape: [15, 13, 1], filters: [2, 3, 4], kernelSize: 3, hidden: [6, 5], classes: 5, initSeed: 5 },
    n: 6,
  },
  {
    label: 'single sample',
    spec: { kind: 'cnn', inputSize: 64, hidden: [], filters: [2], kernelSize: 3, classes: 2, initSeed: 6 },
    n: 1,
  },
];

for (const backend of testBackends()) {
  describe(`Cnn on ${backend}`, () => {
    beforeAll(async () => {
      expect(await initBackend(backend)).toBe(backend);
    });

    for (const { label, spec, n } of specs) {
      it(`gradient matches tf autodiff (${label})`, () => {
        const params = perturbedParams(spec);
        const { features, labels } = squares(spec, n, spec.initSeed * 13);
        const cnn = new Cnn(spec);
        try {
          cnn.setParams(params);
          const manual = cnn.gradient(features, labels, n);
          const reference = autodiffGradient(spec, params, features, labels, n);
          expect(manual.gradient.length).toBe(cnn.size);
          expect(Math.abs(manual.loss - reference.loss)).toBeLessThan(LOSS_TOLERANCE * Math.max(1, reference.loss));
          const scale = maxAbs(reference.gradient);
          expect(scale).toBeGreaterThan(1e-2);
          expect(maxAbsDiff(manual.gradient, reference.gradient)).toBeLessThan(RELATIVE_GRADIENT_TOLERANCE * scale);
          expect(Math.abs(cnn.evaluate(features, labels, n).loss - reference.loss)).toBeLessThan(LOSS_TOLERANCE * Math.max(1, reference.loss));
        } finally {
          cnn.dispose();
        }
      });
    }

    it('does not leak tensors across gradient, evaluate, predict and setParams calls', () => {
      const spec = specs[1]!.spec;
      const { features, labels } = squares(spec, 12, 1);
      const cnn = new Cnn(spec);
      try {
        cnn.gradient(features, labels, 12);
        const before = tf.memory().numTensors;
        for (let i = 0; i < 5; i++) cnn.gradient(features, labels, 12);
        expect(tf.memory().numTensors).toBe(before);
        for (let i = 0; i < 3; i++) {
          cnn.setParams(initParams({ ...spec, initSeed: i }));
          cnn.evaluate(features, labels, 12);
          cnn.predictLogits(features, 12);
          cnn.getParams();
        }
        expect(tf.memory().numTensors).toBe(before);
      } finally {
        cnn.dispose();
      }
      expect(() => cnn.gradient(features, labels, 12)).toThrow(/disposed/);
    });

    it('round-trips parameters and validates its inputs', () => {
      const spec = specs[3]!.spec;
      const cnn = new Cnn(spec);
      try {
        expect(cnn.size).toBe(3 * 3 * 1 * 2 + 2 + 4 * 4 * 2 * 2 + 2);
        expect(Array.from(cnn.getParams())).toEqual(Array.from(initParams(spec)));
        const params = perturbedParams(spec);
        cnn.setParams(params);
        params.fill(7);
        expect(Array.from(cnn.getParams())).toEqual(Array.from(perturbedParams(spec)));
        expect(cnn.bufferSize).toBe(0);
        expect(cnn.getBuffers().length).toBe(0);
        expect(() => cnn.setParams(new Float32Array(3))).toThrow(/expected 86/);
        expect(() => cnn.gradient(new Float32Array(63), [0], 1)).toThrow(/features/);
        expect(() => cnn.gradient(new Float32Array(64), [2], 1)).toThrow(/class index/);
        expect(() => cnn.gradient(new Float32Array(0), [], 0)).toThrow(/empty/);
      } finally {
        cnn.dispose();
      }
    });

    it('evaluate over several chunks agrees with predictLogits', () => {
      const spec = specs[3]!.spec;
      const n = 1203; // three 500-row chunks
      const { features, labels } = squares(spec, n, 9);
      const cnn = new Cnn(spec);
      try {
        cnn.setParams(perturbedParams(spec));
        const logits = cnn.predictLogits(features, n);
        let correct = 0;
        let loss = 0;
        for (let i = 0; i < n; i++) {
          const [a, b] = [logits[2 * i]!, logits[2 * i + 1]!];
          if ((b > a ? 1 : 0) === labels[i]) correct++;
          const max = Math.max(a, b);
          loss += max + Math.log(Math.exp(a - max) + Math.exp(b - max)) - (labels[i] ? b : a);
        }
        const result = cnn.evaluate(features, labels, n);
        expect(result.accuracy).toBeCloseTo(correct / n, 12);
        expect(Math.abs(result.loss - loss / n)).toBeLessThan(1e-5);
      } finally {
        cnn.dispose();
      }
    });
  });
}

describe('Cnn across backends', () => {
  it('the gradient on wasm equals the gradient on cpu (same params, same batch)', async () => {
    // wasm: registered Conv2DBackpropFilter (conv trick) + conv2dSameInputGrad + native MaxPoolGrad;
    // cpu: tfjs' own Conv2DBackpropFilter, Conv2DBackpropInput and MaxPoolGrad. Same argument as above.
    const { spec, n } = specs[0]!;
    const params = perturbedParams(spec);
    const { features, labels } = squares(spec, n, 21);
    const run = async (backend: 'cpu' | 'wasm') => {
      await initBackend(backend);
      const cnn = new Cnn(spec);
      try {
        cnn.setParams(params);
        return cnn.gradient(features, labels, n);
      } finally {
        cnn.dispose();
      }
    };
    const onCpu = await run('cpu');
    const cpuAutodiff = autodiffGradient(spec, params, features, labels, n);
    const onWasm = await run('wasm');
    const scale = maxAbs(cpuAutodiff.gradient);
    expect(scale).toBeGreaterThan(1e-2);
    expect(Math.abs(onWasm.loss - onCpu.loss)).toBeLessThan(LOSS_TOLERANCE);
    expect(maxAbsDiff(onWasm.gradient, onCpu.gradient)).toBeLessThan(RELATIVE_GRADIENT_TOLERANCE * scale);
    expect(maxAbsDiff(onWasm.gradient, cpuAutodiff.gradient)).toBeLessThan(RELATIVE_GRADIENT_TOLERANCE * scale);
  });

  it('plain SGD on wasm substantially reduces the loss of a toy image problem', async () => {
    await initBackend('wasm');
    const spec: ModelSpec = { kind: 'cnn', inputSize: 784, hidden: [], classes: 4, initSeed: 11 };
    const n = 32;
    const { features, labels } = squares(spec, n, 5);
    const model = await createModel(spec);
    try {
      expect(model).toBeInstanceOf(Cnn);
      const params = initParams(spec);
      let first = NaN;
      for (let step = 0; step < 30; step++) {
        model.setParams(params);
        const { loss, gradient } = model.gradient(features, labels, n);
        if (step === 0) first = loss;
        for (let i = 0; i < params.length; i++) params[i]! -= 0.1 * gradient[i]!;
      }
      model.setParams(params);
      const final = model.evaluate(features, labels, n);
      expect(first).toBeGreaterThan(1);
      expect(final.loss).toBeLessThan(first * 0.3);
      expect(final.accuracy).toBe(1);
    } finally {
      model.dispose();
    }
  });

  it('createModel picks the class by kind, and each class refuses the other kind', async () => {
    await initBackend('wasm');
    const mlpSpec: ModelSpec = { kind: 'mlp', inputSize: 4, hidden: [], classes: 2, initSeed: 1 };
    const cnnSpec: ModelSpec = { kind: 'cnn', inputSize: 16, hidden: [], filters: [1], kernelSize: 3, classes: 2, initSeed: 1 };
    const m = await createModel(mlpSpec);
    const c = await createModel(cnnSpec);
    expect(m).toBeInstanceOf(Mlp);
    expect(c).toBeInstanceOf(Cnn);
    m.dispose();
    c.dispose();
    expect(() => new Mlp(cnnSpec)).toThrow(/createModel/);
    expect(() => new Cnn(mlpSpec)).toThrow(/createModel/);
  });
});
