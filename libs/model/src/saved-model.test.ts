import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { initBackend } from './backend';
import { createModel } from './model';
import { fileLoadHandler, loadParams, saveLayersModel } from './saved-model';
import { bufferShapes, initBuffers, initParams, mulberry32, paramShapes, resolveSpec, type ModelSpec } from './spec';

/**
 * Logits from the saved tf.LayersModel vs Mlp/Cnn.predictLogits. Same float32 math, but tfjs-layers
 * adds the bias and applies ReLU as separate ops where the models fuse them (and normalises with its own
 * formula), so results may differ in the last bits: logits here are O(1..10), float32 eps is 1.2e-7, so 1e-5
 * is ~10x above any rounding.
 */
const PREDICTION_TOLERANCE = 1e-5;

const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);

function perturbed(spec: ModelSpec): Float32Array {
  // Non-zero biases so that a bias mix-up would show.
  const rand = mulberry32(77);
  return initParams(spec).map((v) => v + (rand() - 0.5) * 0.1);
}

describe('saveLayersModel / loadParams', () => {
  let root: string;
  beforeAll(async () => {
    expect(await initBackend('wasm')).toBe('wasm');
    root = await fsp.mkdtemp(path.join(os.tmpdir(), 'shardlab-model-'));
  });
  afterAll(async () => {
    await fsp.rm(root, { recursive: true, force: true });
  });

  const cases: { label: string; spec: ModelSpec }[] = [
    { label: '784-128-64-4', spec: { kind: 'mlp', inputSize: 784, hidden: [128, 64], classes: 4, initSeed: 21 } },
    { label: 'no hidden layer', spec: { kind: 'mlp', inputSize: 6, hidden: [], classes: 3, initSeed: 22 } },
    { label: 'default cnn', spec: { kind: 'cnn', inputSize: 784, hidden: [], classes: 10, initSeed: 23 } },
    {
      label: 'cnn 12x10x2, 3 stages of 3x3, dense 8',
      spec: { kind: 'cnn', inputSize: 240, inputShape: [12, 10, 2], filters: [4, 3, 5], kernelSize: 3, hidden: [8], classes: 3, initSeed: 24 },
    },
    { label: 'mlp with batch norm', spec: { kind: 'mlp', inputSize: 20, hidden: [16, 8], classes: 3, initSeed: 25, norm: 'batch' } },
    { label: 'mlp with layer norm', spec: { kind: 'mlp', inputSize: 20, hidden: [16, 8], classes: 3, initSeed: 26, norm: 'layer' } },
  ];

  /** What loadParams can recover of a spec (everything but initSeed, with the cnn defaults filled in). */
  function recoverable(spec: ModelSpec): Omit<ModelSpec, 'initSeed'> {
    const { kind, inputSize, hidden, classes } = spec;
    if (kind === 'cnn') {
      const r = resolveSpec(spec);
      return { kind, inputSize, inputShape: r.inputShape!, filters: r.convStages.map((s) => s.filters), kernelSize: r.kernelSize, hidden, classes };
    }
    return { kind, inputSize, hidden, classes, ...(spec.norm && spec.norm !== 'none' ? { norm: spec.norm } : {}) };
  }

  /** Running statistics that are clearly not the initial ones. */
  function someBuffers(spec: ModelSpec): Float32Array {
    const rand = mulberry32(78);
    return initBuffers(spec).map((v) => (v === 0 ? rand() - 0.5 : 0.3 + rand()));
  }

  for (const { label, spec } of cases) {
    it(`round-trips ${label} through tf.loadLayersModel and loadParams`, async () => {
      const dir = path.join(root, label.replace(/\W+/g, '_'));
      const params = perturbed(spec);
      const buffers = spec.norm === 'batch' ? someBuffers(spec) : undefined;
      const before = tf.memory().numTensors;
      await saveLayersModel(spec, params, dir, buffers);
      expect(tf.memory().numTensors).toBe(before);
      expect((await fsp.readdir(dir)).sort()).toEqual(['model.json', 'weights.bin']);

      const json = JSON.parse(await fsp.readFile(path.join(dir, 'model.json'), 'utf8'));
      expect(json.format).toBe('layers-model');
      expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
      // Canonical parameter names and order, then the buffers.
      expect(json.weightsManifest[0].weights.map((w: { name: string; shape: number[] }) => ({ name: w.name, shape: w.shape }))).toEqual([
        ...paramShapes(spec),
        ...bufferShapes(spec),
      ]);
      expect((await fsp.stat(path.join(dir, 'weights.bin'))).size).toBe((params.length + (buffers?.length ?? 0)) * 4);

      const loaded = await loadParams(dir);
      expect(loaded.spec).toEqual(recoverable(spec));
      expect(loaded.params.length).toBe(params.length);
      expect(Buffer.compare(Buffer.from(bits(loaded.params).buffer), Buffer.from(bits(params).buffer))).toBe(0);
      if (buffers) expect(Array.from(loaded.buffers!)).toEqual(Array.from(buffers));
      else expect(loaded.buffers).toBeUndefined();

      const n = 50;
      const rand = mulberry32(5);
      const features = Float32Array.from({ length: n * spec.inputSize }, () => rand());
      const model = await tf.loadLayersModel(fileLoadHandler(dir));
      const mlp = await createModel(spec);
      try {
        mlp.setParams(params);
        if (buffers) mlp.setBuffers(buffers);
        const expected = mlp.predictLogits(features, n);
        const out = tf.tidy(() => model.predict(tf.tensor2d(features, [n, spec.inputSize])) as tf.Tensor);
        const actual = out.dataSync();
        out.dispose();
        expect(out.shape).toEqual([n, spec.classes]);
        let maxDiff = 0;
        for (let i = 0; i < expected.length; i++) maxDiff = Math.max(maxDiff, Math.abs(expected[i]! - actual[i]!));
        expect(maxDiff).toBeLessThan(PREDICTION_TOLERANCE);
      } finally {
        mlp.dispose();
        model.dispose();
      }
    });
  }

  it('can save several models in one process (layer names do not collide)', async () => {
    const spec = cases[1]!.spec;
    for (const name of ['a', 'b']) {
      const params = perturbed(spec);
      await saveLayersModel(spec, params, path.join(root, name));
      const loaded = await loadParams(path.join(root, name));
      expect(Array.from(loaded.params)).toEqual(Array.from(params));
    }
  });

  it('rejects a params vector of the wrong length', async () => {
    const spec = cases[1]!.spec;
    await expect(saveLayersModel(spec, new Float32Array(3), path.join(root, 'bad'))).rejects.toThrow(/expected 21/);
  });

  it('requires the running statistics of a BatchNorm model, and refuses group norm', async () => {
    const bn = cases[4]!.spec;
    await expect(saveLayersModel(bn, initParams(bn), path.join(root, 'bad'))).rejects.toThrow(/running statistics/);
    await expect(saveLayersModel(bn, initParams(bn), path.join(root, 'bad'), new Float32Array(5))).rejects.toThrow(/expected 48 buffer values/);
    const plain = cases[1]!.spec;
    await expect(saveLayersModel(plain, initParams(plain), path.join(root, 'bad'), new Float32Array(2))).rejects.toThrow(/expected 0 buffer values/);
    const gn: ModelSpec = { ...bn, norm: 'group', groups: 4 };
    await expect(saveLayersModel(gn, initParams(gn), path.join(root, 'bad'))).rejects.toThrow(/group/);
  });
});
