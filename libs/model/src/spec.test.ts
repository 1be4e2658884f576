import { describe, it, expect } from 'vitest';
import { initBackend } from './backend';
import { testBackends } from './testing/native';
import { Mlp } from './mlp';
import { Cnn } from './cnn';
import { bufferCount, bufferShapes, initBuffers, initParams, paramCount, paramShapes, resolveSpec, validateSpec, type ModelSpec } from './spec';

const mnistLike: ModelSpec = { kind: 'mlp', inputSize: 784, hidden: [128, 64], classes: 4, initSeed: 7 };

/** Exact bit patterns, so comparisons cannot be fooled by -0 === 0 or NaN !== NaN. */
const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** Index of the first differing element, -1 if equal; much faster than toEqual on 100k-element arrays. */
function firstDifference(a: Uint32Array, b: Uint32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** FNV-1a-style fingerprint over the float32 bit patterns. */
function fingerprint(a: Float32Array): string {
  let h = 0x811c9dc5;
  for (const w of bits(a)) h = Math.imul(h ^ w, 16777619) >>> 0;
  return h.toString(16);
}

describe('paramShapes / paramCount', () => {
  it('lists kernels and biases in canonical order', () => {
    expect(paramShapes(mnistLike)).toEqual([
      { name: 'dense_1/kernel', shape: [784, 128] },
      { name: 'dense_1/bias', shape: [128] },
      { name: 'dense_2/kernel', shape: [128, 64] },
      { name: 'dense_2/bias', shape: [64] },
      { name: 'output/kernel', shape: [64, 4] },
      { name: 'output/bias', shape: [4] },
    ]);
    expect(paramCount(mnistLike)).toBe(784 * 128 + 128 + 128 * 64 + 64 + 64 * 4 + 4);
  });

  it('supports a network without hidden layers', () => {
    const spec: ModelSpec = { kind: 'mlp', inputSize: 5, hidden: [], classes: 3, initSeed: 1 };
    expect(paramShapes(spec)).toEqual([
      { name: 'output/kernel', shape: [5, 3] },
      { name: 'output/bias', shape: [3] },
    ]);
    expect(paramCount(spec)).toBe(18);
  });

  it('rejects malformed specs', () => {
    const bad: Partial<ModelSpec>[] = [
      { inputSize: 0 },
      { inputSize: 2.5 },
      { hidden: [16, -1] },
      { classes: 1 },
      { initSeed: Number.NaN },
      { kind: 'rnn' as 'mlp' },
      { norm: 'instance' as 'batch' },
      { norm: 'group', groups: 3 }, // 3 does not divide 128
      { norm: 'group', groups: 0 },
      { filters: [4] }, // cnn-only fields on an mlp
      { inputShape: [28, 28, 1] },
      { kernelSize: 3 },
    ];
    for (const patch of bad) expect(() => validateSpec({ ...mnistLike, ...patch })).toThrow();
  });
});

describe('cnn specs', () => {
  const cnn: ModelSpec = { kind: 'cnn', inputSize: 784, hidden: [], classes: 10, initSeed: 1 };

  it('defaults to 28x28x1 input, two 5x5 stages of 8 and 16 filters, and lists conv then dense parameters', () => {
    expect(paramShapes(cnn)).toEqual([
      { name: 'conv_1/kernel', shape: [5, 5, 1, 8] },
      { name: 'conv_1/bias', shape: [8] },
      { name: 'conv_2/kernel', shape: [5, 5, 8, 16] },
      { name: 'conv_2/bias', shape: [16] },
      { name: 'output/kernel', shape: [7 * 7 * 16, 10] },
      { name: 'output/bias', shape: [10] },
    ]);
    expect(paramCount(cnn)).toBe(200 + 8 + 3200 + 16 + 7840 + 10);
    expect(resolveSpec(cnn).inputShape).toEqual([28, 28, 1]);
    expect(bufferCount(cnn)).toBe(0);
  });

  it('honours inputShape, filters, kernelSize and hidden dense layers (pooling floors odd sizes)', () => {
    const spec: ModelSpec = { kind: 'cnn', inputSize: 15 * 13 * 3, inputShape: [15, 13, 3], filters: [4, 6, 2], kernelSize: 3, hidden: [7], classes: 3, initSeed: 1 };
    // 15x13 -> 7x6 -> 3x3 -> 1x1
    expect(paramShapes(spec).map((p) => p.shape)).toEqual([[3, 3, 3, 4], [4], [3, 3, 4, 6], [6], [3, 3, 6, 2], [2], [2, 7], [7], [7, 3], [3]]);
    expect(paramShapes(spec).map((p) => p.name).slice(6)).toEqual(['dense_1/kernel', 'dense_1/bias', 'output/kernel', 'output/bias']);
  });

  it('rejects malformed cnn specs', () => {
    const bad: Partial<ModelSpec>[] = [
      { inputSize: 785 }, // not square, no inputShape
      { inputShape: [28, 28, 2] }, // wrong size
      { inputShape: [28, 28] as unknown as [number, number, number] },
      { filters: [] },
      { filters: [8, 0] },
      { kernelSize: 0 },
      { inputSize: 4, inputShape: [2, 2, 1], filters: [1, 1] }, // pooled away
      { norm: 'batch' },
    ];
    for (const patch of bad) expect(() => validateSpec({ ...cnn, ...patch }), JSON.stringify(patch)).toThrow();
    expect(() => validateSpec({ ...cnn, inputSize: 12, inputShape: [2, 3, 2], filters: [1] })).not.toThrow();
    expect(() => validateSpec({ ...cnn, norm: 'none' })).not.toThrow();
  });

  it('draws Glorot-uniform conv kernels with Keras fans (fanIn = k*k*in, fanOut = k*k*out)', () => {
    const params = initParams(cnn);
    const conv2 = params.subarray(208, 208 + 3200);
    const limit = Math.sqrt(6 / (25 * 8 + 25 * 16));
    let sumSq = 0;
    for (const v of conv2) {
      expect(Math.abs(v)).toBeLessThanOrEqual(limit);
      sumSq += v * v;
    }
    expect(sumSq / conv2.length / ((limit * limit) / 3)).toBeGreaterThan(0.9);
    expect(sumSq / conv2.length / ((limit * limit) / 3)).toBeLessThan(1.1);
  });

  it('yields identical parameters inside Cnn on cpu and wasm', async () => {
    for (const backend of testBackends()) {
      await initBackend(backend);
      const model = new Cnn(cnn);
      try {
        expect(firstDifference(bits(model.getParams()), bits(initParams(cnn)))).toBe(-1);
      } finally {
        model.dispose();
      }
    }
  });
});

describe('norm specs', () => {
  const base: ModelSpec = { kind: 'mlp', inputSize: 6, hidden: [8, 4], classes: 3, initSeed: 42 };

  it('adds gamma and beta after each hidden dense layer, and buffers for batch norm only', () => {
    for (const norm of ['batch', 'group', 'layer'] as const) {
      const spec: ModelSpec = { ...base, norm, groups: 2 };
      expect(paramShapes(spec).map((p) => `${p.name} ${p.shape.join('x')}`)).toEqual([
        'dense_1/kernel 6x8', 'dense_1/bias 8', 'norm_1/gamma 8', 'norm_1/beta 8',
        'dense_2/kernel 8x4', 'dense_2/bias 4', 'norm_2/gamma 4', 'norm_2/beta 4',
        'output/kernel 4x3', 'output/bias 3',
      ]);
      expect(bufferShapes(spec)).toEqual(
        norm === 'batch'
          ? [
              { name: 'norm_1/moving_mean', shape: [8] },
              { name: 'norm_1/moving_variance', shape: [8] },
              { name: 'norm_2/moving_mean', shape: [4] },
              { name: 'norm_2/moving_variance', shape: [4] },
            ]
          : [],
      );
    }
    expect(Array.from(initBuffers({ ...base, norm: 'batch' }))).toEqual([...new Array(8).fill(0), ...new Array(8).fill(1), 0, 0, 0, 0, 1, 1, 1, 1]);
    expect(paramShapes({ ...base, norm: 'none' })).toEqual(paramShapes(base));
    expect(bufferCount(base)).toBe(0);
  });

  it('initialises gamma to 1 and beta to 0 without changing the dense kernels', () => {
    const plain = initParams(base);
    const normed = initParams({ ...base, norm: 'batch' });
    // dense_1 (kernel + bias), then gamma, beta, then dense_2 ...
    expect(Array.from(normed.subarray(0, 56))).toEqual(Array.from(plain.subarray(0, 56)));
    expect(Array.from(normed.subarray(56, 64))).toEqual(new Array(8).fill(1));
    expect(Array.from(normed.subarray(64, 72))).toEqual(new Array(8).fill(0));
    expect(Array.from(normed.subarray(72, 72 + 36))).toEqual(Array.from(plain.subarray(56, 56 + 36)));
  });

  it('resolves groups: default 4, 1 for layer norm, ignored otherwise', () => {
    expect(resolveSpec({ ...base, norm: 'group' }).groups).toBe(4);
    expect(resolveSpec({ ...base, norm: 'group', groups: 2 }).groups).toBe(2);
    expect(resolveSpec({ ...base, norm: 'layer', groups: 3 }).groups).toBe(1);
    expect(resolveSpec({ ...base, norm: 'batch', groups: 3 }).groups).toBe(0);
    expect(() => validateSpec({ ...base, hidden: [6], norm: 'group' })).toThrow(/groups \(4\) must divide/);
  });
});

describe('initParams', () => {
  it('is deterministic and pinned to known bits (replicas on other machines and versions must agree)', () => {
    const small = initParams({ kind: 'mlp', inputSize: 3, hidden: [2], classes: 2, initSeed: 42 });
    expect(Array.from(bits(small), (w) => w.toString(16))).toEqual([
      '3e62d2ca', 'bde8046f', '3f45afcf', '3ebe6591', 'bf3662ee', '3d6ea372', '0', '0',
      'bf0e33a8', '3e9c7275', '3f652d8f', 'bd8adf7e', '0', '0',
    ]);
    expect(fingerprint(initParams(mnistLike))).toBe('19f3f8e5');
    expect(firstDifference(bits(initParams(mnistLike)), bits(initParams({ ...mnistLike })))).toBe(-1);
  });

  it('depends on the seed', () => {
    expect(fingerprint(initParams({ ...mnistLike, initSeed: 8 }))).not.toBe(fingerprint(initParams(mnistLike)));
  });

  it('draws Glorot-uniform kernels and zero biases', () => {
    const params = initParams(mnistLike);
    expect(params.length).toBe(paramCount(mnistLike));
    let offset = 0;
    for (const { name, shape } of paramShapes(mnistLike)) {
      const size = shape.reduce((a, b) => a * b, 1);
      const values = params.subarray(offset, offset + size);
      offset += size;
      if (name.endsWith('/bias')) {
        expect(values.every((v) => v === 0)).toBe(true);
        continue;
      }
      const limit = Math.sqrt(6 / (shape[0]! + shape[1]!));
      let sum = 0;
      let sumSq = 0;
      let maxAbs = 0;
      for (const v of values) {
        maxAbs = Math.max(maxAbs, Math.abs(v));
        sum += v;
        sumSq += v * v;
      }
      expect(maxAbs).toBeLessThanOrEqual(limit);
      // Uniform(-L, L): mean 0, variance L^2 / 3. Loose bounds, the smallest kernel has 256 values.
      expect(Math.abs(sum / size)).toBeLessThan(0.15 * limit);
      expect(sumSq / size / ((limit * limit) / 3)).toBeGreaterThan(0.8);
      expect(sumSq / size / ((limit * limit) / 3)).toBeLessThan(1.2);
    }
  });

  it('yields identical parameters inside Mlp on cpu and wasm', async () => {
    const read = async (backend: 'cpu' | 'wasm'): Promise<Float32Array> => {
      await initBackend(backend);
      const mlp = new Mlp(mnistLike);
      try {
        return mlp.getParams();
      } finally {
        mlp.dispose();
      }
    };
    const expected = bits(initParams(mnistLike));
    expect(firstDifference(bits(await read('cpu')), expected)).toBe(-1);
    expect(firstDifference(bits(await read('wasm')), expected)).toBe(-1);
  });
});
