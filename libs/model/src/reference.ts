import * as tf from '@tensorflow/tfjs';
import { paramShapes, shapeSize, type ModelSpec } from './spec';
import type { GradientResult } from './mlp';

/**
 * The same loss as Mlp.gradient, written plainly and differentiated by tf autodiff. It is the
 * reference the hand-written backward pass is tested against, and the baseline for benchmarks.
 * Not part of the package API.
 */
export function autodiffGradient(
  spec: ModelSpec,
  params: Float32Array,
  features: Float32Array,
  labels: ArrayLike<number>,
  n: number,
): GradientResult {
  const shapes = paramShapes(spec);
  const [lossT, gradT] = tf.tidy(() => {
    let offset = 0;
    const tensors = shapes.map(({ shape }) => {
      const size = shapeSize(shape);
      return tf.tensor(params.slice(offset, (offset += size)), shape);
    });
    const x = tf.tensor2d(features, [n, spec.inputSize]);
    const y = tf.oneHot(tf.tensor1d(Array.from(labels), 'int32'), spec.classes);
    const lossFn = (...ps: tf.Tensor[]): tf.Scalar => {
      let a: tf.Tensor = x;
      for (let i = 0; i < ps.length; i += 2) {
        a = tf.add(tf.matMul(a, ps[i]!), ps[i + 1]!);
        if (i + 2 < ps.length) a = tf.relu(a);
      }
      // Default reduction is the mean over the batch.
      return tf.losses.softmaxCrossEntropy(y, a) as tf.Scalar;
    };
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
