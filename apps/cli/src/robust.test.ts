import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './testing/cli';

/*
 * Poisoning as an experiment (--faults flip:W@STEP:X: worker W sends -X times its contribution, a valid message)
 * and robust rules as the answer (--combine). Five workers on iid data, worker 4 poisoning from step 0 at x10:
 * the mean diverges (the run stops on a NaN loss or ends near chance), Multi-Krum leaves the poisoner out at
 * every step and trains, the coordinate-wise median trains too.
 */
describe('poisoning and robust combination', () => {
  const dir = tempDir();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const common = ['--workers', '5', '--steps', '60', '--samples', '6000', '--test-samples', '400', '--eval-every', '30', '--seed', '3', '--quiet', '--faults', 'flip:4@0:10'];
  const summary = (name: string) => JSON.parse(readFileSync(join(dir, name, 'summary.json'), 'utf8'));
  const steps = (name: string) =>
    readFileSync(join(dir, name, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((r) => r.kind === 'step');

  it('the mean fails under one poisoner; multi-krum discards exactly the poisoner every step and trains; the median trains', async () => {
    const mean = await runCli(['run', ...common, '--combine', 'mean', '--out', join(dir, 'mean')], 180_000);
    const s = summary('mean');
    // Either the loss became NaN (the run stops saying so) or the model ended near chance (4 classes: 25%).
    expect(mean.code !== 0 ? s.error : s.finalTestAccuracy).toSatisfy((v: unknown) => (typeof v === 'string' ? /NaN/.test(v) : (v as number) < 0.4));

    const krum = await runCli(['run', ...common, '--combine', 'multi-krum', '--krum-f', '1', '--out', join(dir, 'krum')], 180_000);
    expect(krum.code, krum.stderr).toBe(0);
    expect(summary('krum').finalTestAccuracy).toBeGreaterThan(0.5);
    const records = steps('krum');
    expect(records).toHaveLength(60);
    for (const r of records) expect(r.discarded).toEqual([0, 0, 0, 0, 1]);

    const median = await runCli(['run', ...common, '--combine', 'median', '--out', join(dir, 'median')], 180_000);
    expect(median.code, median.stderr).toBe(0);
    expect(summary('median').finalTestAccuracy).toBeGreaterThan(0.45);
    // The median uses one value of five per coordinate: the poisoner's is left out almost always.
    expect(steps('median').at(-1).discarded[4]).toBeGreaterThan(0.9);
  }, 600_000);

  // Shared memory holds every contribution, as the relay coordinator does, and computes the rule with the same
  // parts split by coordinates (or Multi-Krum's pairs): the same weights, and the same shares left out, bit for bit.
  for (const [rule, extra] of [
    ['median', ['--combine', 'median']],
    ['trimmed-mean under FedAvg', ['--combine', 'trimmed-mean', '--aggregation', 'fedavg', '--local-steps', '2']],
    ['multi-krum', ['--combine', 'multi-krum']],
  ] as const) {
    it(`${rule} among worker threads (shared memory) ends on the relay's weights and discarded shares, bit for bit`, async () => {
      const slug = rule.replace(/\W+/g, '-');
      const args = [...common.map((a, i) => (common[i - 1] === '--steps' ? '30' : a)), ...extra];
      const threads = await runCli(['run', ...args, '--runtime', 'threads', '--out', join(dir, `${slug}-threads`)], 180_000);
      expect(threads.code, threads.stderr).toBe(0);
      expect(JSON.parse(readFileSync(join(dir, `${slug}-threads`, 'config.json'), 'utf8'))).toMatchObject({ runtime: 'threads', collective: 'shared-memory' });
      const relay = await runCli(['run', ...args, '--out', join(dir, `${slug}-relay`)], 180_000);
      expect(relay.code, relay.stderr).toBe(0);
      expect(JSON.parse(readFileSync(join(dir, `${slug}-relay`, 'config.json'), 'utf8'))).toMatchObject({ runtime: 'processes', collective: 'relay' });
      const weights = (name: string) => readFileSync(join(dir, name, 'model', 'weights.bin'));
      expect(weights(`${slug}-threads`).equals(weights(`${slug}-relay`))).toBe(true);
      const shares = (name: string) => steps(name).map((r) => r.discarded);
      expect(shares(`${slug}-threads`)).toHaveLength(30);
      expect(shares(`${slug}-threads`)).toEqual(shares(`${slug}-relay`));
      // The poisoner (worker 4) is left out more than any honest worker.
      const mean = (w: number) => shares(`${slug}-threads`).reduce((s, d) => s + d[w], 0) / 30;
      for (const w of [0, 1, 2, 3]) expect(mean(4)).toBeGreaterThan(mean(w));
    }, 400_000);
  }

  it('refuses a robust rule where it cannot be computed, naming the flag', async () => {
    const ring = await runCli(['run', '--combine', 'median', '--collective', 'ring', '--out', join(dir, 'bad1')], 60_000);
    expect(ring.code).toBe(2);
    expect(ring.stderr).toContain('--combine: median needs every contribution in one place: use --collective relay, or shared-memory under --runtime threads (ring only ever sums them)');
    const trim = await runCli(['run', '--combine', 'trimmed-mean', '--trim', '2', '--workers', '4', '--out', join(dir, 'bad2')], 60_000);
    expect(trim.code).toBe(2);
    expect(trim.stderr).toContain('--trim 2: trimmed-mean drops --trim values at each end, so it needs 1 <= trim < workers / 2 (4 workers)');
    const flip = await runCli(['run', '--faults', 'flip:1@0', '--out', join(dir, 'bad3')], 60_000);
    expect(flip.code).toBe(2);
    expect(flip.stderr).toContain('flip needs the factor');
  }, 200_000);
});
