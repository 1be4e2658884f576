import { afterEach, describe, expect, it } from 'vitest';
import { serveSession, type RunningServer } from '@shardlab/coordinator';
import { createStrategy, loadDataset } from '@shardlab/data';
import { TrainingSession, resolveCollective, resolveConfig } from '@shardlab/experiment';
import { PROTOCOL_VERSION } from '@shardlab/protocol';
import { TrainerError, runTrainer } from '@shardlab/trainer';

/* The trainer loop against a real in-process coordinator on loopback (cpu backend, tiny MLP). */
function session(overrides: Record<string, unknown> = {}) {
  const config = resolveCollective(resolveConfig({ workers: 1, steps: 4, samples: 400, testSamples: 40, features: 8, hidden: [6], batchSize: 8, checksumEvery: 1, ...overrides }), false);
  const { train } = loadDataset({ dataset: 'synthetic', seed: 1, samples: 400, testSamples: 40, features: 8, numClasses: 4 });
  const strategy = createStrategy('iid', { labels: train.labels, numClasses: 4, workers: 1, batchSize: 8, seed: 1 });
  return new TrainingSession({ config, train, strategy, evaluate: () => ({ accuracy: 1, loss: 0, perClassAccuracy: [1, 1, 1, 1] }), record: () => undefined });
}

describe('runTrainer', () => {
  let server: RunningServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  it.each(['sync-sgd', 'fedavg'])('trains every step with %s and keeps its replica identical to the coordinator', async (aggregation) => {
    const s = session(aggregation === 'fedavg' ? { aggregation, localSteps: 3 } : {});
    server = await serveSession(s, '127.0.0.1', 0);
    const [result, trainer] = await Promise.all([s.run(), runTrainer({ coordinator: server.address, backend: 'cpu', connectTimeout: 10, name: 'unit' })]);
    expect(result.status, result.error ?? '').toBe('completed');
    expect(trainer).toMatchObject({ worker: 0, steps: 4, backend: 'cpu', stopReason: '' });
  }, 60_000);

  it('fails with a one-line TrainerError when the coordinator refuses its protocol version', async () => {
    const s = session();
    server = await serveSession(s, '127.0.0.1', 0);
    const p = runTrainer({ coordinator: server.address, backend: 'cpu', connectTimeout: 10, protocolVersion: PROTOCOL_VERSION + 1 });
    await expect(p).rejects.toThrow(TrainerError);
    await expect(runTrainer({ coordinator: server.address, backend: 'cpu', connectTimeout: 10, protocolVersion: PROTOCOL_VERSION + 1 })).rejects.toThrow(
      new RegExp(`join 127\\.0\\.0\\.1:\\d+: FAILED_PRECONDITION: protocol version mismatch: trainer speaks shardlab\\.v1 protocol ${PROTOCOL_VERSION + 1}, coordinator speaks ${PROTOCOL_VERSION}$`),
    );
    s.fail('test over');
  }, 30_000);
});
