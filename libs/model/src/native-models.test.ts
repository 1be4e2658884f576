import { describe, it, expect } from 'vitest';
import { initBackend } from './backend';
import { createModel } from './model';
import { autodiffGradient } from './reference';
import { initParams, mulberry32, type ModelSpec } from './spec';
import { maxAbs, maxAbsDiff, randomBatch } from './testing/fixtures';
import { nativeAvailable } from './testing/native';

/*
 * The native backend's gradients (our hand-written backward passes on OpenBLAS kernels) against tf autodiff of
 * the same loss on tfjs's cpu backend: a different backend, different kernels and a different derivation.
 * Tolerance 1e-5 absolute for the MLPs (see mlp.test.ts: float32 sums of a few hundred terms, observed ~1e-7;
 * any indexing bug is of the size of the gradient, which is asserted to be > 1e-2), and 1e-5 relative to the
 * largest gradient entry for the CNN, whose filter gradients sum 32 x 28 x 28 products each.
 */

const MLP = { kind: 'mlp', inputSize: 784, hidden: [128, 64], classes: 4, initSeed: 3 } as const;
const cases: { label: string; spec: ModelSpec; n: number; relative: boolean }[] = [
  ...(['none', 'batch', 'group', 'layer'] as const).map((norm) => ({ label: `mlp 784-128-64-4, norm ${norm}, batch 64`, spec: { ...MLP, hidden: [...MLP.hidden], norm }, n: 64, relative: false })),
  { label: 'mlp 20-16-3, batch 33', spec: { kind: 'mlp', inputSize: 20, hidden: [16], classes: 3, initSeed: 4 }, n: 33, relative: false },
  { label: 'cnn, batch 16', spec: { kind: 'cnn', inputSize: 784, hidden: [], classes: 4, initSeed: 5 }, n: 16, relative: true },
];

/** initParams with every entry nudged, so biases and norm offsets are non-zero and every path is exercised. */
function perturbed(spec: ModelSpec): Float32Array {
  const rand = mulberry32(spec.initSeed + 99);
  return initParams(spec).map((v) => v + (rand() - 0.5) * 0.1);
}

describe.runIf(nativeAvailable())('native gradients equal tf autodiff on the cpu backend', () => {
  for (const { label, spec, n, relative } of cases) {
    it(label, async () => {
      const params = perturbed(spec);
      const { features, labels } = randomBatch(spec, n, spec.initSeed * 31);
      await initBackend('cpu');
      const reference = autodiffGradient(spec, params, features, labels, n);
      await initBackend('native');
      const model = await createModel(spec);
      try {
        model.setParams(params);
        const native = model.gradient(features, labels, n);
        const scale = maxAbs(reference.gradient);
        expect(scale).toBeGreaterThan(1e-2);
        expect(Math.abs(native.loss - reference.loss)).toBeLessThan(1e-5 * Math.max(1, reference.loss));
        expect(maxAbsDiff(native.gradient, reference.gradient)).toBeLessThan(1e-5 * (relative ? scale : 1));
      } finally {
        model.dispose();
      }
    });
  }
});
