import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend';
import { LayersModel, LayersModelError, layersSpec, loadLayersSource } from './layers';
import { Mlp } from './mlp';
import { fileLoadHandler, saveLayersModel, saveNetwork } from './saved-model';
import { initParams, type ModelSpec } from './spec';
import { maxAbs, maxAbsDiff, randomBatch } from './testing/fixtures';
import { testBackends } from './testing/native';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'shardlab-layers-'));
  dirs.push(d);
  return d;
}
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function loaded(dir: string, seed = 1): Promise<LayersModel> {
  return LayersModel.build(layersSpec(await loadLayersSource(dir), seed));
}

/** A small CNN with BatchNorm and a softmax output, as a Keras user would write it, saved by TensorFlow.js. */
async function bnCnnDir(): Promise<string> {
  const dir = tempDir();
  const net = tf.sequential();
  net.add(tf.layers.reshape({ targetShape: [8, 8, 1], inputShape: [64] }));
  net.add(tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }));
  net.add(tf.layers.batchNormalization());
  net.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  net.add(tf.layers.flatten());
  net.add(tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }));
  await saveNetwork(net, dir);
  net.dispose();
  return dir;
}

const backends = testBackends();

describe('a loaded TensorFlow.js Layers model', () => {
  for (const backend of backends) {
    it(`has the built-in MLP's loss and gradient to 1e-5 with the same weights (${backend})`, async () => {
      await initBackend(backend);
      const spec: ModelSpec = { kind: 'mlp', inputSize: 20, hidden: [16, 8], classes: 4, initSeed: 7 };
      const dir = tempDir();
      await saveLayersModel(spec, initParams(spec), dir);
      const model = await loaded(dir);
      const mlp = new Mlp(spec);
      try {
        expect(model.size).toBe(mlp.size);
        expect(model.getParams()).toEqual(initParams(spec));
        const { features, labels } = randomBatch(spec, 32, 11);
        const a = model.gradient(features, labels, 32);
        const b = mlp.gradient(features, labels, 32);
        expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-5);
        expect(maxAbsDiff(a.gradient, b.gradient)).toBeLessThan(1e-5 * Math.max(1, maxAbs(b.gradient)));
        expect(maxAbs(b.gradient)).toBeGreaterThan(1e-3); // not trivially equal
        expect(maxAbsDiff(model.predictLogits(features, 32), mlp.predictLogits(features, 32))).toBeLessThan(1e-5);
      } finally {
        model.dispose();
        mlp.dispose();
      }
    });
  }

  it('trains a CNN with BatchNorm and a softmax output, updates its buffers, and saves back what loads where it came from', async () => {
    await initBackend('cpu');
    const dir = await bnCnnDir();
    const source = await loadLayersSource(dir);
    // Trainable: conv kernel, bias, gamma, beta, dense kernel, bias; buffers: moving mean and variance.
    expect(source.params.map((p) => p.name.split('/')[1])).toEqual(['kernel', 'bias', 'gamma', 'beta', 'kernel', 'bias']);
    expect(source.buffers.map((p) => p.name.split('/')[1])).toEqual(['moving_mean', 'moving_variance']);
    expect(source.classes).toBe(3);
    const spec = layersSpec(source, 1);
    const model = await LayersModel.build(spec);
    try {
      // The trial step at build left the buffers as the file had them.
      expect(model.getBuffers()).toEqual(source.initialBuffers);
      const n = 24;
      const features = new Float32Array(n * 64);
      const labels = Array.from({ length: n }, (_, i) => i % 3);
      // Class c lights up the c-th third of the image.
      for (let i = 0; i < n; i++) for (let k = 0; k < 64; k++) features[i * 64 + k] = Math.floor(k / 22) === labels[i] ? 1 : 0.1 * ((k * 7 + i) % 5);
      let params = model.getParams();
      let first = NaN;
      for (let step = 0; step < 40; step++) {
        model.setParams(params);
        const { loss, gradient } = model.gradient(features, labels, n);
        if (step === 0) first = loss;
        params = params.map((p, i) => p - 0.1 * gradient[i]!);
      }
      model.setParams(params);
      const last = model.gradient(features, labels, n).loss;
      expect(first).toBeGreaterThan(0.5);
      expect(last).toBeLessThan(first * 0.5);
      const buffers = model.getBuffers();
      expect(maxAbsDiff(buffers, source.initialBuffers)).toBeGreaterThan(1e-3);

      // Saved back with the softmax: TensorFlow.js loads it and predicts softmax(our logits) with the running statistics.
      const out = tempDir();
      await saveLayersModel(spec, params, out, buffers);
      const back = await tf.loadLayersModel(fileLoadHandler(out));
      const probs = (back.predict(tf.tensor2d(features, [n, 64])) as tf.Tensor).dataSync();
      const expected = tf.softmax(tf.tensor2d(model.predictLogits(features, n), [n, 3])).dataSync();
      expect(maxAbsDiff(probs, expected)).toBeLessThan(1e-5);
      back.dispose();
    } finally {
      model.dispose();
    }
  });

  it('refuses a layer whose gradient kernel the backend lacks, naming the layer and the backends that have it', async () => {
    await initBackend('wasm');
    const dir = tempDir();
    const net = tf.sequential();
    net.add(tf.layers.reshape({ targetShape: [4, 4, 2], inputShape: [32] }));
    net.add(tf.layers.depthwiseConv2d({ name: 'depthwise', kernelSize: 3, padding: 'same' }));
    net.add(tf.layers.flatten());
    net.add(tf.layers.dense({ units: 2 }));
    await saveNetwork(net, dir);
    net.dispose();
    const source = await loadLayersSource(dir);
    const error = await LayersModel.build(layersSpec(source, 1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LayersModelError);
    expect((error as Error).message).toMatch(/layer depthwise \(DepthwiseConv2D\) needs the kernel DepthwiseConv2dNativeBackpropFilter, which the wasm backend lacks; use --backend .*cpu/);
    // The same model trains on cpu.
    await initBackend('cpu');
    (await LayersModel.build(layersSpec(source, 1))).dispose();
  });

  it('refuses a Keras 3 export with how to convert it', async () => {
    await initBackend('cpu');
    const dir = tempDir();
    // What tensorflowjs_converter writes from a Keras 3 model: InputLayer with batch_shape, module/registered_name.
    const topology = {
      class_name: 'Sequential',
      config: {
        name: 'sequential',
        layers: [
          { module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: [null, 4], dtype: 'float32', name: 'input_layer' }, registered_name: null },
          { module: 'keras.layers', class_name: 'Dense', config: { name: 'dense', units: 2, activation: 'linear' }, registered_name: null },
        ],
      },
      keras_version: '3.6.0',
      backend: 'tensorflow',
    };
    writeFileSync(join(dir, 'model.json'), JSON.stringify({ format: 'layers-model', modelTopology: topology, weightsManifest: [] }));
    await expect(loadLayersSource(dir)).rejects.toThrow(/written by Keras 3 \(keras_version 3\.6\.0\)\. TensorFlow\.js reads only the Keras 2 layers format: .*tf_keras.*tensorflowjs_converter --input_format keras/);
    const keras = tempDir();
    writeFileSync(join(keras, 'model.keras'), 'PK');
    await expect(loadLayersSource(keras)).rejects.toThrow(/holds a Keras 3 \.keras file, not a TensorFlow\.js model\.json\. .*tf_keras/);
  });

  it('refuses what it cannot train, each with its reason', async () => {
    await initBackend('cpu');
    await expect(loadLayersSource(join(tempDir(), 'missing'))).rejects.toThrow(/no such directory/);
    await expect(loadLayersSource(tempDir())).rejects.toThrow(/no model\.json/);
    const bad = tempDir();
    writeFileSync(join(bad, 'model.json'), '{ not json');
    await expect(loadLayersSource(bad)).rejects.toThrow(/model\.json: not JSON/);
    const sigmoid = tempDir();
    const net = tf.sequential();
    net.add(tf.layers.dense({ name: 'scores', units: 3, activation: 'sigmoid', inputShape: [4] }));
    await saveNetwork(net, sigmoid);
    net.dispose();
    await expect(loadLayersSource(sigmoid)).rejects.toThrow(/the output layer scores ends in 'sigmoid'/);
    const softmaxLayer = tempDir();
    const net2 = tf.sequential();
    net2.add(tf.layers.dense({ units: 3, inputShape: [4] }));
    net2.add(tf.layers.softmax({ name: 'probabilities' }));
    await saveNetwork(net2, softmaxLayer);
    net2.dispose();
    await expect(loadLayersSource(softmaxLayer)).rejects.toThrow(/the output layer probabilities is a Softmax layer/);
    const graph = tempDir();
    writeFileSync(join(graph, 'model.json'), JSON.stringify({ format: 'graph-model', modelTopology: {} }));
    await expect(loadLayersSource(graph)).rejects.toThrow(/graph model/);
  });
});
