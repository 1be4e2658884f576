import { describe, expect, it } from 'vitest';
import { paramChecksum } from '@shardlab/aggregation';
import { createStrategy, loadDataset } from '@shardlab/data';
import { PROTOCOL_VERSION, WireError, encodeTensor } from '@shardlab/protocol';
import { resolveConfig, type ExperimentConfig } from './config';
import { Replica } from './replica';
import { TrainingSession, meanPairwiseCosine, pairwiseCosines, type MetricsRecord } from './session';

/*
 * The step engine without a network: fake workers call join / nextStep / pushGradient directly.
 * Their "gradient" is a known vector, so the averaged update and the replica are checkable exactly.
 */
function makeSession(overrides: Record<string, unknown> = {}) {
  const config: ExperimentConfig = resolveConfig({
    workers: 2, batchSize: 8, steps: 3, samples: 400, testSamples: 40, features: 6, hidden: [4], evalEvery: 2, checksumEvery: 1, ...overrides,
  });
  const { train } = loadDataset({ dataset: 'synthetic', seed: config.seed, samples: config.samples, testSamples: config.testSamples, features: config.features, numClasses: config.numClasses });
  const strategy = createStrategy(config.strategy, { labels: train.labels, numClasses: train.numClasses, workers: config.workers, batchSize: config.batchSize, seed: config.seed });
  const records: MetricsRecord[] = [];
  const session = new TrainingSession({
    config,
    train,
    strategy,
    evaluate: () => ({ accuracy: 0.5, loss: 1, perClassAccuracy: [0.5, 0.5, 0.5, 0.5] }),
    record: (r) => records.push(r),
  });
  return { session, config, records };
}

const join = (s: TrainingSession, name: string) => s.join({ protocolVersion: PROTOCOL_VERSION, name, backend: 'cpu' });

/** A well-behaved worker whose gradient at every step is `value` everywhere. */
async function fakeWorker(session: TrainingSession, name: string, value: number, opts: { checksum?: (r: Replica) => string } = {}) {
  const reply = join(session, name);
  const replica = new Replica(session.model, { name: 'sgd', lr: reply.optimizer.lr });
  for (let step = 0; ; step++) {
    const a = await session.nextStep({ runId: reply.runId, worker: reply.worker, step });
    if (a.update) replica.apply(new Float32Array(a.update.data.buffer, a.update.data.byteOffset, a.update.data.byteLength / 4));
    if (a.done) return { replica, stopReason: a.stopReason, steps: step };
    const g = new Float32Array(replica.params.length).fill(value);
    const samples = a.batches[0]!.labels.length;
    session.pushGradient({
      runId: reply.runId, worker: reply.worker, step, samples, loss: value, gradient: encodeTensor(g, [g.length]),
      paramChecksum: a.reportChecksum ? (opts.checksum ?? ((r) => r.checksum()))(replica) : '', computeMs: 1,
    });
  }
}

describe('TrainingSession', () => {
  it('runs synchronous steps: averages, updates every replica identically, records metrics', async () => {
    const { session, config, records } = makeSession();
    const run = session.run();
    const [a, b] = await Promise.all([fakeWorker(session, 'a', 1), fakeWorker(session, 'b', 3)]);
    const result = await run;
    expect(result.status).toBe('completed');
    expect(result.stepsCompleted).toBe(3);
    // Equal batches: the average of 1 and 3 is 2; SGD moves every weight by -lr*2 per step.
    const expected = new Replica(session.model, { name: 'sgd', lr: config.lr });
    for (let i = 0; i < 3; i++) expected.apply(new Float32Array(expected.params.length).fill(2));
    expect(paramChecksum(result.params)).toBe(expected.checksum());
    expect(a.replica.checksum()).toBe(expected.checksum());
    expect(b.replica.checksum()).toBe(expected.checksum());
    const steps = records.filter((r) => r.kind === 'step');
    expect(steps.map((r) => r.step)).toEqual([0, 1, 2]);
    expect(steps[0]).toMatchObject({ loss: 2, workerLoss: [1, 3], samples: 16 });
    expect(records.filter((r) => r.kind === 'eval').map((r) => r.step)).toEqual([2, 3]);
    expect(session.status()).toMatchObject({ state: 'finished', step: 3, joined: 2, contributions: [3, 3] });
  });

  it('refuses joins with another protocol version, without a backend, or beyond the worker count', () => {
    const { session } = makeSession();
    expect(() => session.join({ protocolVersion: PROTOCOL_VERSION + 1, name: 'x', backend: 'cpu' })).toThrow(/protocol version mismatch/);
    expect(() => session.join({ protocolVersion: PROTOCOL_VERSION, name: 'x', backend: '' })).toThrow(/backend/);
    join(session, 'a');
    join(session, 'b');
    try {
      join(session, 'c');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(WireError);
      expect((err as WireError).message).toMatch(/all 2 worker slots are taken/);
    }
  });

  it('stops when a replica reports another checksum', async () => {
    const { session } = makeSession();
    const run = session.run();
    const results = await Promise.all([fakeWorker(session, 'a', 1), fakeWorker(session, 'b', 1, { checksum: () => 'deadbeefdeadbeef' })]);
    const result = await run;
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/replicas diverged before step 0: coordinator parameters [0-9a-f]{16}, worker 1 has deadbeefdeadbeef/);
    expect(results.every((r) => r.stopReason === result.error)).toBe(true);
  });

  it('declares a worker lost after the step timeout', async () => {
    const { session } = makeSession({ stepTimeout: 0.2 });
    const run = session.run();
    void fakeWorker(session, 'a', 1);
    join(session, 'silent');
    const result = await run;
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/step 0: no gradient from worker 1 \(silent\) within 0.2 s/);
  });

  it('all-reduce sums in worker order and answers every worker', async () => {
    const { session } = makeSession();
    const run = session.run();
    const a = join(session, 'a');
    const b = join(session, 'b');
    await session.nextStep({ runId: a.runId, worker: 0, step: 0 });
    const pa = session.allReduce({ runId: a.runId, worker: 0, step: 0, tag: 0, values: [1, 2, 0.1] });
    const pb = session.allReduce({ runId: b.runId, worker: 1, step: 0, tag: 0, values: [10, 20, 0.2] });
    expect(await pa).toEqual([11, 22, 0.1 + 0.2]);
    expect(await pb).toEqual(await pa);
    const pending = session.allReduce({ runId: a.runId, worker: 0, step: 0, tag: 1, values: [1] });
    expect(() => session.allReduce({ runId: b.runId, worker: 1, step: 0, tag: 1, values: [1, 2] })).toThrow(/expected 1 values like the other workers, got 2/);
    // The run stopped: a worker still waiting in the all-reduce is answered, not left hanging.
    await expect(pending).rejects.toThrow(/run stopped: worker 1 \(b\), step 0, all-reduce 1: all-reduce values: expected 1 values/);
    expect((await run).status).toBe('failed');
  });

  it('fedavg subtracts the averaged pseudo-gradient on every replica', async () => {
    const { session } = makeSession({ aggregation: 'fedavg', localSteps: 2, checksumEvery: 10 });
    const run = session.run();
    const reply = join(session, 'a');
    join(session, 'b');
    const first = await session.nextStep({ runId: reply.runId, worker: 0, step: 0 });
    expect(first.batches).toHaveLength(2);
    const start = new Replica(session.model, { name: 'sgd', lr: 1 });
    const delta = new Float32Array(start.params.length).fill(0.25);
    for (const w of [0, 1]) {
      session.pushGradient({ runId: reply.runId, worker: w, step: 0, samples: 16, loss: 1, gradient: encodeTensor(delta, [delta.length]), paramChecksum: start.checksum(), computeMs: 1 });
    }
    const second = await session.nextStep({ runId: reply.runId, worker: 0, step: 1 });
    expect(Array.from(new Float32Array(second.update!.data.buffer, second.update!.data.byteOffset, 3))).toEqual([0.25, 0.25, 0.25]);
    session.fail('enough');
    const result = await run;
    expect(result.params[0]).toBe(Math.fround(start.params[0]! - 0.25));
  });
});

describe('meanPairwiseCosine', () => {
  it('is 1 for aligned gradients, -1 for opposed ones, null for one worker', () => {
    const g = Float32Array.from([1, 2, 3]);
    expect(meanPairwiseCosine([g, g])).toBeCloseTo(1, 12);
    expect(meanPairwiseCosine([g, g.map((x) => -x)])).toBeCloseTo(-1, 12);
    expect(meanPairwiseCosine([g])).toBeNull();
    const pairs = pairwiseCosines([g, g, g.map((x) => -x)]);
    expect(pairs).toHaveLength(3);
    expect(pairs.map((c) => Math.round(c))).toEqual([1, -1, -1]);
  });
});
