#!/usr/bin/env node
/*
 * Writes the example model of docs/own-data.md: a small Keras CNN with BatchNorm and a softmax output, in the
 * TensorFlow.js Layers format that `tensorflowjs_converter --input_format keras model.h5 DIR` writes from Keras 2
 * (tf_keras). The model.json below is written by hand in that layout (snake_case configs, keras_version 2.x);
 * the weights are Glorot-uniform from a fixed seed, so the files are the same on every machine.
 *
 *   node tools/write-example-model.mjs DIR [--classes N] [--side S] [--no-batch-norm]
 *                                                       (defaults: 4 classes, 28 x 28 images, BatchNorm)
 *
 *   Input [S*S] -> Reshape [S, S, 1] -> Conv2D 8 5x5 same relu -> BatchNormalization -> MaxPooling2D 2
 *   -> Conv2D 16 5x5 same relu -> BatchNormalization -> MaxPooling2D 2 -> Flatten -> Dense N softmax
 * (--no-batch-norm: the same without the BatchNormalization layers, the control for what BatchNorm changes)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const dir = args.find((a, i) => !a.startsWith('--') && !['--classes', '--side'].includes(args[i - 1]));
const batchNorm = !args.includes('--no-batch-norm');
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
if (!dir || args.includes('--help')) {
  process.stderr.write('usage: node tools/write-example-model.mjs DIR [--classes N] [--side S] [--no-batch-norm]\n');
  process.exit(dir ? 0 : 2);
}
const classes = option('classes', 4);
const side = option('side', 28);
if (!(Number.isInteger(classes) && classes >= 2) || !(Number.isInteger(side) && side >= 4 && side % 4 === 0)) {
  process.stderr.write('--classes must be an integer >= 2, --side a multiple of 4\n');
  process.exit(2);
}

/** What Keras writes for every layer with a kernel and a bias. */
const WEIGHTED = {
  use_bias: true,
  kernel_initializer: { class_name: 'GlorotUniform', config: { seed: null } },
  bias_initializer: { class_name: 'Zeros', config: {} },
  kernel_regularizer: null,
  bias_regularizer: null,
  activity_regularizer: null,
  kernel_constraint: null,
  bias_constraint: null,
};
const layer = (class_name, config) => ({ class_name, config: { trainable: true, dtype: 'float32', ...config } });
const conv = (name, filters) =>
  layer('Conv2D', {
    name,
    filters,
    kernel_size: [5, 5],
    strides: [1, 1],
    padding: 'same',
    data_format: 'channels_last',
    dilation_rate: [1, 1],
    activation: 'relu',
    ...WEIGHTED,
  });
const batchNormLayer = (name) =>
  layer('BatchNormalization', {
    name,
    axis: -1,
    momentum: 0.99,
    epsilon: 0.001,
    center: true,
    scale: true,
    beta_initializer: { class_name: 'Zeros', config: {} },
    gamma_initializer: { class_name: 'Ones', config: {} },
    moving_mean_initializer: { class_name: 'Zeros', config: {} },
    moving_variance_initializer: { class_name: 'Ones', config: {} },
    beta_regularizer: null,
    gamma_regularizer: null,
    beta_constraint: null,
    gamma_constraint: null,
  });
const pool = (name) => layer('MaxPooling2D', { name, pool_size: [2, 2], padding: 'valid', strides: [2, 2], data_format: 'channels_last' });

const topology = {
  class_name: 'Sequential',
  config: {
    name: 'fashion_cnn',
    layers: [
      { class_name: 'InputLayer', config: { batch_input_shape: [null, side * side], dtype: 'float32', sparse: false, ragged: false, name: 'pixels' } },
      layer('Reshape', { name: 'image', target_shape: [side, side, 1] }),
      conv('conv_1', 8),
      ...(batchNorm ? [batchNormLayer('bn_1')] : []),
      pool('pool_1'),
      conv('conv_2', 16),
      ...(batchNorm ? [batchNormLayer('bn_2')] : []),
      pool('pool_2'),
      layer('Flatten', { name: 'flatten', data_format: 'channels_last' }),
      layer('Dense', {
        name: 'scores',
        units: classes,
        activation: 'softmax',
        ...WEIGHTED,
      }),
    ],
  },
  keras_version: '2.15.0',
  backend: 'tensorflow',
};

// Seeded PRNG (mulberry32), so the example is the same file everywhere.
let state = 20261208;
const rand = () => {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const glorot = (shape) => {
  const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  const limit = Math.sqrt(6 / (receptive * (shape[shape.length - 2] + shape[shape.length - 1])));
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (2 * rand() - 1) * limit);
};
const fill = (n, v) => new Float32Array(n).fill(v);
const flat = (side / 4) * (side / 4) * 16;
const bn = (name, n) =>
  batchNorm
    ? [
        [`${name}/gamma`, [n], () => fill(n, 1)],
        [`${name}/beta`, [n], () => fill(n, 0)],
        [`${name}/moving_mean`, [n], () => fill(n, 0)],
        [`${name}/moving_variance`, [n], () => fill(n, 1)],
      ]
    : [];
const weights = [
  ['conv_1/kernel', [5, 5, 1, 8], glorot],
  ['conv_1/bias', [8], () => fill(8, 0)],
  ...bn('bn_1', 8),
  ['conv_2/kernel', [5, 5, 8, 16], glorot],
  ['conv_2/bias', [16], () => fill(16, 0)],
  ...bn('bn_2', 16),
  ['scores/kernel', [flat, classes], glorot],
  ['scores/bias', [classes], () => fill(classes, 0)],
];
const values = weights.map(([, shape, init]) => init(shape));
const data = Buffer.concat(values.map((v) => Buffer.from(v.buffer)));

mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'group1-shard1of1.bin'), data);
const modelJson = {
  format: 'layers-model',
  generatedBy: 'keras v2.15.0',
  convertedBy: 'TensorFlow.js Converter v4.22.0',
  modelTopology: topology,
  weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: weights.map(([name, shape]) => ({ name, shape, dtype: 'float32' })) }],
};
writeFileSync(join(dir, 'model.json'), JSON.stringify(modelJson, null, 1) + '\n');
process.stdout.write(`wrote ${join(dir, 'model.json')} and its weights (${data.length.toLocaleString('en-US')} bytes): a ${side}x${side} CNN${batchNorm ? ' with BatchNorm' : ''}, ${classes} classes\n`);
