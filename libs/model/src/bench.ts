import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs';
import { createModel } from './model';
import { autodiffGradient } from './reference';
import { initParams, mulberry32, type ModelSpec } from './spec';

export interface GradientTiming {
  msPerStep: number;
  samplesPerSecond: number;
  /** The tfjs backend the timing was taken on. */
  backend: string;
}

export interface TimeGradientOptions {
  /** 'manual' (default) is the model's gradient (Mlp or Cnn); 'autodiff' is the plain tf.valueAndGrads version, for comparison. */
  method?: 'manual' | 'autodiff';
  /** Untimed steps first, so one-off costs (kernel setup, heap growth) are excluded. Default 3. */
  warmup?: number;
}

/**
 * Microbenchmark for `npm run bench`: mean ms per gradient step (set params + gradient, as a trainer
 * does every step) for the given spec (any kind) and batch size on the current backend, on seeded random data.
 */
export async function timeGradientStep(
  spec: ModelSpec,
  batchSize: number,
  iterations: number,
  options: TimeGradientOptions = {},
): Promise<GradientTiming> {
  const { method = 'manual', warmup = 3 } = options;
  if (!Number.isInteger(batchSize) || batchSize <= 0) throw new Error(`batchSize must be a positive integer`);
  if (!Number.isInteger(iterations) || iterations <= 0) throw new Error(`iterations must be a positive integer`);

  const rand = mulberry32(12345);
  const features = Float32Array.from({ length: batchSize * spec.inputSize }, () => rand());
  const labels = Int32Array.from({ length: batchSize }, () => Math.floor(rand() * spec.classes));
  const params = initParams(spec);

  const model = method === 'manual' ? await createModel(spec) : undefined;
  const step = model
    ? () => {
        model.setParams(params);
        model.gradient(features, labels, batchSize);
      }
    : () => autodiffGradient(spec, params, features, labels, batchSize);
  try {
    for (let i = 0; i < warmup; i++) step();
    const start = performance.now();
    for (let i = 0; i < iterations; i++) step();
    const msPerStep = (performance.now() - start) / iterations;
    return { msPerStep, samplesPerSecond: (batchSize * 1000) / msPerStep, backend: tf.getBackend() };
  } finally {
    model?.dispose();
  }
}
