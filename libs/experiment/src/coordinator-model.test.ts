import { describe, expect, it } from 'vitest';
import { paramChecksum } from '@shardlab/aggregation';
import { createStrategy, loadDataset } from '@shardlab/data';
import { Replica } from '@shardlab/worker';
import { planStep } from './batch-planner';
import { resolveCollective, resolveConfig, type RunConfig } from './config';
import { CoordinatorModel } from './coordinator-model';
import { newStepState } from './step-state';

/*
 * The coordinator's view of the model (relay: its own replica; among trainers: worker 0's parameters) and the
 * per-step plan, without a session.
 */

function setup(collective: 'relay' | 'ring', overrides: Record<string, unknown> = {}) {
  const config: RunConfig = { ...resolveCollective(resolveConfig({ workers: 2, batchSize: 4, steps: 5, samples: 200, testSamples: 20, features: 6, hidden: [4], evalEvery: 2, ...overrides }), false), collective };
  const { train } = loadDataset({ dataset: 'synthetic', seed: config.seed, samples: config.samples, testSamples: config.testSamples, features: config.features, numClasses: config.numClasses });
  return { config, train, model: new CoordinatorModel(config, train) };
}

/** A completed step in which worker w pushed a gradient of `values[w]` everywhere over `samples[w]` samples. */
function completed(size: number, values: number[], samples: number[]) {
  const st = newStepState({ step: 0, assignments: values.map(() => ({}) as never), lost: values.map(() => false), parameters: size, reportChecksum: false, expectedChecksum: null });
  values.forEach((v, w) => {
    st.gradients[w] = new Float32Array(size).fill(v);
    st.samples[w] = samples[w]!;
  });
  return st;
}

describe('CoordinatorModel', () => {
  it('relay: applies the sample-weighted average to its replica, as a trainer replica does, and keeps it for the answers', () => {
    const { config, model } = setup('relay');
    const trainer = new Replica(model.spec, { name: config.optimizer, lr: config.lr, momentum: config.momentum });
    expect(model.expectedChecksum()).toBe(trainer.checksum());
    const st = completed(model.size, [1, 4], [3, 1]);
    model.absorb(st);
    // (3 * 1 + 1 * 4) / 4 = 1.75, exact in float32.
    const average = new Float32Array(st.update!.data.buffer, st.update!.data.byteOffset, model.size);
    expect(Array.from(new Set(average))).toEqual([1.75]);
    trainer.apply(new Float32Array(model.size).fill(1.75));
    expect(model.expectedChecksum()).toBe(trainer.checksum());
    expect(paramChecksum(model.params())).toBe(trainer.checksum());
    expect(paramChecksum(model.state().params)).toBe(trainer.checksum());
  });

  it('among trainers: never averages, expects no checksum of its own, and serves the parameters worker 0 sent', () => {
    const { model } = setup('ring');
    const initial = paramChecksum(model.params());
    const st = completed(model.size, [1, 4], [3, 1]);
    model.absorb(st);
    expect(st.update).toBeNull();
    expect(model.expectedChecksum()).toBeNull();
    expect(paramChecksum(model.params())).toBe(initial);
    st.params = new Float32Array(model.size).fill(0.5);
    model.absorb(st);
    expect(model.params()).toBe(st.params);
  });
});

describe('planStep', () => {
  it('gives every worker its rank of the plan, asks among trainers for the gradient and worker 0 parameters when due, and a worker without a rank is done', () => {
    const { config, train } = setup('ring', { gradientMetricsEvery: 2, checksumEvery: 3 });
    const strategy = createStrategy(config.strategy, { labels: train.labels, numClasses: train.numClasses, workers: 2, batchSize: 4, seed: config.seed });
    const peerAddresses = () => ['127.0.0.1:1', '127.0.0.1:2'];
    const at = (t: number, ranks = [0, 1]) => planStep(t, { config, plan: { strategy, ranks }, train, peerAddresses });
    const [a0, a1] = at(0);
    expect(a0!.batches[0]!.ids).toEqual(Array.from(strategy.batch(0, 0)));
    expect(a1!.batches[0]!.ids).toEqual(Array.from(strategy.batch(0, 1)));
    expect([a0!.peers, a0!.reportGradient, a0!.reportChecksum]).toEqual([peerAddresses(), true, true]);
    // Step 1 precedes an evaluation (--eval-every 2): worker 0 sends its parameters after the update.
    expect(at(1).map((a) => [a.reportParams, a.reportGradient, a.peers.length])).toEqual([[true, false, 0], [false, false, 0]]);
    expect(at(2)[0]!.reportParams).toBe(false);
    // Worker 0 lost: worker 1 takes rank 0's batches.
    const [lost, survivor] = at(4, [1]);
    expect(lost!.done).toBe(true);
    expect(survivor!.batches[0]!.ids).toEqual(Array.from(strategy.batch(4, 0)));
  });
});
