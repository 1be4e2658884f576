import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { checkBatch, evaluateInChunks, overwriteParams, readAndDispose, softmaxCrossEntropyWithGrad, type EvaluationResult } from './ops';
import { BACKEND_CHOICES } from './backend';
import { fileLoadHandler } from './saved-model';
import { layersOf, shapeSize, type LayersSource, type ModelSpec, type ParamShape } from './spec';
import type { AllReduce, GradientResult, Model } from './types';

/*
 * Any TensorFlow.js Layers model (what tensorflowjs_converter writes from a Keras model, or model.save in
 * TensorFlow.js) trained like the built-in models: its trainable weights flatten, in the network's order, into the
 * one parameter vector every collective averages; its non-trainable weights (BatchNorm running statistics) are the
 * buffers; the gradient is TensorFlow.js autodiff of softmax cross-entropy over the network's logits.
 */

const MODEL_FILE = 'model.json';
/** Rows per forward pass in evaluate, as for the built-in models. */
const EVAL_CHUNK_ROWS = 1000;
/** What a Keras 3 user does instead: TensorFlow.js reads the Keras 2 (tf_keras) layer format only. */
const KERAS3_ADVICE =
  'TensorFlow.js reads only the Keras 2 layers format: rebuild or load the model with tf_keras (pip install tf_keras; ' +
  'TF_USE_LEGACY_KERAS=1), save it as model.h5, then run `tensorflowjs_converter --input_format keras model.h5 DIR`';

/** A model directory that cannot be loaded or trained; the message names the file, layer or kernel at fault. */
export class LayersModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LayersModelError';
  }
}

type Json = Record<string, unknown>;

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.trim();
}

/** The config of every layer the topology lists (Sequential or functional), in order. */
function topologyLayers(topology: Json): Json[] {
  const config = (topology['model_config'] ?? topology) as Json;
  const inner = config['config'] as Json | Json[] | undefined;
  const layers = Array.isArray(inner) ? inner : (inner?.['layers'] as Json[] | undefined);
  return Array.isArray(layers) ? layers : [];
}

/** Why a topology came from Keras 3, or null: Keras 3 writes `batch_shape`, `module` and `registered_name`, which TensorFlow.js cannot read. */
function keras3Sign(topology: Json): string | null {
  const version = String(topology['keras_version'] ?? '');
  if (version.startsWith('3.')) return `keras_version ${version}`;
  for (const layer of topologyLayers(topology)) {
    const config = (layer['config'] ?? {}) as Json;
    if ('registered_name' in layer || 'module' in layer) return `layer ${String(config['name'])} is serialised with 'module'/'registered_name'`;
    if (layer['class_name'] === 'InputLayer' && 'batch_shape' in config) return `its InputLayer has 'batch_shape'`;
  }
  return null;
}

/**
 * The topology trainers build: the output's softmax, if any, is left out (as Keras' from_logits), so that the
 * loss is computed from logits, stable and exact. The saved model keeps the original topology, softmax included.
 */
function trainingTopology(topologyText: string): Json {
  const topology = JSON.parse(topologyText) as Json;
  const layers = topologyLayers(topology);
  const config = ((topology['model_config'] ?? topology) as Json)['config'] as Json | Json[];
  const outputs = Array.isArray(config) ? undefined : (config['output_layers'] as unknown[][] | undefined);
  const outputName = outputs?.[0]?.[0];
  const output = outputName === undefined ? layers[layers.length - 1] : layers.find((l) => (l['config'] as Json)?.['name'] === outputName);
  const outputConfig = output?.['config'] as Json | undefined;
  if (outputConfig?.['activation'] === 'softmax') outputConfig['activation'] = 'linear';
  return topology;
}

/** The shape of one flat parameter or buffer tensor, by its name in the weights manifest. */
function shapesOf(weights: readonly tf.LayerVariable[]): ParamShape[] {
  return weights.map((w) => ({ name: w.originalName, shape: [...w.shape] as number[] }));
}

/** The values of `tensors`, one after another in one flat vector (weights, buffers, gradients). */
function flatten(tensors: readonly tf.Tensor[]): Float32Array {
  const out = new Float32Array(tensors.reduce((t, x) => t + x.size, 0));
  let at = 0;
  for (const x of tensors) {
    out.set(x.dataSync() as Float32Array, at);
    at += x.size;
  }
  return out;
}

/** Builds the network of a topology without weights (they are set afterwards). */
async function buildNetwork(topology: Json): Promise<tf.LayersModel> {
  try {
    return await tf.models.modelFromJSON({ modelTopology: topology } as tf.io.ModelJSON as never);
  } catch (err) {
    throw new LayersModelError(`the layers model: TensorFlow.js cannot build this model: ${firstLine(err)}`);
  }
}

/**
 * Reads a TensorFlow.js Layers model directory (model.json and its weight files) into a LayersSource, refusing
 * what cannot be trained with its reason: a Keras 3 export (with how to convert), a graph model, several inputs
 * or outputs, an output that is not a [batch, classes] vector of logits or softmax probabilities.
 */
export async function loadLayersSource(dir: string): Promise<LayersSource> {
  const file = path.join(dir, MODEL_FILE);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      const entries = await fsp.readdir(dir).catch(() => null);
      if (!entries) throw new LayersModelError(`--model ${dir}: no such directory`);
      if (entries.some((e) => e.endsWith('.keras'))) throw new LayersModelError(`--model ${dir}: holds a Keras 3 .keras file, not a TensorFlow.js model.json. ${KERAS3_ADVICE}`);
      if (entries.some((e) => e.endsWith('.h5'))) {
        throw new LayersModelError(`--model ${dir}: holds a Keras .h5 file, not a TensorFlow.js model.json; convert it with \`tensorflowjs_converter --input_format keras model.h5 DIR\``);
      }
      throw new LayersModelError(`--model ${dir}: no ${MODEL_FILE} (a TensorFlow.js Layers model: what tensorflowjs_converter or model.save writes)`);
    }
    throw new LayersModelError(`${file}: ${firstLine(err)}`);
  }
  let json: tf.io.ModelJSON;
  try {
    json = JSON.parse(text) as tf.io.ModelJSON;
  } catch (err) {
    throw new LayersModelError(`${file}: not JSON: ${firstLine(err)}`);
  }
  if (json.format === 'graph-model') {
    throw new LayersModelError(`${file}: a graph model (converted from a SavedModel) has no layers to train; convert the Keras model with --input_format keras to get a layers model`);
  }
  const topology = json.modelTopology as Json | undefined;
  if (!topology || typeof topology !== 'object') throw new LayersModelError(`${file}: no modelTopology`);
  const sign = keras3Sign(topology);
  if (sign) throw new LayersModelError(`${file}: written by Keras 3 (${sign}). ${KERAS3_ADVICE}`);

  let net: tf.LayersModel;
  try {
    net = await tf.loadLayersModel(fileLoadHandler(dir));
  } catch (err) {
    throw new LayersModelError(`${file}: TensorFlow.js cannot load this model: ${firstLine(err)}`);
  }
  try {
    if (net.inputs.length !== 1 || net.outputs.length !== 1) {
      throw new LayersModelError(`${file}: the model has ${net.inputs.length} inputs and ${net.outputs.length} outputs; shardlab trains a model with one input and one output (the class scores)`);
    }
    const inputShape = net.inputs[0]!.shape.slice(1);
    if (inputShape.some((d) => d === null || !(d > 0))) throw new LayersModelError(`${file}: the input shape ${JSON.stringify(net.inputs[0]!.shape)} is not fully defined beyond the batch`);
    const outputShape = net.outputs[0]!.shape;
    if (outputShape.length !== 2 || !(Number(outputShape[1]) >= 2)) {
      throw new LayersModelError(`${file}: the output has shape ${JSON.stringify(outputShape)}; shardlab needs [batch, classes] class scores with at least 2 classes`);
    }
    const outputLayer = net.outputs[0]!.sourceLayer.getConfig() as { activation?: string; name?: string };
    if (net.outputs[0]!.sourceLayer.getClassName() === 'Softmax') {
      throw new LayersModelError(
        `${file}: the output layer ${outputLayer.name} is a Softmax layer; end the model in a Dense layer with activation 'softmax' or 'linear' (shardlab trains from the logits)`,
      );
    }
    if (outputLayer.activation !== undefined && outputLayer.activation !== 'linear' && outputLayer.activation !== 'softmax') {
      throw new LayersModelError(
        `${file}: the output layer ${outputLayer.name} ends in '${outputLayer.activation}'; shardlab trains with softmax cross-entropy, so the output must be linear (logits) or softmax`,
      );
    }
    return {
      topology: JSON.stringify(topology),
      params: shapesOf(net.trainableWeights),
      buffers: shapesOf(net.nonTrainableWeights),
      initialParams: flatten(net.trainableWeights.map((w) => w.read())),
      initialBuffers: flatten(net.nonTrainableWeights.map((w) => w.read())),
      inputShape: inputShape as number[],
      classes: Number(outputShape[1]),
    };
  } finally {
    net.dispose();
  }
}

/** The ModelSpec of a loaded model. */
export function layersSpec(source: LayersSource, initSeed: number): ModelSpec {
  return { kind: 'layers', inputSize: shapeSize(source.inputShape), hidden: [], classes: source.classes, initSeed, layers: source };
}

/** The backends that have a kernel: native has every cpu kernel (it is the cpu backend with BLAS kernels added). */
function backendsWith(kernel: string): string[] {
  return BACKEND_CHOICES.filter((b) => b !== 'auto' && tf.getKernel(kernel, b === 'native' ? 'cpu' : b) !== undefined);
}

/**
 * A loaded TensorFlow.js Layers model as a Model: TensorFlow.js autodiff of softmax cross-entropy over its logits.
 * BatchNorm layers use the batch's statistics in a training step and update their running statistics (the
 * buffers) as the layer defines. Build with LayersModel.build (the network is built asynchronously).
 */
export class LayersModel implements Model {
  readonly spec: ModelSpec;
  readonly size: number;
  readonly bufferSize: number;
  private readonly net: tf.LayersModel;
  private readonly trainable: tf.Variable[];
  private readonly nonTrainable: tf.Variable[];
  private readonly inputShape: number[];
  private disposed = false;

  private constructor(spec: ModelSpec, net: tf.LayersModel) {
    const source = layersOf(spec);
    this.spec = spec;
    this.net = net;
    this.inputShape = source.inputShape;
    const check = (kind: string, expected: ParamShape[], actual: readonly tf.LayerVariable[]) => {
      const got = shapesOf(actual);
      const text = (w: ParamShape | undefined) => (w ? `${w.name} ${JSON.stringify(w.shape)}` : 'nothing');
      const bad = Array.from({ length: Math.max(expected.length, got.length) }, (_, i) => i).find((i) => text(expected[i]) !== text(got[i]));
      if (bad !== undefined) throw new LayersModelError(`the layers model's ${kind} do not match its description (${text(expected[bad])} vs ${text(got[bad])})`);
    };
    check('trainable weights', source.params, net.trainableWeights);
    check('non-trainable weights', source.buffers, net.nonTrainableWeights);
    // LayerVariable.read() is the tf.Variable itself: what autodiff differentiates and what setParams writes.
    this.trainable = net.trainableWeights.map((w) => w.read() as tf.Variable);
    this.nonTrainable = net.nonTrainableWeights.map((w) => w.read() as tf.Variable);
    this.size = source.initialParams.length;
    this.bufferSize = source.initialBuffers.length;
    // The first write replaces the values the initializers drew by fresh tensors (assign), so that later in-place
    // writes touch data no other tensor shares.
    write(this.trainable, source.initialParams, false);
    write(this.nonTrainable, source.initialBuffers, false);
  }

  /** Builds the network of a 'layers' spec on the active backend and runs one trial step (see trialStep). Call after initBackend. */
  static async build(spec: ModelSpec): Promise<LayersModel> {
    const source = layersOf(spec);
    const net = await buildNetwork(trainingTopology(source.topology));
    let model: LayersModel;
    try {
      model = new LayersModel(spec, net);
    } catch (err) {
      net.dispose();
      throw err;
    }
    try {
      model.trialStep();
    } catch (err) {
      model.dispose();
      throw err;
    }
    return model;
  }

  /**
   * One gradient on a batch of two zero samples, buffers restored afterwards: a layer whose kernel this backend
   * lacks, or whose gradient TensorFlow.js does not define, is refused now, naming the layer and the backends
   * that have the kernel, not at step 0 on a cluster.
   */
  private trialStep(): void {
    const buffers = this.getBuffers();
    try {
      this.gradient(new Float32Array(2 * this.spec.inputSize), [0, 1], 2);
    } catch (err) {
      const message = firstLine(err);
      const layer = this.firstFailingLayer();
      const kernel = /Kernel '([^']+)' not registered/.exec(message)?.[1];
      const gradient = /gradient function not found for ([A-Za-z0-9_]+)/.exec(message)?.[1];
      const at = layer ? `layer ${layer.name} (${layer.getClassName()})` : 'the model';
      if (kernel) {
        const others = backendsWith(kernel);
        throw new LayersModelError(
          `${at} needs the kernel ${kernel}, which the ${tf.getBackend()} backend lacks; ${others.length ? `use --backend ${others.join(' or ')}` : 'no backend in this process has it'}`,
        );
      }
      if (gradient) throw new LayersModelError(`${at} cannot be trained: TensorFlow.js defines no gradient for ${gradient} on any backend`);
      throw new LayersModelError(`${at} fails in a training step on the ${tf.getBackend()} backend: ${message}`);
    } finally {
      this.setBuffers(buffers);
    }
  }

  /** The first layer, in the network's order, whose forward and backward pass on zeros fails alone. */
  private firstFailingLayer(): tf.layers.Layer | undefined {
    for (const layer of this.net.layers) {
      if (layer.getClassName() === 'InputLayer') continue;
      try {
        const shapes = (Array.isArray(layer.input) ? layer.input : [layer.input]).map((t) => t.shape);
        tf.tidy(() => {
          const inputs = shapes.map((s) => tf.zeros(s.map((d) => d ?? 2)));
          const vars = layer.trainableWeights.map((w) => w.read() as tf.Variable);
          const output = (...xs: tf.Tensor[]) => tf.sum(layer.apply(xs.length === 1 ? xs[0]! : xs, { training: true }) as tf.Tensor) as tf.Scalar;
          if (vars.length > 0) tf.variableGrads(() => output(...inputs), vars);
          else tf.grads(output)(inputs);
        });
      } catch {
        return layer;
      }
    }
    return undefined;
  }

  private assertLive(): void {
    if (this.disposed) throw new Error('LayersModel: used after dispose()');
  }

  private input(features: Float32Array, n: number): tf.Tensor {
    return tf.tensor(features, [n, ...this.inputShape]);
  }

  setParams(flat: Float32Array): void {
    this.assertLive();
    if (flat.length !== this.size) throw new Error(`setParams: expected ${this.size} values, got ${flat.length}`);
    write(this.trainable, flat, true);
  }

  getParams(): Float32Array {
    this.assertLive();
    return flatten(this.trainable);
  }

  getBuffers(): Float32Array {
    this.assertLive();
    return flatten(this.nonTrainable);
  }

  setBuffers(flat: Float32Array): void {
    this.assertLive();
    if (flat.length !== this.bufferSize) throw new Error(`setBuffers: expected ${this.bufferSize} values, got ${flat.length}`);
    write(this.nonTrainable, flat, true);
  }

  gradient(features: Float32Array, labels: ArrayLike<number>, n: number): GradientResult {
    this.assertLive();
    checkBatch(features, labels, n, this.spec.inputSize, this.spec.classes);
    if (n === 0) throw new Error('gradient: empty batch');
    let loss = NaN;
    const grads = tf.tidy(() => {
      const x = this.input(features, n);
      const { grads } = tf.variableGrads(() => {
        const logits = this.net.apply(x, { training: true }) as tf.Tensor2D;
        // The loss and its gradient wrt the logits come from one JS loop (as for the built-in models); dLogits is a
        // constant to autodiff, so the gradient of sum(logits * dLogits) is the chain rule's d loss / d w.
        const ce = softmaxCrossEntropyWithGrad(logits, labels);
        loss = ce.loss.dataSync()[0]!;
        return tf.sum(tf.mul(logits, ce.dLogits)) as tf.Scalar;
      }, this.trainable);
      return this.trainable.map((v) => grads[v.name]!);
    });
    // Read outside the tidy, straight into the one flat vector (a tf.concat would copy every value once more).
    try {
      return { loss, gradient: flatten(grads) };
    } finally {
      for (const g of grads) g.dispose();
    }
  }

  /** Loaded models have no SyncBN: their BatchNorm layers compute their own statistics; see --buffers for the running ones. */
  async gradientAsync(features: Float32Array, labels: ArrayLike<number>, n: number, reduce?: AllReduce): Promise<GradientResult> {
    void reduce;
    return this.gradient(features, labels, n);
  }

  predictLogits(features: Float32Array, n: number): Float32Array {
    this.assertLive();
    checkBatch(features, undefined, n, this.spec.inputSize, this.spec.classes);
    return readAndDispose(tf.tidy(() => this.net.apply(this.input(features, n), { training: false }) as tf.Tensor));
  }

  evaluate(features: Float32Array, labels: ArrayLike<number>, n: number): EvaluationResult {
    this.assertLive();
    checkBatch(features, labels, n, this.spec.inputSize, this.spec.classes);
    return evaluateInChunks(features, labels, n, this.spec.inputSize, this.spec.classes, EVAL_CHUNK_ROWS, (x) =>
      this.net.apply(tf.reshape(x, [x.shape[0], ...this.inputShape]), { training: false }) as tf.Tensor2D,
    );
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.net.dispose();
  }
}

/** Writes flat values into variables: in place where allowed and the backend keeps JS arrays, else by assign. */
function write(vars: readonly tf.Variable[], flat: Float32Array, inPlace: boolean): void {
  if (vars.length === 0 || (inPlace && overwriteParams(vars, flat))) return;
  let at = 0;
  for (const v of vars) {
    const size = v.size;
    tf.tidy(() => v.assign(tf.tensor(flat.slice(at, at + size), v.shape)));
    at += size;
  }
}
