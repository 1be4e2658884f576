import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { maxAbsDiff } from '@shardlab/aggregation';
import { initBackend, loadParams } from '@shardlab/model';
import { runCli, tempDir } from './testing/cli';

/*
 * --runtime threads: the trainers are worker threads of the `shardlab run` process and average through shared
 * memory. The shared-memory average is the relay coordinator's recipe element by element (float64 in worker
 * order, one rounding), so a threads run must end on the very bytes of a processes run under relay, not merely
 * close to them; and it must keep the seed question's algebra (label-per-node 4 x 32 = stratified 1 x 128).
 */
describe('the threads runtime', () => {
  const dir = tempDir();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const common = ['--dataset', 'synthetic', '--samples', '6000', '--test-samples', '400', '--seed', '7', '--eval-every', '20', '--quiet'];
  const weights = (name: string) => readFileSync(join(dir, name, 'model', 'weights.bin'));

  for (const [label, extra] of [
    ['sync-SGD with momentum', ['--optimizer', 'momentum', '--lr', '0.01', '--steps', '40']],
    ['FedAvg, 3 local steps', ['--aggregation', 'fedavg', '--local-steps', '3', '--steps', '15', '--lr', '0.05']],
    ['SyncBN (in-step sums through shared memory)', ['--norm', 'sync-batch', '--steps', '30', '--lr', '0.05']],
  ] as const) {
    it(`${label}: the same final weights, bit for bit, as trainer processes under relay`, async () => {
      const slug = label.replace(/\W+/g, '-');
      const threads = await runCli(['run', ...common, ...extra, '--runtime', 'threads', '--out', join(dir, `${slug}-threads`)], 180_000);
      expect(threads.code, threads.stderr).toBe(0);
      expect(JSON.parse(readFileSync(join(dir, `${slug}-threads`, 'config.json'), 'utf8'))).toMatchObject({ runtime: 'threads', collective: 'shared-memory' });
      const processes = await runCli(['run', ...common, ...extra, '--collective', 'relay', '--out', join(dir, `${slug}-processes`)], 180_000);
      expect(processes.code, processes.stderr).toBe(0);
      expect(weights(`${slug}-threads`).equals(weights(`${slug}-processes`))).toBe(true);
    }, 400_000);
  }

  it('label-per-node 4 x 32 in threads equals stratified 1 x 128 to 1e-5 after 50 steps', async () => {
    const steps = ['--steps', '50', '--optimizer', 'sgd', '--lr', '0.05'];
    const lpn = await runCli(['run', ...common, ...steps, '--runtime', 'threads', '--strategy', 'label-per-node', '--workers', '4', '--batch-size', '32', '--out', join(dir, 'lpn')], 180_000);
    expect(lpn.code, lpn.stderr).toBe(0);
    const strat = await runCli(['run', ...common, ...steps, '--strategy', 'stratified', '--workers', '1', '--batch-size', '128', '--out', join(dir, 'strat')], 180_000);
    expect(strat.code, strat.stderr).toBe(0);
    await initBackend('cpu');
    const a = await loadParams(join(dir, 'lpn', 'model'));
    const b = await loadParams(join(dir, 'strat', 'model'));
    expect(maxAbsDiff(a.params, b.params)).toBeLessThanOrEqual(1e-5); // the tolerance argued in equivalence.test.ts
  }, 400_000);

  it('a worker thread killed by fault injection stops the run naming it, without waiting for the step timeout', async () => {
    // An hour's step timeout, past the test's own: the run can end in time only by hearing of the thread's end.
    const r = await runCli(['run', ...common, '--runtime', 'threads', '--steps', '60', '--faults', 'kill:2@10', '--step-timeout', '3600', '--out', join(dir, 'killed')], 180_000);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/trainer-\d was killed/);
    const summary = JSON.parse(readFileSync(join(dir, 'killed', 'summary.json'), 'utf8'));
    expect(summary.status).toBe('failed');
    expect(summary.error).toMatch(/was killed/);
  }, 200_000);

  it('refuses settings the threads runtime cannot honour, naming the flag', async () => {
    const sharedWithoutThreads = await runCli(['run', ...common, '--collective', 'shared-memory', '--out', join(dir, 'bad1')], 60_000);
    expect(sharedWithoutThreads.code).toBe(2);
    expect(sharedWithoutThreads.stderr).toContain('--collective: shared-memory averages among worker threads; it needs --runtime threads');
    const replace = await runCli(['run', ...common, '--runtime', 'threads', '--lost-worker', 'replace', '--collective', 'relay', '--out', join(dir, 'bad2')], 60_000);
    expect(replace.code).toBe(2);
    expect(replace.stderr).toContain('--lost-worker: replace is not supported with --runtime threads');
    const standalone = await runCli(['coordinator', '--runtime', 'threads', '--workers', '2', '--port', '0', '--out', join(dir, 'bad3')], 60_000);
    expect(standalone.code).not.toBe(0);
    expect(standalone.stderr).toContain('--runtime threads: a standalone coordinator');
    expect(standalone.stderr.trim().split('\n')).toHaveLength(1);
  }, 200_000);
});
