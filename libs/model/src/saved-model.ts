import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  BN_MOMENTUM,
  NORM_EPSILON,
  bufferCount,
  bufferShapes,
  layerName,
  layersOf,
  paramCount,
  paramShapes,
  resolveSpec,
  shapeSize,
  validateSpec,
  type ModelSpec,
} from './spec';

const MODEL_FILE = 'model.json';
const WEIGHTS_FILE = 'weights.bin';

/** Adds the layers of `spec` to an empty tf.sequential; Keras layer names match the canonical weight names. */
function buildLayers(model: tf.Sequential, spec: ModelSpec): void {
  const r = resolveSpec(spec);
  let inputShape: number[] | undefined = [r.inputSize];
  // Only the first layer declares the input shape.
  const first = (): { inputShape?: number[] } => {
    const out = inputShape ? { inputShape } : {};
    inputShape = undefined;
    return out;
  };
  if (r.kind === 'cnn') {
    // Takes the same flat feature rows as Cnn and Mlp, so consumers need not know the model kind.
    model.add(tf.layers.reshape({ name: 'reshape', targetShape: r.inputShape!, ...first() }));
    r.convStages.forEach((s, i) => {
      model.add(
        tf.layers.conv2d({
          name: `conv_${i + 1}`,
          filters: s.filters,
          kernelSize: r.kernelSize,
          strides: 1,
          padding: 'same',
          activation: 'relu',
        }),
      );
      model.add(tf.layers.maxPooling2d({ name: `pool_${i + 1}`, poolSize: 2, strides: 2, padding: 'valid' }));
    });
    model.add(tf.layers.flatten({ name: 'flatten' }));
  }
  const sizes = [r.denseInput, ...r.hidden, r.classes];
  for (let i = 0; i + 1 < sizes.length; i++) {
    const hidden = i < r.hidden.length;
    const name = layerName(i, r.hidden.length);
    if (!hidden || r.norm === 'none') {
      model.add(tf.layers.dense({ name, units: sizes[i + 1]!, activation: hidden ? 'relu' : 'linear', ...first() }));
      continue;
    }
    model.add(tf.layers.dense({ name, units: sizes[i + 1]!, activation: 'linear', ...first() }));
    if (r.norm === 'batch') {
      // Keras' momentum is the weight of the old running value: 1 - PyTorch's.
      model.add(tf.layers.batchNormalization({ name: `norm_${i + 1}`, axis: -1, momentum: 1 - BN_MOMENTUM, epsilon: NORM_EPSILON }));
    } else if (r.norm === 'layer') {
      model.add(tf.layers.layerNormalization({ name: `norm_${i + 1}`, axis: -1, epsilon: NORM_EPSILON }));
    } else {
      throw new Error("saveLayersModel: norm 'group' has no TensorFlow.js layers equivalent");
    }
    model.add(tf.layers.activation({ name: `relu_${i + 1}`, activation: 'relu' }));
  }
}

/**
 * Writes dir/model.json + dir/weights.bin in the TensorFlow.js layers format: a tf.sequential that computes the
 * same logits as Mlp/Cnn in evaluation mode, from the same flat feature rows [n, inputSize], carrying `params`:
 * dense layers (ReLU hidden, linear output), preceded for a cnn by a reshape to inputShape, a conv2d ('same',
 * ReLU) + maxPooling2d per stage and a flatten; with norm 'batch' / 'layer' each hidden dense layer is linear and
 * followed by a batchNormalization / layerNormalization and a ReLU activation. Norm 'group' cannot be saved.
 * For norm 'batch', `buffers` (the running statistics, see getBuffers) are required and stored as the
 * batchNormalization layers' moving mean/variance. Weight names are the canonical names (paramShapes, then
 * bufferShapes) and are stored in that order.
 * The files go through a custom IOHandler because tfjs-node's file:// handler is not available.
 */
export async function saveLayersModel(spec: ModelSpec, params: Float32Array, dir: string, buffers?: Float32Array): Promise<void> {
  validateSpec(spec);
  if (spec.kind === 'layers') return saveLoadedModel(spec, params, dir, buffers);
  const expected = paramCount(spec);
  if (params.length !== expected) throw new Error(`saveLayersModel: expected ${expected} params, got ${params.length}`);
  const expectedBuffers = bufferCount(spec);
  if (expectedBuffers > 0 && !buffers) {
    throw new Error('saveLayersModel: a BatchNorm model needs its running statistics (buffers, e.g. from getBuffers())');
  }
  if ((buffers?.length ?? 0) !== expectedBuffers) {
    throw new Error(`saveLayersModel: expected ${expectedBuffers} buffer values, got ${buffers?.length ?? 0}`);
  }

  // Every weight by canonical name.
  const values = new Map<string, Float32Array>();
  let offset = 0;
  for (const { name, shape } of paramShapes(spec)) values.set(name, params.subarray(offset, (offset += shapeSize(shape))));
  offset = 0;
  for (const { name, shape } of bufferShapes(spec)) values.set(name, buffers!.subarray(offset, (offset += shapeSize(shape))));

  const model = tf.sequential({ name: `shardlab_${spec.kind}` });
  const weights: tf.Tensor[] = [];
  try {
    buildLayers(model, spec);
    // model.weights lists trainable weights (canonical parameter order), then non-trainable ones (buffers).
    for (const w of model.weights) {
      const shape = w.shape as number[]; // weights have fully defined shapes
      const v = values.get(w.originalName);
      if (!v || v.length !== shapeSize(shape)) throw new Error(`saveLayersModel: no value for weight ${w.originalName} ${JSON.stringify(shape)}`);
      weights.push(tf.tensor(v.slice(), shape));
    }
    model.setWeights(weights);

    await saveNetwork(model, dir);
  } finally {
    for (const w of weights) w.dispose();
    model.dispose();
  }
}

/**
 * Writes any TensorFlow.js Layers network to dir/model.json + dir/weights.bin (what tf.loadLayersModel and
 * tensorflowjs_converter read), through a custom IOHandler because tfjs-node's file:// handler is not available.
 */
export async function saveNetwork(model: tf.LayersModel, dir: string): Promise<void> {
  await fsp.mkdir(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology!,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs! }],
      };
      // Weights first: a model.json on disk then always has its weights next to it.
      await fsp.writeFile(path.join(dir, WEIGHTS_FILE), new Uint8Array(weightData));
      await fsp.writeFile(path.join(dir, MODEL_FILE), JSON.stringify(modelJson));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weightData.byteLength } };
    }),
  );
}

/**
 * A loaded model (kind 'layers') saved back in its own format: the topology it was loaded with, the output's softmax
 * included, and the trained weights under the names its weights manifest had, so that it loads back where it came
 * from (tf.loadLayersModel, or tensorflowjs_converter to Keras).
 */
async function saveLoadedModel(spec: ModelSpec, params: Float32Array, dir: string, buffers?: Float32Array): Promise<void> {
  const source = layersOf(spec);
  if (params.length !== source.initialParams.length) throw new Error(`saveLayersModel: expected ${source.initialParams.length} params, got ${params.length}`);
  const values = buffers ?? source.initialBuffers;
  if (values.length !== source.initialBuffers.length) throw new Error(`saveLayersModel: expected ${source.initialBuffers.length} buffer values, got ${values.length}`);
  const weights = [...source.params, ...source.buffers].map(({ name, shape }) => ({ name, shape, dtype: 'float32' as const }));
  const data = new Uint8Array(4 * (params.length + values.length));
  data.set(new Uint8Array(params.buffer, params.byteOffset, params.byteLength), 0);
  data.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), params.byteLength);
  const modelJson: tf.io.ModelJSON = {
    modelTopology: JSON.parse(source.topology) as object,
    format: 'layers-model',
    generatedBy: 'shardlab',
    convertedBy: null,
    weightsManifest: [{ paths: [WEIGHTS_FILE], weights }],
  };
  await fsp.mkdir(dir, { recursive: true });
  // Weights first: a model.json on disk then always has its weights next to it.
  await fsp.writeFile(path.join(dir, WEIGHTS_FILE), data);
  await fsp.writeFile(path.join(dir, MODEL_FILE), JSON.stringify(modelJson));
}

async function readWeightBuffers(dir: string, manifest: tf.io.WeightsManifestConfig): Promise<ArrayBuffer> {
  const parts: Uint8Array[] = [];
  for (const group of manifest) {
    for (const p of group.paths) parts.push(await fsp.readFile(path.join(dir, p)));
  }
  // Copy into one fresh, aligned ArrayBuffer: Node Buffers may sit at odd offsets in a shared pool.
  const out = new Uint8Array(parts.reduce((t, p) => t + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) out.set(p, (offset += p.byteLength) - p.byteLength);
  return out.buffer;
}

/**
 * An IOHandler that loads a model saved by saveLayersModel (or any layers-format directory whose
 * weight paths are relative), e.g. `tf.loadLayersModel(fileLoadHandler(dir))`.
 */
export function fileLoadHandler(dir: string): tf.io.IOHandler {
  return {
    load: async () => {
      const modelJson = JSON.parse(await fsp.readFile(path.join(dir, MODEL_FILE), 'utf8')) as tf.io.ModelJSON;
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => [
        manifest.flatMap((group) => group.weights),
        await readWeightBuffers(dir, manifest),
      ]);
    },
  };
}

interface TopologyLayer {
  class_name: string;
  config: {
    name: string;
    target_shape?: number[];
    batch_input_shape?: (number | null)[];
    padding?: string;
    strides?: number[];
    pool_size?: number[];
    activation?: string;
  };
}

/** Layers that do not change the parameters or the spec (their fixed settings are checked where it matters). */
const PASSIVE_LAYERS = new Set(['InputLayer', 'Flatten', 'MaxPooling2D', 'Activation', 'Dropout']);

/**
 * Reads a model saved by saveLayersModel back into its spec (without initSeed), a flat canonical parameter
 * vector and, for BatchNorm models, the flat buffers (bit-exact).
 */
export async function loadParams(
  dir: string,
): Promise<{ spec: Omit<ModelSpec, 'initSeed'>; params: Float32Array; buffers?: Float32Array }> {
  const artifacts = await fileLoadHandler(dir).load!();
  const specs = artifacts.weightSpecs ?? [];
  const data = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData));

  // Locate every weight by name; in the weights file they are stored back to back in manifest order.
  const byName = new Map<string, { shape: number[]; values: Float32Array }>();
  let offset = 0;
  for (const w of specs) {
    if (w.dtype !== 'float32' || w.quantization) {
      throw new Error(`loadParams: weight ${w.name} is ${w.quantization ? 'quantized' : w.dtype}, expected float32`);
    }
    const bytes = shapeSize(w.shape) * 4;
    byName.set(w.name, { shape: w.shape, values: new Float32Array(data.slice(offset, offset + bytes).buffer) });
    offset += bytes;
  }
  if (offset !== data.byteLength) throw new Error(`loadParams: weights file has ${data.byteLength} bytes, manifest needs ${offset}`);
  const weight = (layer: string, name: string, rank: number): { shape: number[]; values: Float32Array } => {
    const w = byName.get(`${layer}/${name}`);
    if (!w) throw new Error(`loadParams: layer ${layer} lacks its ${name} weights`);
    if (w.shape.length !== rank) throw new Error(`loadParams: ${layer}/${name} has shape ${JSON.stringify(w.shape)}`);
    return w;
  };

  // Walk the layers in the order the topology lists them; the weight shapes give the spec.
  const topology = artifacts.modelTopology as { config?: { layers?: TopologyLayer[] } };
  const layers = topology?.config?.layers ?? [];
  if (!layers.some((l) => l.class_name === 'Dense')) throw new Error(`loadParams: no Dense layers in ${path.join(dir, MODEL_FILE)}`);
  const chunks: Float32Array[] = [];
  const bufferChunks: Float32Array[] = [];
  const sizes: number[] = [];
  const filters: number[] = [];
  let inputShape: [number, number, number] | undefined;
  let inputSize: number | undefined;
  let kernelSize: number | undefined;
  let norm: 'batch' | 'layer' | undefined;
  let normLayers = 0;
  for (const { class_name: kind, config } of layers) {
    const { name } = config;
    if (PASSIVE_LAYERS.has(kind)) continue;
    if (kind === 'Reshape') {
      if (sizes.length > 0 || filters.length > 0 || config.target_shape?.length !== 3) {
        throw new Error(`loadParams: unexpected Reshape layer ${name}`);
      }
      inputShape = config.target_shape as [number, number, number];
      inputSize = Number(config.batch_input_shape?.[1] ?? shapeSize(inputShape));
    } else if (kind === 'Conv2D') {
      const kernel = weight(name, 'kernel', 4);
      const bias = weight(name, 'bias', 1);
      const [kh, kw, inC, outC] = kernel.shape as [number, number, number, number];
      if (!inputShape || sizes.length > 0 || kh !== kw || (kernelSize !== undefined && kh !== kernelSize) || bias.shape[0] !== outC) {
        throw new Error(`loadParams: conv layer ${name} with kernel ${JSON.stringify(kernel.shape)} does not fit a shardlab cnn`);
      }
      if (inC !== (filters.length ? filters[filters.length - 1] : inputShape[2])) {
        throw new Error(`loadParams: conv layer ${name} input ${inC} does not match previous output`);
      }
      if (config.padding !== 'same' || config.activation !== 'relu') throw new Error(`loadParams: conv layer ${name} is not a 'same' ReLU conv`);
      kernelSize = kh;
      filters.push(outC);
      chunks.push(kernel.values, bias.values);
    } else if (kind === 'Dense') {
      const kernel = weight(name, 'kernel', 2);
      const bias = weight(name, 'bias', 1);
      const [fanIn, fanOut] = kernel.shape as [number, number];
      if (bias.shape[0] !== fanOut) {
        throw new Error(`loadParams: layer ${name} has kernel ${JSON.stringify(kernel.shape)} and bias ${JSON.stringify(bias.shape)}`);
      }
      if (sizes.length === 0) sizes.push(fanIn);
      else if (sizes[sizes.length - 1] !== fanIn) throw new Error(`loadParams: layer ${name} input ${fanIn} does not match previous output`);
      sizes.push(fanOut);
      chunks.push(kernel.values, bias.values);
    } else if (kind === 'BatchNormalization' || kind === 'LayerNormalization') {
      const layerNorm = kind === 'BatchNormalization' ? 'batch' : 'layer';
      if (norm !== undefined && norm !== layerNorm) throw new Error(`loadParams: mixed normalisations in ${path.join(dir, MODEL_FILE)}`);
      norm = layerNorm;
      normLayers++;
      const gamma = weight(name, 'gamma', 1);
      const beta = weight(name, 'beta', 1);
      if (gamma.shape[0] !== sizes[sizes.length - 1] || beta.shape[0] !== gamma.shape[0]) {
        throw new Error(`loadParams: normalisation layer ${name} does not fit the preceding dense layer`);
      }
      chunks.push(gamma.values, beta.values);
      if (norm === 'batch') bufferChunks.push(weight(name, 'moving_mean', 1).values, weight(name, 'moving_variance', 1).values);
    } else {
      throw new Error(`loadParams: unsupported layer ${name} (${kind}) in ${path.join(dir, MODEL_FILE)}`);
    }
  }
  if (norm && normLayers !== sizes.length - 2) throw new Error('loadParams: a normalisation layer must follow every hidden dense layer');
  const concat = (parts: Float32Array[]): Float32Array => {
    const out = new Float32Array(parts.reduce((t, c) => t + c.length, 0));
    let at = 0;
    for (const c of parts) out.set(c, (at += c.length) - c.length);
    return out;
  };
  const hidden = sizes.slice(1, -1);
  const classes = sizes[sizes.length - 1]!;
  if (filters.length > 0) {
    return {
      spec: { kind: 'cnn', inputSize: inputSize!, inputShape: inputShape!, filters, kernelSize: kernelSize!, hidden, classes },
      params: concat(chunks),
    };
  }
  return {
    spec: { kind: 'mlp', inputSize: sizes[0]!, hidden, classes, ...(norm ? { norm } : {}) },
    params: concat(chunks),
    ...(norm === 'batch' ? { buffers: concat(bufferChunks) } : {}),
  };
}
