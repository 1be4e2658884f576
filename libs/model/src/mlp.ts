import * as tf from '@tensorflow/tfjs';
import {
  checkBatch,
  evaluateInChunks,
  overwriteParams,
  readAndDispose,
  softmaxCrossEntropyWithGrad,
  transposedMatMul,
  type EvaluationResult,
} from './ops';
import {
  BN_MOMENTUM,
  NORM_EPSILON,
  initBuffers,
  initParams,
  paramShapes,
  resolveSpec,
  shapeSize,
  type ModelSpec,
  type NormKind,
} from './spec';
import type { AllReduce, GradientResult, Model } from './types';

export type { EvaluationResult } from './ops';
export type { AllReduce, GradientResult } from './types';

/** Rows per forward pass in evaluate: 1000 x 784 floats is ~3 MB, small enough for the wasm heap. */
const EVAL_CHUNK_ROWS = 1000;

interface DenseLayer {
  kernel: tf.Tensor2D;
  bias: tf.Tensor1D;
}

interface NormLayer {
  gamma: tf.Tensor1D;
  beta: tf.Tensor1D;
}

/**
 * A training step as a generator: it yields each vector to be all-reduced across workers and is resumed with
 * the element-wise sum; it returns the gradient.
 */
type TrainingSteps = Generator<Float64Array, GradientResult, Float64Array>;

/**
 * Multi-layer perceptron: ReLU hidden layers, linear logits, softmax cross-entropy loss; optionally a
 * normalisation (spec.norm: batch, group or layer) after each hidden dense layer, before its ReLU:
 * u = gamma * (z - mean) / sqrt(var + 1e-5) + beta, with the mean and biased variance over the batch per feature
 * ('batch'; evaluation uses the running statistics instead), or per sample over groups of contiguous features
 * ('group', 'layer' = one group). Under 'batch' the dense bias before the norm cancels out, so its gradient is
 * returned as exactly 0.
 *
 * The backward pass is written by hand instead of using tf autodiff because on the wasm backend the
 * autodiff gradient of matMul uses `transposeA`, which is about 10x slower there than an explicit
 * transpose followed by a plain matMul; and because BatchNorm with statistics combined across workers
 * (SyncBN) has to await all-reduces between layers, forward and backward.
 */
export class Mlp implements Model {
  readonly spec: ModelSpec;
  /** Number of parameters (length of the flat vectors). */
  readonly size: number;
  /** Number of buffer values: 2 x (sum of hidden widths) for norm 'batch', else 0. */
  readonly bufferSize: number;
  private readonly sizes: number[];
  private readonly norm: NormKind;
  /** Groups per hidden layer for 'group' (spec.groups) and 'layer' (1). */
  private readonly groups: number;
  private layers: DenseLayer[] = [];
  /** One per hidden layer when norm is not 'none'. */
  private norms: NormLayer[] = [];
  /** BatchNorm running mean and variance per hidden layer, canonical order (see bufferShapes). */
  private buffers: Float32Array;
  /** Set while a gradient computation holds the parameter tensors (gradientAsync may be suspended). */
  private busy = false;
  private disposed = false;

  /** Call after initBackend. Starts from initParams(spec) and initBuffers(spec). */
  constructor(spec: ModelSpec) {
    const r = resolveSpec(spec);
    if (r.kind !== 'mlp') throw new Error(`Mlp cannot build a '${r.kind}' model; use createModel(spec)`);
    this.spec = { ...spec, hidden: [...spec.hidden] };
    this.sizes = [r.inputSize, ...r.hidden, r.classes];
    this.norm = r.norm;
    this.groups = r.groups;
    this.size = paramShapes(spec).reduce((t, p) => t + shapeSize(p.shape), 0);
    this.buffers = initBuffers(spec);
    this.bufferSize = this.buffers.length;
    this.setParams(initParams(spec));
  }

  /** Replaces all parameters (flat, canonical order). The array is copied, so the caller may reuse it. */
  setParams(flat: Float32Array): void {
    this.assertIdle();
    if (flat.length !== this.size) {
      throw new Error(`setParams: expected ${this.size} values, got ${flat.length}`);
    }
    if (this.layers.length > 0 && overwriteParams(this.paramTensors(), flat)) return;
    const next: DenseLayer[] = [];
    const nextNorms: NormLayer[] = [];
    let offset = 0;
    // slice() copies: the cpu backend keeps a reference to the array it is given, so a view into the
    // caller's buffer would silently change when the caller updates its parameters in place.
    const take = (size: number): Float32Array => flat.slice(offset, (offset += size));
    for (let i = 0; i + 1 < this.sizes.length; i++) {
      const fanIn = this.sizes[i]!;
      const fanOut = this.sizes[i + 1]!;
      next.push({
        kernel: tf.tensor2d(take(fanIn * fanOut), [fanIn, fanOut]),
        bias: tf.tensor1d(take(fanOut)),
      });
      if (this.norm !== 'none' && i + 2 < this.sizes.length) {
        nextNorms.push({ gamma: tf.tensor1d(take(fanOut)), beta: tf.tensor1d(take(fanOut)) });
      }
    }
    // keep() so that a caller's enclosing tf.tidy cannot dispose the cached parameters.
    for (const t of [...next.flatMap((l) => [l.kernel, l.bias]), ...nextNorms.flatMap((l) => [l.gamma, l.beta])]) tf.keep(t);
    this.disposeLayers();
    this.layers = next;
    this.norms = nextNorms;
  }

  /** The parameter tensors in canonical order (dense kernel, bias, then norm gamma, beta, per layer). */
  private paramTensors(): tf.Tensor[] {
    return this.layers.flatMap((l, i) => {
      const norm = this.norms[i];
      return norm ? [l.kernel, l.bias, norm.gamma, norm.beta] : [l.kernel, l.bias];
    });
  }

  /** Current parameters, flat in canonical order. */
  getParams(): Float32Array {
    this.assertLive();
    return readAndDispose(
      tf.tidy(() =>
        tf.concat(
          this.layers.flatMap((l, i) => {
            const norm = this.norms[i];
            return norm ? [l.kernel.reshape([-1]), l.bias, norm.gamma, norm.beta] : [l.kernel.reshape([-1]), l.bias];
          }),
        ),
      ),
    );
  }

  /** BatchNorm running statistics (moving_mean, moving_variance per hidden layer); empty unless norm is 'batch'. */
  getBuffers(): Float32Array {
    this.assertLive();
    return this.buffers.slice();
  }

  /** Replaces the BatchNorm running statistics, e.g. with another replica's, before evaluate. The array is copied. */
  setBuffers(flat: Float32Array): void {
    this.assertIdle();
    if (flat.length !== this.bufferSize) throw new Error(`setBuffers: expected ${this.bufferSize} values, got ${flat.length}`);
    this.buffers = flat.slice();
  }

  /**
   * Mean softmax cross-entropy over the batch and its gradient with respect to all parameters.
   * `features` is row-major [n, inputSize]; labels are class indices. With norm 'batch' this is a training
   * step on this batch alone (per-worker statistics, as DDP does by default) and updates the running statistics.
   */
  gradient(features: Float32Array, labels: ArrayLike<number>, n: number): GradientResult {
    this.assertIdle();
    this.checkBatch(features, labels, n);
    if (n === 0) throw new Error('gradient: empty batch');
    if (this.norm !== 'none') {
      this.busy = true;
      try {
        // Without a reducer every "all-reduce" is the identity: this worker is the whole world.
        const steps = this.trainingSteps(features, labels, n);
        let step = steps.next();
        while (!step.done) step = steps.next(step.value);
        return step.value;
      } finally {
        this.busy = false;
      }
    }

    // Tensors are returned from tidy and read outside it: reading typed arrays inside tidy is slow.
    const [lossT, gradT] = tf.tidy(() => {
      const x = tf.tensor2d(features, [n, this.spec.inputSize]);
      const activations = this.forward(x);
      const logits = activations.pop()!;
      const { loss, dLogits } = softmaxCrossEntropyWithGrad(logits, labels);

      // Backward pass, last layer first. For layer l with input A (= activations[l]) and output grad dZ:
      //   dW = A^T dZ,  db = sum_rows(dZ),  dA = dZ W^T, and through ReLU dZ_prev = dA * [A > 0].
      const grads: tf.Tensor[] = new Array(this.layers.length * 2);
      const matMulT = transposedMatMul();
      let dZ: tf.Tensor2D = dLogits;
      for (let l = this.layers.length - 1; l >= 0; l--) {
        const input = activations[l]!;
        grads[2 * l] = matMulT(input, dZ, 'a').reshape([-1]);
        grads[2 * l + 1] = tf.sum(dZ, 0);
        if (l > 0) {
          const dA = matMulT(dZ, this.layers[l]!.kernel, 'b');
          // input = relu(z) of the previous layer, and relu(z) > 0 exactly where z > 0.
          dZ = tf.mul(dA, tf.step(input));
        }
      }
      return [loss, tf.concat(grads)];
    });
    try {
      return { loss: lossT.dataSync()[0]!, gradient: gradT.dataSync() as Float32Array };
    } finally {
      lossT.dispose();
      gradT.dispose();
    }
  }

  /**
   * gradient(), with the BatchNorm statistics of every hidden layer combined across workers when `reduce` is
   * given (SyncBN): the forward pass normalises with the global mean and (biased) variance from the all-reduced
   * [sum z, sum z^2, count], and the backward pass all-reduces [sum dy, sum dy * xhat] per feature, so that the
   * sample-weighted average of the workers' gradients equals the BatchNorm gradient of the concatenated batch.
   * The running statistics are updated from the global statistics (identically on every worker).
   *
   * `reduce` is called only for norm 'batch': per step, for each hidden layer l in order (forward) a vector of
   * 2 * width_l + 1 values, then for each hidden layer from the last to the first (backward) 2 * width_l values.
   * Backward sums are in units of the workers' per-sample loss terms (the local sums times the local batch size),
   * so workers may hold batches of different sizes. For other norms `reduce` is never called.
   *
   * The model must not be used for setParams/setBuffers/gradient until the promise settles (they throw);
   * evaluate/predictLogits are fine, and dispose() makes the pending call reject.
   */
  async gradientAsync(
    features: Float32Array,
    labels: ArrayLike<number>,
    n: number,
    reduce?: AllReduce,
  ): Promise<GradientResult> {
    if (!reduce || this.norm !== 'batch') return this.gradient(features, labels, n);
    this.assertIdle();
    this.checkBatch(features, labels, n);
    if (n === 0) throw new Error('gradient: empty batch');
    this.busy = true;
    try {
      const steps = this.trainingSteps(features, labels, n);
      let step = steps.next();
      while (!step.done) {
        const sent = step.value;
        let reduced: Float64Array;
        try {
          reduced = await reduce(sent);
          this.assertLive();
          if (!reduced || reduced.length !== sent.length) {
            throw new Error(`all-reduce returned ${reduced?.length ?? 'nothing'} values for ${sent.length}`);
          }
        } catch (err) {
          steps.return(undefined as never); // runs the generator's finally: frees its tensors
          throw err;
        }
        step = steps.next(reduced);
      }
      return step.value;
    } finally {
      this.busy = false;
    }
  }

  /** Logits, row-major [n, classes] (evaluation mode: BatchNorm uses the running statistics). */
  predictLogits(features: Float32Array, n: number): Float32Array {
    this.assertLive();
    this.checkBatch(features, undefined, n);
    return readAndDispose(tf.tidy(() => this.inferLogits(tf.tensor2d(features, [n, this.spec.inputSize]))));
  }

  /** Mean loss, accuracy, per-class accuracy and confusion counts in evaluation mode, computed in chunks of rows. */
  evaluate(features: Float32Array, labels: ArrayLike<number>, n: number): EvaluationResult {
    this.assertLive();
    this.checkBatch(features, labels, n);
    return evaluateInChunks(features, labels, n, this.spec.inputSize, this.spec.classes, EVAL_CHUNK_ROWS, (x) =>
      this.inferLogits(x),
    );
  }

  /** Frees the parameter tensors; the instance is unusable afterwards. */
  dispose(): void {
    // Allowed while a gradientAsync is suspended (e.g. cleanup after another worker failed): that call then
    // rejects when resumed, after freeing its own tensors.
    this.disposeLayers();
    this.disposed = true;
  }

  /** Logits in evaluation mode. Call inside tidy. */
  private inferLogits(x: tf.Tensor2D): tf.Tensor2D {
    if (this.norm === 'none') return this.forward(x).pop()!;
    let a = x;
    let bufferOffset = 0;
    for (let l = 0; l < this.layers.length; l++) {
      const { kernel, bias } = this.layers[l]!;
      const z = tf.fused.matMul({ a, b: kernel, bias }) as tf.Tensor2D;
      if (l === this.layers.length - 1) return z;
      const norm = this.norms[l]!;
      let xhat: tf.Tensor2D;
      if (this.norm === 'batch') {
        const width = this.sizes[l + 1]!;
        const mean = this.buffers.subarray(bufferOffset, bufferOffset + width);
        const variance = this.buffers.subarray(bufferOffset + width, bufferOffset + 2 * width);
        bufferOffset += 2 * width;
        xhat = tf.mul(tf.sub(z, tf.tensor1d(mean)), tf.tensor1d(variance.map((v) => 1 / Math.sqrt(v + NORM_EPSILON))));
      } else {
        xhat = groupNormalize(z, this.groups).xhat;
      }
      a = tf.relu(tf.add(tf.mul(xhat, norm.gamma), norm.beta)) as tf.Tensor2D;
    }
    throw new Error('unreachable');
  }

  /**
   * One training step with normalisation, as a generator so that BatchNorm's all-reduces can be awaited between
   * layers: it yields each vector to be summed across workers and resumes with the sum. Tensors are created in
   * small synchronous tidy segments (tidy cannot span a suspension, and several models may interleave at one) and
   * collected in `held`, freed in finally. Statistics are accumulated in float64 in JS.
   */
  private *trainingSteps(features: Float32Array, labels: ArrayLike<number>, n: number): TrainingSteps {
    const held: tf.Tensor[] = [];
    const run = <T extends tf.Tensor | tf.Tensor[]>(fn: () => T): T => {
      const out = tf.tidy(fn);
      held.push(...(Array.isArray(out) ? out : [out]));
      return out;
    };
    try {
      const hiddenCount = this.layers.length - 1;
      const bn = this.norm === 'batch';
      const matMulT = transposedMatMul();
      // inputs[l] is the input of dense layer l; xhats[l] the normalised pre-activation of hidden layer l.
      const inputs: tf.Tensor2D[] = [run(() => tf.tensor2d(features, [n, this.spec.inputSize]))];
      const xhats: tf.Tensor2D[] = [];
      const groupInvStd: tf.Tensor3D[] = [];
      const bnInvStd: Float32Array[] = [];
      const bnCount: number[] = [];
      const runningUpdates: { mean: Float64Array; variance: Float64Array }[] = [];

      for (let l = 0; l < hiddenCount; l++) {
        const { kernel, bias } = this.layers[l]!;
        const { gamma, beta } = this.norms[l]!;
        const a = inputs[l]!;
        const width = this.sizes[l + 1]!;
        if (bn) {
          const z = run(() => tf.fused.matMul({ a, b: kernel, bias }) as tf.Tensor2D);
          const zv = z.dataSync();
          const stats = new Float64Array(2 * width + 1);
          for (let i = 0; i < n; i++) {
            for (let j = 0; j < width; j++) {
              const v = zv[i * width + j]!;
              stats[j] += v;
              stats[width + j] += v * v;
            }
          }
          stats[2 * width] = n;
          const global: Float64Array = yield stats;
          const count = global[2 * width]!;
          if (!(count >= 2)) {
            throw new Error(`BatchNorm needs more than one sample per batch to compute statistics, got ${count}`);
          }
          const mean = new Float64Array(width);
          const variance = new Float64Array(width);
          const invStd = new Float32Array(width);
          for (let j = 0; j < width; j++) {
            mean[j] = global[j]! / count;
            // E[z^2] - E[z]^2 in float64 from float64 sums: no float32 cancellation; clamp rounding below zero.
            variance[j] = Math.max(0, global[width + j]! / count - mean[j]! * mean[j]!);
            invStd[j] = 1 / Math.sqrt(variance[j]! + NORM_EPSILON);
          }
          bnInvStd.push(invStd);
          bnCount.push(count);
          // PyTorch: the running variance takes the unbiased estimate, the normalisation the biased one.
          runningUpdates.push({ mean, variance: variance.map((v) => (v * count) / (count - 1)) });
          const [xhat, out] = run(() => {
            const xh = tf.mul(tf.sub(z, tf.tensor1d(Float32Array.from(mean))), tf.tensor1d(invStd));
            return [xh, tf.relu(tf.add(tf.mul(xh, gamma), beta))];
          });
          xhats.push(xhat as tf.Tensor2D);
          inputs.push(out as tf.Tensor2D);
        } else {
          const [xhat, invStd, out] = run(() => {
            const z = tf.fused.matMul({ a, b: kernel, bias }) as tf.Tensor2D;
            const g = groupNormalize(z, this.groups);
            return [g.xhat, g.invStd, tf.relu(tf.add(tf.mul(g.xhat, gamma), beta))];
          });
          xhats.push(xhat as tf.Tensor2D);
          groupInvStd.push(invStd as tf.Tensor3D);
          inputs.push(out as tf.Tensor2D);
        }
      }

      const output = this.layers[hiddenCount]!;
      const [lossT, dLogits] = run(() => {
        const logits = tf.fused.matMul({ a: inputs[hiddenCount]!, b: output.kernel, bias: output.bias }) as tf.Tensor2D;
        const { loss, dLogits: d } = softmaxCrossEntropyWithGrad(logits, labels);
        return [loss, d];
      });

      // Backward. grads[k] holds the k-th tensor of the canonical order (4 per hidden layer, 2 for the output).
      const grads: tf.Tensor[] = [];
      const slot = (l: number): number => 4 * l;
      grads[slot(hiddenCount)] = run(() => matMulT(inputs[hiddenCount]!, dLogits as tf.Tensor2D, 'a'));
      grads[slot(hiddenCount) + 1] = run(() => tf.sum(dLogits as tf.Tensor2D, 0));
      let dA = hiddenCount > 0 ? run(() => matMulT(dLogits as tf.Tensor2D, output.kernel, 'b')) : null;
      for (let l = hiddenCount - 1; l >= 0; l--) {
        const { kernel } = this.layers[l]!;
        const { gamma } = this.norms[l]!;
        const width = this.sizes[l + 1]!;
        const xhat = xhats[l]!;
        // u = gamma * xhat + beta feeds relu, and relu(u) > 0 exactly where u > 0.
        const dU = run(() => tf.mul(dA!, tf.step(inputs[l + 1]!)));
        let dZ: tf.Tensor2D;
        if (bn) {
          const duv = dU.dataSync();
          const xv = xhat.dataSync();
          const dBeta = new Float64Array(width);
          const dGamma = new Float64Array(width);
          for (let i = 0; i < n; i++) {
            for (let j = 0; j < width; j++) {
              const d = duv[i * width + j]!;
              dBeta[j] += d;
              dGamma[j] += d * xv[i * width + j]!;
            }
          }
          grads[slot(l) + 2] = run(() => tf.tensor1d(Float32Array.from(dGamma)));
          grads[slot(l) + 3] = run(() => tf.tensor1d(Float32Array.from(dBeta)));
          // The local upstream gradient is (per-sample term) / n; send sums of the per-sample terms themselves.
          const sums = new Float64Array(2 * width);
          for (let j = 0; j < width; j++) {
            sums[j] = dBeta[j]! * n;
            sums[width + j] = dGamma[j]! * n;
          }
          const global: Float64Array = yield sums;
          // dz = gamma * invstd * (du - mean(du) - xhat * mean(du * xhat)), means over the global batch of M
          // samples, converted back to this worker's units by 1/n.
          const count = bnCount[l]!;
          const meanDu = new Float32Array(width);
          const meanDuXhat = new Float32Array(width);
          for (let j = 0; j < width; j++) {
            meanDu[j] = global[j]! / count / n;
            meanDuXhat[j] = global[width + j]! / count / n;
          }
          const invStd = bnInvStd[l]!;
          dZ = run(() =>
            tf.mul(
              tf.mul(gamma, tf.tensor1d(invStd)),
              tf.sub(tf.sub(dU, tf.tensor1d(meanDu)), tf.mul(xhat, tf.tensor1d(meanDuXhat))),
            ),
          );
          // The dense bias is cancelled exactly by the mean subtraction (global or local), so its gradient is
          // exactly zero; computed, it would be rounding noise that stateful optimisers (Adam) would amplify.
          grads[slot(l) + 1] = run(() => tf.zeros([width]));
        } else {
          const invStd = groupInvStd[l]!;
          const [dGamma, dBeta, dz] = run(() => {
            const dXhat = tf.mul(dU, gamma) as tf.Tensor2D;
            return [tf.sum(tf.mul(dU, xhat), 0), tf.sum(dU, 0), groupNormalizeBackward(dXhat, xhat, invStd, this.groups)];
          });
          grads[slot(l) + 2] = dGamma!;
          grads[slot(l) + 3] = dBeta!;
          dZ = dz as tf.Tensor2D;
          grads[slot(l) + 1] = run(() => tf.sum(dZ, 0));
        }
        grads[slot(l)] = run(() => matMulT(inputs[l]!, dZ, 'a'));
        dA = l > 0 ? run(() => matMulT(dZ, kernel, 'b')) : null;
      }

      const flat = run(() => tf.concat(grads.map((g) => g.reshape([-1]))));
      const result: GradientResult = { loss: lossT!.dataSync()[0]!, gradient: flat.dataSync() as Float32Array };
      if (bn) this.updateRunningStatistics(runningUpdates);
      return result;
    } finally {
      for (const t of held) t.dispose();
    }
  }

  /** running = (1 - momentum) * running + momentum * batch, in float64, stored as float32. */
  private updateRunningStatistics(updates: { mean: Float64Array; variance: Float64Array }[]): void {
    let offset = 0;
    for (const { mean, variance } of updates) {
      for (const stat of [mean, variance]) {
        for (let j = 0; j < stat.length; j++) {
          this.buffers[offset + j] = (1 - BN_MOMENTUM) * this.buffers[offset + j]! + BN_MOMENTUM * stat[j]!;
        }
        offset += stat.length;
      }
    }
  }

  /** Activations of every layer without normalisation: [x, h1, ..., logits]. Call inside tidy. */
  private forward(x: tf.Tensor2D): tf.Tensor2D[] {
    const out: tf.Tensor2D[] = [x];
    let a = x;
    this.layers.forEach((layer, i) => {
      const hidden = i < this.layers.length - 1;
      // One fused kernel for matMul + bias (+ ReLU) instead of three.
      a = tf.fused.matMul({ a, b: layer.kernel, bias: layer.bias, activation: hidden ? 'relu' : 'linear' }) as tf.Tensor2D;
      out.push(a);
    });
    return out;
  }

  private checkBatch(features: Float32Array, labels: ArrayLike<number> | undefined, n: number): void {
    checkBatch(features, labels, n, this.spec.inputSize, this.spec.classes);
  }

  private assertLive(): void {
    if (this.disposed) throw new Error('Mlp has been disposed');
  }

  private assertIdle(): void {
    this.assertLive();
    if (this.busy) throw new Error('Mlp is busy: a gradientAsync call has not finished');
  }

  private disposeLayers(): void {
    for (const layer of this.layers) {
      layer.kernel.dispose();
      layer.bias.dispose();
    }
    for (const norm of this.norms) {
      norm.gamma.dispose();
      norm.beta.dispose();
    }
    this.layers = [];
    this.norms = [];
  }
}

/**
 * GroupNorm without the affine part: z [n, width] split into `groups` groups of contiguous features, each
 * sample-group normalised by its own mean and biased variance. invStd is [n, groups, 1]. Call inside tidy.
 */
function groupNormalize(z: tf.Tensor2D, groups: number): { xhat: tf.Tensor2D; invStd: tf.Tensor3D } {
  const [n, width] = z.shape;
  const z3 = tf.reshape(z, [n, groups, width / groups]);
  const { mean, variance } = tf.moments(z3, 2, true);
  const invStd = tf.rsqrt(tf.add(variance, NORM_EPSILON)) as tf.Tensor3D;
  return { xhat: tf.reshape(tf.mul(tf.sub(z3, mean), invStd), [n, width]), invStd };
}

/** dz from dxhat for groupNormalize: invstd * (dxhat - mean_g(dxhat) - xhat * mean_g(dxhat * xhat)). Call inside tidy. */
function groupNormalizeBackward(dXhat: tf.Tensor2D, xhat: tf.Tensor2D, invStd: tf.Tensor3D, groups: number): tf.Tensor2D {
  const [n, width] = dXhat.shape;
  const shape: [number, number, number] = [n, groups, width / groups];
  const d3 = tf.reshape(dXhat, shape);
  const x3 = tf.reshape(xhat, shape);
  const dz = tf.mul(invStd, tf.sub(tf.sub(d3, tf.mean(d3, 2, true)), tf.mul(x3, tf.mean(tf.mul(d3, x3), 2, true))));
  return tf.reshape(dz, [n, width]);
}
