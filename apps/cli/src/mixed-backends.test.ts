import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '@shardlab/experiment';
import { fashionMnistAvailable } from '@shardlab/data';
import { nativeAvailable } from '@shardlab/native';
import { runEmbedded } from './embedded';
import { tempDir } from './testing/cli';

/*
 * Replicas stay bit-identical whatever mix of backends computes the gradients, because every replica applies
 * the averaged gradient with the same plain-JS optimizer. Here one trainer runs on native (OpenBLAS) and one on
 * wasm: their gradients differ in the last bits (different summation orders), but the parameter checksums that
 * the coordinator compares at every step (--checksum-every 1) must agree, or the run stops with "diverged".
 */
describe.runIf(nativeAvailable())('a cluster of native and wasm trainers', () => {
  const dir = tempDir();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps every replica bit-identical (checksums compared at every step)', async () => {
    const config = resolveConfig({ workers: 2, steps: 30, checksumEvery: 1, evalEvery: 30, samples: 4000, testSamples: 200, optimizer: 'adam', lr: 0.01, backend: 'native' });
    const { summary } = await runEmbedded(config, { out: dir, port: 0, quiet: true, trainerBackends: ['native', 'wasm'] });
    expect(summary.error).toBeNull();
    expect(summary.status).toBe('completed');
    expect([...summary.trainerBackends].sort()).toEqual(['native', 'wasm']);
    const events = readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; event?: string; step: number; message: string });
    const checks = events.filter((e) => e.kind === 'event' && e.event === 'checksum');
    expect(checks.map((c) => c.step)).toEqual(Array.from({ length: 30 }, (_, t) => t));
    for (const c of checks) expect(c.message).toMatch(/^all 2 replicas at \S+$/);
  }, 120_000);

  // Deformed images are made by each trainer from (seed, id): a wasm and a native trainer, each in its own process,
  // must make the same bytes, or the coordinator refuses the one whose data fingerprint differs from its own.
  it.runIf(process.env['SHARDLAB_REQUIRE_FASHION_MNIST'] === '1' || fashionMnistAvailable())('deformed Fashion-MNIST: both trainers make the coordinator\'s bytes', async () => {
    const out = join(dir, 'deformed');
    const config = resolveConfig({ dataset: 'fashion-mnist-deformed', classes: [0, 1, 2, 3], samples: 1_000_000, workers: 2, steps: 10, checksumEvery: 1, evalEvery: 10, backend: 'native' });
    const { summary } = await runEmbedded(config, { out, port: 0, quiet: true, trainerBackends: ['native', 'wasm'] });
    expect(summary.error).toBeNull();
    expect(summary).toMatchObject({ status: 'completed', stepsCompleted: 10 });
    expect([...summary.trainerBackends].sort()).toEqual(['native', 'wasm']);
  }, 120_000);
});
