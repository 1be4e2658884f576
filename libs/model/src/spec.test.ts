import { describe, it, expect } from 'vitest';
import { initBackend } from './backend';
import { Mlp } from './mlp';
import { initParams, paramCount, paramShapes, validateSpec, type ModelSpec } from './spec';

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
      { kind: 'cnn' as 'mlp' },
    ];
    for (const patch of bad) expect(() => validateSpec({ ...mnistLike, ...patch })).toThrow();
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
