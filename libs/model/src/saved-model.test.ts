import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { initBackend } from './backend';
import { Mlp } from './mlp';
import { fileLoadHandler, loadParams, saveLayersModel } from './saved-model';
import { initParams, mulberry32, paramShapes, type ModelSpec } from './spec';

/**
 * Logits from the saved tf.LayersModel vs Mlp.predictLogits. Same float32 math, but tfjs-layers
 * adds the bias and applies ReLU as separate ops where Mlp fuses them, so results may differ in the
 * last bits: logits here are O(1..10), float32 eps is 1.2e-7, so 1e-5 is ~10x above any rounding.
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
  ];

  for (const { label, spec } of cases) {
    it(`round-trips ${label} through tf.loadLayersModel and loadParams`, async () => {
      const dir = path.join(root, label.replace(/\W+/g, '_'));
      const params = perturbed(spec);
      const before = tf.memory().numTensors;
      await saveLayersModel(spec, params, dir);
      expect(tf.memory().numTensors).toBe(before);
      expect((await fsp.readdir(dir)).sort()).toEqual(['model.json', 'weights.bin']);

      const json = JSON.parse(await fsp.readFile(path.join(dir, 'model.json'), 'utf8'));
      expect(json.format).toBe('layers-model');
      expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
      expect(json.weightsManifest[0].weights.map((w: { name: string; shape: number[] }) => ({ name: w.name, shape: w.shape }))).toEqual(
        paramShapes(spec),
      );
      expect((await fsp.stat(path.join(dir, 'weights.bin'))).size).toBe(params.length * 4);

      const loaded = await loadParams(dir);
      expect(loaded.spec).toEqual({ kind: 'mlp', inputSize: spec.inputSize, hidden: spec.hidden, classes: spec.classes });
      expect(loaded.params.length).toBe(params.length);
      expect(Buffer.compare(Buffer.from(bits(loaded.params).buffer), Buffer.from(bits(params).buffer))).toBe(0);

      const n = 50;
      const rand = mulberry32(5);
      const features = Float32Array.from({ length: n * spec.inputSize }, () => rand());
      const model = await tf.loadLayersModel(fileLoadHandler(dir));
      const mlp = new Mlp(spec);
      try {
        mlp.setParams(params);
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
});
