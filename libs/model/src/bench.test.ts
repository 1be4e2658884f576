import { describe, it, expect, beforeAll } from 'vitest';
import { initBackend } from './backend';
import { timeGradientStep } from './bench';
import type { ModelSpec } from './spec';

// Timings are machine- and load-dependent, so only the shape of the result is checked here.
describe('timeGradientStep', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  for (const method of ['manual', 'autodiff'] as const) {
    it(`reports a positive step time (${method})`, async () => {
      const spec: ModelSpec = { kind: 'mlp', inputSize: 12, hidden: [8], classes: 3, initSeed: 1 };
      const r = await timeGradientStep(spec, 16, 3, { method, warmup: 1 });
      expect(r.backend).toBe('wasm');
      expect(r.msPerStep).toBeGreaterThan(0);
      expect(Number.isFinite(r.msPerStep)).toBe(true);
      expect(r.samplesPerSecond).toBeCloseTo((16 * 1000) / r.msPerStep, 6);
    });
  }

  for (const method of ['manual', 'autodiff'] as const) {
    it(`works for the cnn on wasm (${method}; autodiff needs the registered Conv2DBackpropFilter)`, async () => {
      const spec: ModelSpec = { kind: 'cnn', inputSize: 784, hidden: [], classes: 10, initSeed: 1 };
      const r = await timeGradientStep(spec, 8, 2, { method, warmup: 1 });
      expect(r.backend).toBe('wasm');
      expect(r.msPerStep).toBeGreaterThan(0);
      expect(r.samplesPerSecond).toBeCloseTo((8 * 1000) / r.msPerStep, 6);
    });
  }

  it('works for an mlp with batch norm', async () => {
    const spec: ModelSpec = { kind: 'mlp', inputSize: 12, hidden: [8], classes: 3, initSeed: 1, norm: 'batch' };
    expect((await timeGradientStep(spec, 16, 2, { warmup: 1 })).msPerStep).toBeGreaterThan(0);
  });

  it('rejects nonsense arguments', async () => {
    const spec: ModelSpec = { kind: 'mlp', inputSize: 2, hidden: [], classes: 2, initSeed: 1 };
    await expect(timeGradientStep(spec, 0, 1)).rejects.toThrow();
    await expect(timeGradientStep(spec, 4, 0)).rejects.toThrow();
  });
});
