import { describe, expect, it } from 'vitest';
import { Replica } from './replica';
import { aggregationRule, type GradientModel } from './aggregation-rules';

/** A quadratic "model": loss = 0.5 * ||w - target||^2 per sample, gradient w - target. */
function quadratic(target: number[]): GradientModel & { seen: number[][] } {
  let w = new Float32Array(target.length);
  const seen: number[][] = [];
  return {
    seen,
    setParams: (p) => {
      w = p.slice();
      seen.push(Array.from(p));
    },
    gradientAsync: async () => {
      const g = w.map((x, i) => x - target[i]!);
      return { loss: 0.5 * g.reduce((a, x) => a + x * x, 0), gradient: g };
    },
  };
}

const batch = (n: number) => ({ features: new Float32Array(n), labels: new Array<number>(n).fill(0) });

describe('aggregation rules', () => {
  it('sync-sgd returns the gradient of the one batch at the replica parameters', async () => {
    const m = quadratic([1, 2]);
    const c = await aggregationRule('sync-sgd', { optimizer: { name: 'sgd', lr: 0.1 }, proxMu: 0 }).contribute(m, Float32Array.from([0, 0]), { batches: [() => batch(4)] });
    expect(Array.from(c.update)).toEqual([-1, -2]);
    expect(c.samples).toBe(4);
    expect(c.loss).toBeCloseTo(2.5, 6);
  });

  it('fedavg takes H local SGD steps and returns start - end', async () => {
    const m = quadratic([1, 0]);
    // w <- w - 0.5 (w - 1): 0 -> 0.5 -> 0.75 in the first coordinate.
    const c = await aggregationRule('fedavg', { optimizer: { name: 'sgd', lr: 0.5 }, proxMu: 0 }).contribute(m, Float32Array.from([0, 0]), { batches: [() => batch(2), () => batch(6)] });
    expect(Array.from(c.update)).toEqual([-0.75, 0]);
    expect(m.seen).toEqual([[0, 0], [0.5, 0]]);
    expect(c.samples).toBe(8);
    // Losses 0.5 then 0.125, weighted by batch sizes 2 and 6.
    expect(c.loss).toBeCloseTo((0.5 * 2 + 0.125 * 6) / 8, 6);
  });

  it('fedprox pulls the local steps back toward the round start', async () => {
    const m = quadratic([1, 0]);
    // gradient (w - 1) + mu (w - 0) with mu = 1: 0 -> 0.5 -> 0.5 - 0.5 * (0.5 - 1 + 0.5) = 0.5
    const c = await aggregationRule('fedprox', { optimizer: { name: 'sgd', lr: 0.5 }, proxMu: 1 }).contribute(m, Float32Array.from([0, 0]), { batches: [() => batch(1), () => batch(1)] });
    expect(Array.from(c.update)).toEqual([-0.5, 0]);
  });

  it('does not modify the replica parameters', async () => {
    const params = Float32Array.from([0, 0]);
    await aggregationRule('fedavg', { optimizer: { name: 'momentum', lr: 0.1 }, proxMu: 0 }).contribute(quadratic([1, 1]), params, { batches: [() => batch(1), () => batch(1), () => batch(1)] });
    expect(Array.from(params)).toEqual([0, 0]);
  });

  it('fedprox with mu 0 is fedavg; sync-sgd refuses several batches', async () => {
    const job = { batches: [() => batch(1), () => batch(1)] };
    const a = await aggregationRule('fedavg', { optimizer: { name: 'sgd', lr: 0.3 }, proxMu: 0 }).contribute(quadratic([1, 2]), Float32Array.from([0, 0]), job);
    const b = await aggregationRule('fedprox', { optimizer: { name: 'sgd', lr: 0.3 }, proxMu: 0 }).contribute(quadratic([1, 2]), Float32Array.from([0, 0]), job);
    expect(Array.from(b.update)).toEqual(Array.from(a.update));
    await expect(aggregationRule('sync-sgd', { optimizer: { name: 'sgd', lr: 0.1 }, proxMu: 0 }).contribute(quadratic([1]), Float32Array.from([0]), job)).rejects.toThrow(/exactly one batch/);
  });

  it('applyAverage: sync-sgd steps the optimizer with the average; fedavg/fedprox subtract it', () => {
    const spec = { kind: 'mlp' as const, inputSize: 2, hidden: [], classes: 2, initSeed: 1 };
    const sgd = new Replica(spec, { name: 'sgd', lr: 0.5 });
    const before = sgd.params.slice();
    const average = new Float32Array(before.length).fill(0.25);
    aggregationRule('sync-sgd', { optimizer: { name: 'sgd', lr: 0.5 }, proxMu: 0 }).applyAverage(sgd, average);
    expect(Array.from(sgd.params)).toEqual(Array.from(before.map((w) => Math.fround(w - 0.125))));
    const fed = new Replica(spec, { name: 'sgd', lr: 0.5 });
    aggregationRule('fedprox', { optimizer: { name: 'sgd', lr: 0.5 }, proxMu: 0.1 }).applyAverage(fed, average);
    expect(Array.from(fed.params)).toEqual(Array.from(before.map((w) => Math.fround(w - 0.25))));
  });
});
