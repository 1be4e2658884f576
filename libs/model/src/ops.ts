import * as tf from '@tensorflow/tfjs';

/**
 * Small tf helpers shared by the models. Not part of the package API. Functions documented "call inside
 * tidy" create intermediate tensors and rely on an enclosing tf.tidy to free them.
 */

export type MatMulT = (a: tf.Tensor2D, b: tf.Tensor2D, transposed: 'a' | 'b') => tf.Tensor2D;

/**
 * a^T b or a b^T, in the form that is fast on the active backend. On wasm the matMul transpose flags
 * are several times slower than an explicit transpose followed by a plain matMul (measured for
 * 784-128-64-4 at batch 128: dW1 12.4 ms with transposeA vs 1.2 ms explicit; dA2 1.0 ms with
 * transposeB vs 0.28 ms). On cpu (and natively in TensorFlow) the flags are free and the explicit
 * transpose is an extra copy, so the flags are used there.
 */
export function transposedMatMul(): MatMulT {
  if (tf.getBackend() === 'wasm') {
    return (a, b, transposed) => (transposed === 'a' ? tf.matMul(tf.transpose(a), b) : tf.matMul(a, tf.transpose(b)));
  }
  return (a, b, transposed) => tf.matMul(a, b, transposed === 'a', transposed === 'b');
}

/** One-hot matrix built in JS: for a handful of classes this is cheaper than an int tensor + OneHot kernel. */
export function oneHot(labels: ArrayLike<number>, n: number, classes: number): tf.Tensor2D {
  const values = new Float32Array(n * classes);
  for (let i = 0; i < n; i++) values[i * classes + labels[i]!] = 1;
  return tf.tensor2d(values, [n, classes]);
}

/** Row-wise log-softmax, shifted by the row max so exp cannot overflow. Call inside tidy. */
export function logSoftmax(logits: tf.Tensor2D): { logProbs: tf.Tensor2D; probs: tf.Tensor2D } {
  const shifted = tf.sub(logits, tf.max(logits, 1, true));
  const exp = tf.exp(shifted);
  const sumExp = tf.sum(exp, 1, true);
  return { logProbs: tf.sub(shifted, tf.log(sumExp)), probs: tf.div(exp, sumExp) };
}

/**
 * Mean softmax cross-entropy and its gradient wrt the logits, (softmax - onehot) / n, for class indices `labels`.
 * Computed in one JS loop (float64, each row shifted by its max so exp cannot overflow) on the logits' values: for
 * a handful of classes the dozen tf ops of the same formula cost ~80 us a step in dispatch on the cpu and native
 * backends, the loop ~18 us. Labels are checked by the caller (checkBatch). Call inside tidy.
 */
export function softmaxCrossEntropyWithGrad(logits: tf.Tensor2D, labels: ArrayLike<number>): { loss: tf.Scalar; dLogits: tf.Tensor2D } {
  const [n, classes] = logits.shape;
  const z = logits.dataSync();
  const d = new Float32Array(n * classes);
  const exps = new Float64Array(classes);
  let total = 0;
  for (let i = 0, row = 0; i < n; i++, row += classes) {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, z[row + c]!);
    let sumExp = 0;
    for (let c = 0; c < classes; c++) {
      exps[c] = Math.exp(z[row + c]! - max);
      sumExp += exps[c]!;
    }
    const label = labels[i]!;
    // -log softmax(z)[label] = log(sum exp(z - max)) - (z[label] - max)
    total += Math.log(sumExp) - (z[row + label]! - max);
    for (let c = 0; c < classes; c++) d[row + c] = (exps[c]! / sumExp - (c === label ? 1 : 0)) / n;
  }
  return { loss: tf.scalar(total / n), dLogits: tf.tensor2d(d, [n, classes]) };
}

/** Reads a tensor outside of any tidy and disposes it (reading typed arrays inside tidy is slow). */
export function readAndDispose(t: tf.Tensor): Float32Array {
  try {
    return t.dataSync() as Float32Array;
  } finally {
    t.dispose();
  }
}

/** Throws for a batch that does not fit the model: wrong feature count, wrong label count, bad class index. */
export function checkBatch(
  features: Float32Array,
  labels: ArrayLike<number> | undefined,
  n: number,
  inputSize: number,
  classes: number,
): void {
  if (!Number.isInteger(n) || n < 0) throw new Error(`n must be a non-negative integer, got ${n}`);
  if (features.length !== n * inputSize) {
    throw new Error(`expected ${n} x ${inputSize} = ${n * inputSize} features, got ${features.length}`);
  }
  if (labels === undefined) return;
  if (labels.length !== n) throw new Error(`expected ${n} labels, got ${labels.length}`);
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    if (!Number.isInteger(y) || y < 0 || y >= classes) {
      throw new Error(`label ${y} at index ${i} is not a class index in [0, ${classes})`);
    }
  }
}

export interface EvaluationResult {
  /** Mean softmax cross-entropy (NaN for an empty set). */
  loss: number;
  accuracy: number;
  /** Accuracy restricted to samples of each true class; NaN for a class absent from the set. */
  perClassAccuracy: number[];
  /** confusion[trueClass][predictedClass] = sample count. */
  confusion: number[][];
  /** Sum of the per-sample losses, in float64 (what combineEvaluations adds up). */
  lossSum: number;
}

/**
 * Mean loss, accuracy, per-class accuracy and confusion counts, with the forward pass run over chunks of
 * `chunkRows` rows. `logitsOf` maps a [rows, inputSize] tensor to [rows, classes] logits inside a tidy.
 */
export function evaluateInChunks(
  features: Float32Array,
  labels: ArrayLike<number>,
  n: number,
  inputSize: number,
  classes: number,
  chunkRows: number,
  logitsOf: (x: tf.Tensor2D) => tf.Tensor2D,
): EvaluationResult {
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let lossSum = 0;
  for (let start = 0; start < n; start += chunkRows) {
    const rows = Math.min(chunkRows, n - start);
    const chunkLabels = Array.from({ length: rows }, (_, i) => labels[start + i]!);
    const [lossT, predT] = tf.tidy(() => {
      const x = tf.tensor2d(features.subarray(start * inputSize, (start + rows) * inputSize), [rows, inputSize]);
      const logits = logitsOf(x);
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
  return fromConfusion(confusion, lossSum, n);
}

function fromConfusion(confusion: number[][], lossSum: number, n: number): EvaluationResult {
  let correct = 0;
  const perClassAccuracy = confusion.map((row, c) => {
    const total = row.reduce((a, b) => a + b, 0);
    correct += row[c]!;
    return total === 0 ? NaN : row[c]! / total;
  });
  return { loss: lossSum / n, accuracy: correct / n, perClassAccuracy, confusion, lossSum };
}

/** One evaluation of a whole set from the evaluations of its consecutive parts (confusions and loss sums added). */
export function combineEvaluations(parts: readonly EvaluationResult[]): EvaluationResult {
  const classes = parts[0]?.confusion.length ?? 0;
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let lossSum = 0;
  let n = 0;
  for (const p of parts) {
    lossSum += p.lossSum;
    p.confusion.forEach((row, c) => row.forEach((count, k) => ((confusion[c]![k]! += count), (n += count))));
  }
  return fromConfusion(confusion, lossSum, n);
}

/**
 * Writes `flat` into the model's own parameter tensors in place, in their order, when the active backend keeps
 * tensor data in JS typed arrays (cpu, and native, which is the cpu backend with BLAS kernels); returns false
 * (nothing written) elsewhere or when the tensors do not fit. A trainer sets its parameters every step, and
 * creating fresh tensors there costs 0.19 ms of a ~1.1 ms native MLP step. Safe because these tensors are the
 * model's alone: kept, never handed out, and every op on them makes new tensors.
 */
export function overwriteParams(tensors: readonly tf.Tensor[], flat: Float32Array): boolean {
  const name = tf.getBackend();
  if (name !== 'cpu' && name !== 'native') return false;
  const data = (tf.backend() as unknown as { data: { get(id: object): { values?: unknown } | undefined } }).data;
  const views: Float32Array[] = [];
  let total = 0;
  for (const t of tensors) {
    const values = t.isDisposed ? undefined : data.get(t.dataId)?.values;
    if (!(values instanceof Float32Array) || values.length !== t.size) return false;
    views.push(values);
    total += values.length;
  }
  if (total !== flat.length) return false;
  let offset = 0;
  for (const v of views) {
    v.set(flat.subarray(offset, offset + v.length));
    offset += v.length;
  }
  return true;
}
