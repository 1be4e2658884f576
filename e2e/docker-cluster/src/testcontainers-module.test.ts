import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ShardlabCluster, type StartedShardlabCluster } from '@shardlab/testcontainers';
import { images } from './support/cluster';

/* @shardlab/testcontainers as a user writes it: start a cluster, wait for the run, read the results, stop. */
describe('@shardlab/testcontainers', () => {
  let cluster: StartedShardlabCluster | null = null;
  afterAll(async () => {
    await cluster?.stop();
    if (cluster) rmSync(cluster.resultsDir, { recursive: true, force: true });
  });

  it('starts a cluster with the settings given, runs it to completion and hands back the results', async () => {
    cluster = await new ShardlabCluster({
      workers: 2,
      settings: { strategy: 'label-per-node', steps: 40, samples: 2000, testSamples: 200, hidden: [32, 16], collective: 'ring' },
      coordinatorImage: images().coordinator,
      trainerImage: images().trainer,
    }).start();
    expect(cluster.coordinatorAddress).toMatch(/^[\w.-]+:\d+$/);
    expect(cluster.token).toMatch(/^[0-9a-f]{32}$/);
    expect(cluster.trainers).toHaveLength(2);
    const { exitCode, summary } = await cluster.waitForRun(180_000);
    expect(exitCode).toBe(0);
    expect(summary).toMatchObject({ status: 'completed', workers: 2, stepsCompleted: 40, strategy: 'label-per-node', collective: 'ring' });
    const config = JSON.parse(readFileSync(join(cluster.resultsDir, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ hidden: [32, 16], samples: 2000 });
    expect(existsSync(join(cluster.resultsDir, 'model', 'model.json'))).toBe(true);
  }, 300_000);

  it('a bad setting fails the run with the coordinator\'s exit code, no hang', async () => {
    const bad = await new ShardlabCluster({ workers: 1, settings: { strategy: 'bogus' }, coordinatorImage: images().coordinator, trainerImage: images().trainer })
      .start()
      .then(
        (c) => c,
        (err: Error) => err,
      );
    // The coordinator refuses at once, before it is ever healthy: start() rejects, naming the container's failure.
    expect(bad).toBeInstanceOf(Error);
  }, 180_000);
});
