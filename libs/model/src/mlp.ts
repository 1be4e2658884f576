import * as tf from '@tensorflow/tfjs';
import { initParams, layerSizes, paramShapes, shapeSize, validateSpec, type ModelSpec } from './spec';

export interface GradientResult {
  /** Mean softmax cross-entropy over the batch. */
  loss: number;
  /** d(loss)/d(params), flat in canonical order; a fresh array owned by the caller. */
  gradient: Float32Array;
}

export interface EvaluationResult {
  /** Mean softmax cross-entropy (NaN for an empty set). */
  loss: number;
  accuracy: number;
  /** Accuracy restricted to samples of each true class; NaN for a class absent from the set. */
  perClassAccuracy: number[];
  /** confusion[trueClass][predictedClass] = sample count. */
  confusion: number[][];
}

/** Rows per forward pass in evaluate: 1000 x 784 floats is ~3 MB, small enough for the wasm heap. */
const EVAL_CHUNK_ROWS = 1000;

interface DenseLayer {
  kernel: tf.Tensor2D;
  bias: tf.Tensor1D;
}

/**
 * Multi-layer perceptron: ReLU hidden layers, linear logits, softmax cross-entropy loss.
 *
 * The backward pass is written by hand instead of using tf autodiff because on the wasm backend the
 * autodiff gradient of matMul uses `transposeA`, which is about 10x slower there than an explicit
 * transpose followed by a plain matMul.
 */
export class Mlp {
  readonly spec: ModelSpec;
  /** Number of parameters (length of the flat vectors). */
  readonly size: number;
  private readonly sizes: number[];
  private layers: DenseLayer[] = [];
  private disposed = false;

  /** Call after initBackend. Starts from initParams(spec). */
  constructor(spec: ModelSpec) {
    validateSpec(spec);
    this.spec = { ...spec, hidden: [...spec.hidden] };
    this.sizes = layerSizes(spec);
    this.size = paramShapes(spec).reduce((t, p) => t + shapeSize(p.shape), 0);
    this.setParams(initParams(spec));
  }

  /** Replaces all parameters (flat, canonical order). The array is copied, so the caller may reuse it. */
  setParams(flat: Float32Array): void {
    this.assertLive();
    if (flat.length !== this.size) {
      throw new Error(`setParams: expected ${this.size} values, got ${flat.length}`);
    }
    const next: DenseLayer[] = [];
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
    }
    // keep() so that a caller's enclosing tf.tidy cannot dispose the cached parameters.
    for (const layer of next) {
      tf.keep(layer.kernel);
      tf.keep(layer.bias);
    }
    this.disposeLayers();
    this.layers = next;
  }

  /** Current parameters, flat in canonical order. */
  getParams(): Float32Array {
    this.assertLive();
    const flat = tf.tidy(() => tf.concat(this.layers.flatMap((l) => [l.kernel.reshape([-1]), l.bias])));
    try {
      return flat.dataSync() as Float32Array;
    } finally {
      flat.dispose();
    }
  }

  /**
   * Mean softmax cross-entropy over the batch and its gradient with respect to all parameters.
   * `features` is row-major [n, inputSize]; labels are class indices.
   */
  gradient(features: Float32Array, labels: ArrayLike<number>, n: number): GradientResult {
    this.assertLive();
    this.checkBatch(features, labels, n);
    if (n === 0) throw new Error('gradient: empty batch');

    // Tensors are returned from tidy and read outside it: reading typed arrays inside tidy is slow.
    const [lossT, gradT] = tf.tidy(() => {
      const x = tf.tensor2d(features, [n, this.spec.inputSize]);
      const activations = this.forward(x);
      const logits = activations.pop()!;
      const { loss, dLogits } = softmaxCrossEntropyWithGrad(logits, oneHot(labels, n, this.spec.classes));

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

  /** Logits, row-major [n, classes]. */
  predictLogits(features: Float32Array, n: number): Float32Array {
    this.assertLive();
    this.checkBatch(features, undefined, n);
    const logits = tf.tidy(() => this.forward(tf.tensor2d(features, [n, this.spec.inputSize])).pop()!);
    try {
      return logits.dataSync() as Float32Array;
    } finally {
      logits.dispose();
    }
  }

  /** Mean loss, accuracy, per-class accuracy and confusion counts, computed in chunks of rows. */
  evaluate(features: Float32Array, labels: ArrayLike<number>, n: number): EvaluationResult {
    this.assertLive();
    this.checkBatch(features, labels, n);
    const { inputSize, classes } = this.spec;
    const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
    let lossSum = 0;
    for (let start = 0; start < n; start += EVAL_CHUNK_ROWS) {
      const rows = Math.min(EVAL_CHUNK_ROWS, n - start);
      const chunkLabels = Array.from({ length: rows }, (_, i) => labels[start + i]!);
      const [lossT, predT] = tf.tidy(() => {
        const x = tf.tensor2d(features.subarray(start * inputSize, (start + rows) * inputSize), [rows, inputSize]);
        const logits = this.forward(x).pop()!;
        const { logProbs } = logSoftmax(logits);
        return [tf.neg(tf.sum(tf.mul(oneHot(chunkLabels, rows, classes), logProbs), 1)), tf.argMax(logits, 1)];
      });
      try {
        // Per-sample losses are summed here in float64: a float32 mean over 1000 rows would already
        // carry a relative error of ~1e-6.
        for (const l of lossT.dataSync()) lossSum += l;
        const predicted = predT.dataSync();
        for (let i = 0; i < rows; i++) confusion[chunkLabels[i]!]![predicted[i]!]!++;
      } finally {
        lossT.dispose();
        predT.dispose();
      }
    }
    let correct = 0;
    const perClassAccuracy = confusion.map((row, c) => {
      const total = row.reduce((a, b) => a + b, 0);
      correct += row[c]!;
      return total === 0 ? NaN : row[c]! / total;
    });
    return { loss: lossSum / n, accuracy: correct / n, perClassAccuracy, confusion };
  }

  /** Frees the parameter tensors; the instance is unusable afterwards. */
  dispose(): void {
    this.disposeLayers();
    this.disposed = true;
  }

  /** Activations of every layer: [x, h1, ..., logits]. Call inside tidy. */
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
    if (!Number.isInteger(n) || n < 0) throw new Error(`n must be a non-negative integer, got ${n}`);
    if (features.length !== n * this.spec.inputSize) {
      throw new Error(`expected ${n} x ${this.spec.inputSize} = ${n * this.spec.inputSize} features, got ${features.length}`);
    }
    if (labels === undefined) return;
    if (labels.length !== n) throw new Error(`expected ${n} labels, got ${labels.length}`);
    for (let i = 0; i < n; i++) {
      const y = labels[i]!;
      if (!Number.isInteger(y) || y < 0 || y >= this.spec.classes) {
        throw new Error(`label ${y} at index ${i} is not a class index in [0, ${this.spec.classes})`);
      }
    }
  }

  private assertLive(): void {
    if (this.disposed) throw new Error('Mlp has been disposed');
  }

  private disposeLayers(): void {
    for (const layer of this.layers) {
      layer.kernel.dispose();
      layer.bias.dispose();
    }
    this.layers = [];
  }
}

type MatMulT = (a: tf.Tensor2D, b: tf.Tensor2D, transposed: 'a' | 'b') => tf.Tensor2D;

/**
 * a^T b or a b^T, in the form that is fast on the active backend. On wasm the matMul transpose flags
 * are several times slower than an explicit transpose followed by a plain matMul (measured for
 * 784-128-64-4 at batch 128: dW1 12.4 ms with transposeA vs 1.2 ms explicit; dA2 1.0 ms with
 * transposeB vs 0.28 ms). On cpu (and natively in TensorFlow) the flags are free and the explicit
 * transpose is an extra copy, so the flags are used there.
 */
function transposedMatMul(): MatMulT {
  if (tf.getBackend() === 'wasm') {
    return (a, b, transposed) => (transposed === 'a' ? tf.matMul(tf.transpose(a), b) : tf.matMul(a, tf.transpose(b)));
  }
  return (a, b, transposed) => tf.matMul(a, b, transposed === 'a', transposed === 'b');
}

/** One-hot matrix built in JS: for a handful of classes this is cheaper than an int tensor + OneHot kernel. */
function oneHot(labels: ArrayLike<number>, n: number, classes: number): tf.Tensor2D {
  const values = new Float32Array(n * classes);
  for (let i = 0; i < n; i++) values[i * classes + labels[i]!] = 1;
  return tf.tensor2d(values, [n, classes]);
}

/** Row-wise log-softmax, shifted by the row max so exp cannot overflow. Call inside tidy. */
function logSoftmax(logits: tf.Tensor2D): { logProbs: tf.Tensor2D; probs: tf.Tensor2D } {
  const shifted = tf.sub(logits, tf.max(logits, 1, true));
  const exp = tf.exp(shifted);
  const sumExp = tf.sum(exp, 1, true);
  return { logProbs: tf.sub(shifted, tf.log(sumExp)), probs: tf.div(exp, sumExp) };
}

/** Mean softmax cross-entropy and its gradient wrt the logits, (softmax - onehot) / n. Call inside tidy. */
function softmaxCrossEntropyWithGrad(
  logits: tf.Tensor2D,
  targets: tf.Tensor2D,
): { loss: tf.Scalar; dLogits: tf.Tensor2D } {
  const n = logits.shape[0];
  const { logProbs, probs } = logSoftmax(logits);
  const loss = tf.div(tf.neg(tf.sum(tf.mul(targets, logProbs))), n) as tf.Scalar;
  const dLogits = tf.div(tf.sub(probs, targets), n) as tf.Tensor2D;
  return { loss, dLogits };
}
