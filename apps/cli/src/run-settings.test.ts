import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './testing/cli';

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** config.json without what differs between any two runs. */
function settings(out: string): Record<string, unknown> {
  const { runId: _r, startedAt: _s, provenance: _p, ...rest } = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
  void [_r, _s, _p];
  return rest;
}

describe('one run, three ways to say its settings', () => {
  it('flags, key=value and a settings file give the same config.json and the same weights', async () => {
    const flags = ['--strategy', 'label-per-node', '--steps', '15', '--lr', '0.1', '--batch-size', '32', '--hidden', '16,8', '--samples', '2000', '--test-samples', '200', '--seed', '4'];
    const overrides = ['strategy=label-per-node', 'steps=15', 'lr=0.1', 'batch-size=32', 'hidden=16,8', 'samples=2000', 'testSamples=200', 'seed=4'];
    const file = join(dir, 'run.yaml');
    writeFileSync(file, 'strategy: label-per-node\nsteps: 40\nlr: 0.1\nbatchSize: 32\nhidden: [16, 8]\nsamples: 2000\ntestSamples: 200\nseed: 4\n');
    const outs = ['flags', 'overrides', 'file'].map((n) => join(dir, n));
    const results = await Promise.all([
      runCli(['run', ...flags, '--out', outs[0]!, '--quiet']),
      runCli(['run', ...overrides, '--out', outs[1]!, '--quiet']),
      // The file says 40 steps; the command line wins.
      runCli(['run', '--config', file, 'steps=15', '--out', outs[2]!, '--quiet']),
    ]);
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const [a, b, c] = outs.map(settings);
    expect(a).toMatchObject({ strategy: 'label-per-node', steps: 15, lr: 0.1, batchSize: 32, hidden: [16, 8], seed: 4 });
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    const weights = outs.map((o) => readFileSync(join(o, 'model', 'weights.bin')));
    expect(weights[1]!.equals(weights[0]!)).toBe(true);
    expect(weights[2]!.equals(weights[0]!)).toBe(true);
  }, 180_000);
});
