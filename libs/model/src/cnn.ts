import * as tf from '@tensorflow/tfjs';
import { conv2dSameInputGrad, registerWasmKernels } from './conv-grad';
import {
  checkBatch,
  evaluateInChunks,
  overwriteParams,
  readAndDispose,
  softmaxCrossEntropyWithGrad,
  transposedMatMul,
  type EvaluationResult,
} from './ops';
import { initParams, paramCount, resolveSpec, type ConvStage, type ModelSpec, type ResolvedSpec } from './spec';
import type { AllReduce, GradientResult, Model } from './types';

/** Rows per forward pass in evaluate: 500 x 28 x 28 x 8 floats of first-stage activations is ~12.5 MB. */
const EVAL_CHUNK_ROWS = 500;

interface ConvLayer {
  kernel: tf.Tensor4D;
  bias: tf.Tensor1D;
}

interface DenseLayer {
  kernel: tf.Tensor2D;
  bias: tf.Tensor1D;
}

/** Activations of the forward pass that the backward pass needs. */
interface ConvActivations {
  /** Input of each conv stage (x as [n, h, w, c], then the previous pool's output). */
  inputs: tf.Tensor4D[];
  /** relu(conv + bias) of each stage. */
  convs: tf.Tensor4D[];
  /** Max-pool output of each stage. */
  pools: tf.Tensor4D[];
  /** Input of each dense layer, then the logits last. */
  dense: tf.Tensor2D[];
}

const POOL = { filterSize: 2, strides: 2, pad: 'valid' } as const;

/**
 * Small convolutional network (see ModelSpec, kind 'cnn'): stages of [k x k conv, stride 1, 'same'] + ReLU +
 * [2x2 max-pool, stride 2], flatten, ReLU dense layers, linear logits, softmax cross-entropy. Same surface as Mlp.
 *
 * The backward pass is written by hand from kernels that are fast on wasm: max-pool gradient (MaxPoolGrad), the
 * filter gradient through the Conv2DBackpropFilter kernel (registered for wasm by registerWasmKernels, native on
 * cpu), the input gradient as a forward conv with the rotated filter on wasm (XNNPACK) and Conv2DBackpropInput on
 * cpu, and dense layers with explicit transposes on wasm as in Mlp. On wasm that is 1.5x (batch 32) to 3x
 * (batch 128) faster than tf autodiff of the same network (which needs the registered kernel too, and is what
 * the tests compare against).
 */
export class Cnn implements Model {
  readonly spec: ModelSpec;
  readonly size: number;
  /** A CNN has no buffers. */
  readonly bufferSize = 0;
  private readonly resolved: ResolvedSpec;
  private readonly inputShape: [number, number, number];
  private readonly stages: ConvStage[];
  private convs: ConvLayer[] = [];
  private layers: DenseLayer[] = [];
  private disposed = false;

  /** Call after initBackend. Starts from initParams(spec). */
  constructor(spec: ModelSpec) {
    const r = resolveSpec(spec);
    if (r.kind !== 'cnn') throw new Error(`Cnn cannot build a '${r.kind}' model; use createModel(spec)`);
    // In case the wasm backend was selected with tf.setBackend rather than initBackend.
    registerWasmKernels();
    this.spec = { ...spec, hidden: [...spec.hidden] };
    this.resolved = r;
    this.inputShape = r.inputShape!;
    this.stages = r.convStages;
    this.size = paramCount(spec);
    this.setParams(initParams(spec));
  }

  /** Replaces all parameters (flat, canonical order). The array is copied, so the caller may reuse it. */
  setParams(flat: Float32Array): void {
    this.assertLive();
    if (flat.length !== this.size) throw new Error(`setParams: expected ${this.size} values, got ${flat.length}`);
    if (this.convs.length > 0 && overwriteParams([...this.convs, ...this.layers].flatMap((l) => [l.kernel, l.bias]), flat)) return;
    let offset = 0;
    // slice() copies: the cpu backend keeps a reference to the array it is given.
    const take = (shape: number[]): Float32Array => flat.slice(offset, (offset += shape.reduce((a, b) => a * b, 1)));
    const k = this.resolved.kernelSize;
    const convs: ConvLayer[] = this.stages.map((s) => {
      const kernelShape: [number, number, number, number] = [k, k, s.inC, s.filters];
      return { kernel: tf.tensor4d(take(kernelShape), kernelShape), bias: tf.tensor1d(take([s.filters])) };
    });
    const sizes = this.denseSizes();
    const layers: DenseLayer[] = [];
    for (let i = 0; i + 1 < sizes.length; i++) {
      const shape: [number, number] = [sizes[i]!, sizes[i + 1]!];
      layers.push({ kernel: tf.tensor2d(take(shape), shape), bias: tf.tensor1d(take([sizes[i + 1]!])) });
    }
    // keep() so that a caller's enclosing tf.tidy cannot dispose the cached parameters.
    for (const l of [...convs, ...layers]) {
      tf.keep(l.kernel);
      tf.keep(l.bias);
    }
    this.disposeLayers();
    this.convs = convs;
    this.layers = layers;
  }

  /** Current parameters, flat in canonical order. */
  getParams(): Float32Array {
    this.assertLive();
    return readAndDispose(
      tf.tidy(() => tf.concat([...this.convs, ...this.layers].flatMap((l) => [l.kernel.reshape([-1]), l.bias]))),
    );
  }

  getBuffers(): Float32Array {
    this.assertLive();
    return new Float32Array(0);
  }

  setBuffers(flat: Float32Array): void {
    this.assertLive();
    if (flat.length !== 0) throw new Error(`setBuffers: a cnn has no buffers, got ${flat.length} values`);
  }

  /** Mean softmax cross-entropy over the batch and its gradient; `features` is row-major [n, inputSize]. */
  gradient(features: Float32Array, labels: ArrayLike<number>, n: number): GradientResult {
    this.assertLive();
    checkBatch(features, labels, n, this.spec.inputSize, this.spec.classes);
    if (n === 0) throw new Error('gradient: empty batch');
    const wasm = tf.getBackend() === 'wasm';
    const [lossT, gradT] = tf.tidy(() => {
      const act = this.forward(tf.tensor2d(features, [n, this.spec.inputSize]));
      const logits = act.dense.pop()!;
      const { loss, dLogits } = softmaxCrossEntropyWithGrad(logits, labels);
      const matMulT = transposedMatMul();
      const denseGrads: tf.Tensor[] = [];
      // Dense layers, last first: dW = A^T dZ, db = sum_rows(dZ), dA = dZ W^T, through ReLU dZ = dA * [A > 0].
      let dZ: tf.Tensor2D = dLogits;
      let dA: tf.Tensor2D = dLogits;
      for (let l = this.layers.length - 1; l >= 0; l--) {
        const input = act.dense[l]!;
        denseGrads[2 * l] = matMulT(input, dZ, 'a');
        denseGrads[2 * l + 1] = tf.sum(dZ, 0);
        dA = matMulT(dZ, this.layers[l]!.kernel, 'b');
        if (l > 0) dZ = tf.mul(dA, tf.step(input));
      }
      // Conv stages, last first. dA is the gradient of the flattened output of the last pool.
      const convGrads: tf.Tensor[] = [];
      let dPool: tf.Tensor4D = tf.reshape(dA, act.pools[act.pools.length - 1]!.shape);
      for (let s = this.stages.length - 1; s >= 0; s--) {
        const conv = act.convs[s]!;
        const input = act.inputs[s]!;
        const { kernel } = this.convs[s]!;
        const dConvOut = tf.engine().runKernel(tf.MaxPoolGrad, { dy: dPool, input: conv, output: act.pools[s]! }, { ...POOL }) as tf.Tensor4D;
        const dConv = tf.mul(dConvOut, tf.step(conv)) as tf.Tensor4D;
        convGrads[2 * s] = tf.engine().runKernel(
          tf.Conv2DBackpropFilter,
          { x: input, dy: dConv },
          { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: kernel.shape },
        ) as tf.Tensor4D;
        convGrads[2 * s + 1] = tf.sum(dConv, [0, 1, 2]);
        if (s > 0) {
          dPool = wasm ? conv2dSameInputGrad(dConv, kernel) : tf.conv2dTranspose(dConv, kernel, input.shape, 1, 'same');
        }
      }
      return [loss, tf.concat([...convGrads, ...denseGrads].map((g) => g.reshape([-1])))];
    });
    try {
      return { loss: lossT.dataSync()[0]!, gradient: gradT.dataSync() as Float32Array };
    } finally {
      lossT.dispose();
      gradT.dispose();
    }
  }

  /** Same as gradient(): a CNN has no BatchNorm, so `reduce` is never called. */
  async gradientAsync(features: Float32Array, labels: ArrayLike<number>, n: number, reduce?: AllReduce): Promise<GradientResult> {
    void reduce;
    return this.gradient(features, labels, n);
  }

  /** Logits, row-major [n, classes]. */
  predictLogits(features: Float32Array, n: number): Float32Array {
    this.assertLive();
    checkBatch(features, undefined, n, this.spec.inputSize, this.spec.classes);
    return readAndDispose(tf.tidy(() => this.forward(tf.tensor2d(features, [n, this.spec.inputSize])).dense.pop()!));
  }

  /** Mean loss, accuracy, per-class accuracy and confusion counts, computed in chunks of rows. */
  evaluate(features: Float32Array, labels: ArrayLike<number>, n: number): EvaluationResult {
    this.assertLive();
    checkBatch(features, labels, n, this.spec.inputSize, this.spec.classes);
    return evaluateInChunks(features, labels, n, this.spec.inputSize, this.spec.classes, EVAL_CHUNK_ROWS, (x) =>
      this.forward(x).dense.pop()!,
    );
  }

  /** Frees the parameter tensors; the instance is unusable afterwards. */
  dispose(): void {
    this.disposeLayers();
    this.disposed = true;
  }

  /** Call inside tidy. */
  private forward(x: tf.Tensor2D): ConvActivations {
    const n = x.shape[0];
    const act: ConvActivations = { inputs: [], convs: [], pools: [], dense: [] };
    let a: tf.Tensor4D = tf.reshape(x, [n, ...this.inputShape]);
    this.convs.forEach(({ kernel, bias }) => {
      act.inputs.push(a);
      // One fused kernel for conv + bias + ReLU.
      const c = tf.fused.conv2d({ x: a, filter: kernel, bias, strides: 1, pad: 'same', activation: 'relu' });
      act.convs.push(c);
      a = tf.maxPool(c, POOL.filterSize, POOL.strides, POOL.pad);
      act.pools.push(a);
    });
    let h: tf.Tensor2D = tf.reshape(a, [n, this.resolved.denseInput]);
    this.layers.forEach((layer, i) => {
      act.dense.push(h);
      const hidden = i < this.layers.length - 1;
      h = tf.fused.matMul({ a: h, b: layer.kernel, bias: layer.bias, activation: hidden ? 'relu' : 'linear' }) as tf.Tensor2D;
    });
    act.dense.push(h);
    return act;
  }

  private denseSizes(): number[] {
    return [this.resolved.denseInput, ...this.resolved.hidden, this.resolved.classes];
  }

  private assertLive(): void {
    if (this.disposed) throw new Error('Cnn has been disposed');
  }

  private disposeLayers(): void {
    for (const l of [...this.convs, ...this.layers]) {
      l.kernel.dispose();
      l.bias.dispose();
    }
    this.convs = [];
    this.layers = [];
  }
}
