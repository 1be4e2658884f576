import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { maxAbsDiff } from '@shardlab/aggregation';
import { initBackend, loadParams } from '@shardlab/model';
import { runCli, tempDir } from './testing/cli';

/*
 * The algebra behind the seed question: averaging the mean gradients of 4 single-class
 * batches of 32 (weights 32 each) is the mean gradient of their union, a class-balanced
 * batch of 128. So `label-per-node` on 4 workers x 32 and `stratified` on 1 worker x 128,
 * which see exactly the same samples at every step, must train the same weights.
 *
 * Tolerance 1e-5 (max abs over ~109k weights, 50 SGD steps): the two runs differ only in the
 * order float32 sums are taken (4 matMuls over 32 rows + a float64 average, versus one
 * matMul over 128 rows), ~1e-7 relative per step; lr 0.05 keeps the drift two orders below
 * 1e-5. A real difference of batch composition moves weights by >1e-3 within a few steps
 * (checked below against iid, which sees other samples).
 */
describe('label-per-node (4 x 32) equals stratified (1 x 128) under synchronous averaging', () => {
  const dir = tempDir();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const common = ['--dataset', 'synthetic', '--samples', '6000', '--test-samples', '400', '--steps', '50', '--optimizer', 'sgd', '--lr', '0.05', '--seed', '7', '--eval-every', '50', '--quiet'];

  it('final weights agree to 1e-5, and differ from an iid run', async () => {
    const runs = [
      ['label-per-node', ['--strategy', 'label-per-node', '--workers', '4', '--batch-size', '32']],
      ['stratified', ['--strategy', 'stratified', '--workers', '1', '--batch-size', '128']],
      ['iid', ['--strategy', 'iid', '--workers', '1', '--batch-size', '128']],
    ] as const;
    for (const [name, args] of runs) {
      const r = await runCli(['run', ...common, ...args, '--out', join(dir, name)], 180_000);
      expect(r.code, r.stderr).toBe(0);
    }
    await initBackend('cpu');
    const lpn = await loadParams(join(dir, 'label-per-node', 'model'));
    const strat = await loadParams(join(dir, 'stratified', 'model'));
    const iid = await loadParams(join(dir, 'iid', 'model'));
    expect(lpn.params.length).toBe(784 * 128 + 128 + 128 * 64 + 64 + 64 * 4 + 4);
    expect(maxAbsDiff(lpn.params, strat.params)).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(lpn.params, iid.params)).toBeGreaterThan(1e-3);
  }, 400_000);
});
