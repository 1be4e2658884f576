import * as tf from '@tensorflow/tfjs';
import { NORM_EPSILON, paramShapes, resolveSpec, shapeSize, type ModelSpec, type ResolvedSpec } from './spec';
import type { GradientResult } from './types';

/**
 * The same loss as Mlp.gradient / Cnn.gradient, written plainly with tf ops and differentiated by tf autodiff.
 * It is the reference the hand-written backward passes are tested against, and the baseline for benchmarks.
 * For norm 'batch' it is a training step on this batch alone (batch statistics; running statistics are not
 * involved). On wasm the CNN needs the Conv2DBackpropFilter kernel from registerWasmKernels.
 * Not part of the package API.
 */
export function autodiffGradient(
  spec: ModelSpec,
  params: Float32Array,
  features: Float32Array,
  labels: ArrayLike<number>,
  n: number,
): GradientResult {
  const r = resolveSpec(spec);
  const shapes = paramShapes(spec);
  const [lossT, gradT] = tf.tidy(() => {
    let offset = 0;
    const tensors = shapes.map(({ shape }) => {
      const size = shapeSize(shape);
      return tf.tensor(params.slice(offset, (offset += size)), shape);
    });
    const x = tf.tensor2d(features, [n, spec.inputSize]);
    const y = tf.oneHot(tf.tensor1d(Array.from(labels), 'int32'), spec.classes);
    // Default reduction is the mean over the batch.
    const lossFn = (...ps: tf.Tensor[]): tf.Scalar => tf.losses.softmaxCrossEntropy(y, referenceLogits(r, ps, x)) as tf.Scalar;
    const { value, grads } = tf.valueAndGrads(lossFn)(tensors);
    return [value, tf.concat(grads.map((g) => g.reshape([-1])))];
  });
  try {
    return { loss: lossT.dataSync()[0]!, gradient: gradT.dataSync() as Float32Array };
  } finally {
    lossT.dispose();
    gradT.dispose();
  }
}

/** Logits of the network in training mode, parameters in canonical order. Call inside tidy. */
function referenceLogits(r: ResolvedSpec, ps: tf.Tensor[], x: tf.Tensor2D): tf.Tensor {
  let i = 0;
  let a: tf.Tensor = x;
  if (r.kind === 'cnn') {
    a = tf.reshape(x, [x.shape[0], ...r.inputShape!]);
    for (let s = 0; s < r.convStages.length; s++) {
      a = tf.relu(tf.add(tf.conv2d(a as tf.Tensor4D, ps[i++] as tf.Tensor4D, 1, 'same'), ps[i++]!));
      a = tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid');
    }
    a = tf.reshape(a, [x.shape[0], -1]);
  }
  for (let l = 0; l <= r.hidden.length; l++) {
    a = tf.add(tf.matMul(a as tf.Tensor2D, ps[i++] as tf.Tensor2D), ps[i++]!);
    if (l === r.hidden.length) break;
    if (r.norm !== 'none') a = tf.add(tf.mul(normalize(a as tf.Tensor2D, r), ps[i++]!), ps[i++]!);
    a = tf.relu(a);
  }
  return a;
}

/** The normalisation without its affine part, written with tf.moments (biased variance). */
function normalize(z: tf.Tensor2D, r: ResolvedSpec): tf.Tensor2D {
  if (r.norm === 'batch') {
    const { mean, variance } = tf.moments(z, 0);
    return tf.div(tf.sub(z, mean), tf.sqrt(tf.add(variance, NORM_EPSILON)));
  }
  const [n, width] = z.shape;
  const z3 = tf.reshape(z, [n, r.groups, width / r.groups]);
  const { mean, variance } = tf.moments(z3, 2, true);
  return tf.reshape(tf.div(tf.sub(z3, mean), tf.sqrt(tf.add(variance, NORM_EPSILON))), [n, width]);
}
