import { describe, expect, it } from 'vitest';
import { weightedAverage } from '@shardlab/aggregation';
import { PeerCollective, memoryLinks, type Collective } from '@shardlab/collective';
import { loadDataset, type Dataset } from '@shardlab/data';
import { decodeTensor, encodeTensor, type GradientUpdate, type StepAssignment__Output } from '@shardlab/protocol';
import { aggregationRule } from './aggregation-rules';
import { FaultPlan } from './faults';
import { Replica } from './replica';
import type { BuffersRule } from './buffers';
import { WorkerError, runWorkerLoop, type CoordinatorPort, type WorkerModel } from './worker-loop';

/*
 * The worker's step loop without a network: the coordinator is a fake that answers pushes once every worker
 * has pushed (relay: with the weighted average), and the peers average through in-memory links.
 */

const FEATURES = 6;
const LR = 0.5;
const { train } = loadDataset({ dataset: 'synthetic', seed: 3, samples: 200, testSamples: 20, features: FEATURES, numClasses: 4 });

/** loss = 0.5 ||w - mean row||^2: the gradient, w - the batch's mean row, depends on which samples the batch holds. */
function meanModel(): WorkerModel {
  let w = new Float32Array(FEATURES);
  return {
    bufferSize: 0,
    getBuffers: () => new Float32Array(0),
    setBuffers: () => undefined,
    setParams: (p) => void (w = p.slice()),
    gradientAsync: async (features, _labels, n) => {
      const g = Float32Array.from(w);
      for (let r = 0; r < n; r++) for (let j = 0; j < FEATURES; j++) g[j] = g[j]! - features[r * FEATURES + j]! / n;
      return { loss: 0, gradient: g };
    },
  };
}

/** Worker w's ids at step t: batches of 3 and 5 samples, so the average is weighted. */
const idsOf = (t: number, w: number) => Array.from({ length: w === 0 ? 3 : 5 }, (_, i) => (t * 8 + w * 3 + i) % train.size);

/** A coordinator for `workers` workers and `steps` steps; `relay` answers every push with the weighted average. */
function fakeCoordinator(workers: number, steps: number, relay: boolean) {
  const assignment = (t: number, w: number): StepAssignment__Output => ({
    step: t,
    done: t >= steps,
    stopReason: '',
    batches: t >= steps ? [] : [{ ids: idsOf(t, w), labels: [], features: null }],
    peers: !relay && t === 0 ? Array.from({ length: workers }, (_, k) => `peer-${k}`) : [],
    reportChecksum: false,
    reportGradient: false,
    reportParams: false,
    reportState: false,
    peerVerifiers: [],
    peerWorkers: [],
    epoch: 0,
  });
  const waiting: { update: GradientUpdate; answer: (ack: { update: null | ReturnType<typeof encodeTensor>; next: StepAssignment__Output }) => void }[] = [];
  const pushes: GradientUpdate[] = [];
  const port = (w: number): CoordinatorPort => ({
    nextStep: async (step) => assignment(step, w),
    push: (update) =>
      new Promise((resolve, reject) => {
        pushes.push(update);
        // As the coordinator does: a worker's error stops the run, and its push is answered with the reason.
        if (update.error) return reject(new Error(`run stopped: ${update.error}`));
        waiting.push({ update, answer: resolve as never });
        if (waiting.length < workers) return;
        const all = waiting.splice(0).sort((a, b) => a.update.worker! - b.update.worker!);
        const t = Number(all[0]!.update.step);
        const average = relay
          ? weightedAverage(
              all.map((p) => decodeTensor(p.update.gradient as never, { length: FEATURES, field: 'gradient' })),
              all.map((p) => Number(p.update.samples)),
            )
          : null;
        for (const p of all) p.answer({ update: average ? encodeTensor(average, [FEATURES]) : null, next: assignment(t + 1, Number(p.update.worker)) });
      }),
    sum: () => Promise.reject(new Error('no SyncBN in these tests')),
  });
  return { port, pushes };
}

function loop(
  worker: number,
  coordinator: CoordinatorPort,
  connectPeers: ((a: readonly string[]) => Collective) | null,
  data: Dataset | null = train,
  model: WorkerModel = meanModel(),
  buffersRule: BuffersRule = 'broadcast',
) {
  const replica = new Replica({ kind: 'mlp', inputSize: 2, hidden: [], classes: 2, initSeed: 1 } as never, { name: 'sgd', lr: LR });
  // A 2-input, 2-class MLP without hidden layers has 2 x 2 + 2 = FEATURES parameters: the mean model's size.
  replica.params.fill(0);
  return {
    replica,
    done: runWorkerLoop({
      runId: 'run',
      worker,
      workers: 2,
      startStep: 0,
      model,
      inputSize: FEATURES,
      replica,
      rule: aggregationRule('sync-sgd', { optimizer: { name: 'sgd', lr: LR }, proxMu: 0 }),
      syncBatchNorm: false,
      buffersRule,
      train: data,
      faults: new FaultPlan([], worker, 1),
      robust: null,
      effects: { kill: () => undefined, freeze: () => undefined },
      coordinator,
      connectPeers,
      collective: connectPeers ? 'halving-doubling' : 'relay',
      log: () => undefined,
    }),
  };
}

/** One replica trained on both workers' batches at once: where every worker must end. */
function reference(steps: number): Float32Array {
  const w = new Float32Array(FEATURES);
  for (let t = 0; t < steps; t++) {
    const ids = [...idsOf(t, 0), ...idsOf(t, 1)];
    const rows = train.features(ids);
    for (let j = 0; j < FEATURES; j++) {
      let mean = 0;
      for (let r = 0; r < ids.length; r++) mean += rows[r * FEATURES + j]! / ids.length;
      w[j] = w[j]! - LR * (w[j]! - mean);
    }
  }
  return w;
}

describe('runWorkerLoop', () => {
  it.each([
    ['relay (the coordinator averages)', true],
    ['halving-doubling among the workers (in memory)', false],
  ])('%s: two workers with batches of 3 and 5 end bit-identical, where one replica trained on both batches ends (1e-6)', async (_, relay) => {
    const steps = 12;
    const coordinator = fakeCoordinator(2, steps, relay);
    const links = memoryLinks(2);
    const peersOf = (w: number) => (relay ? null : () => new PeerCollective(w, 2, links[w]!, 'halving-doubling'));
    const workers = [0, 1].map((w) => loop(w, coordinator.port(w), peersOf(w)));
    const results = await Promise.all(workers.map((x) => x.done));
    expect(results).toEqual([
      { steps, stopReason: '' },
      { steps, stopReason: '' },
    ]);
    expect(Array.from(workers[1]!.replica.params)).toEqual(Array.from(workers[0]!.replica.params));
    const expected = reference(steps);
    for (let j = 0; j < FEATURES; j++) expect(Math.abs(workers[0]!.replica.params[j]! - expected[j]!)).toBeLessThan(1e-6);
    // Every step reported once per worker, with its samples (relay: and the gradient; otherwise the norm).
    expect(coordinator.pushes).toHaveLength(2 * steps);
    expect(coordinator.pushes.every((p) => (relay ? p.gradient && p.gradNorm === undefined : !p.gradient && Number(p.gradNorm) > 0))).toBe(true);
  });

  it('refuses an assignment for a step other than the one due', async () => {
    const port: CoordinatorPort = { nextStep: async () => ({ step: 5, done: false, stopReason: '', batches: [], peers: [], reportChecksum: false, reportGradient: false, reportParams: false, reportState: false, peerVerifiers: [], peerWorkers: [], epoch: 0 }), push: () => Promise.reject(new Error('unused')), sum: () => Promise.reject(new Error('unused')) };
    await expect(loop(0, port, null).done).rejects.toThrow(new WorkerError('the coordinator assigned step 5 where step 0 was due'));
  });

  it('refuses a sample id outside the training set, naming the field', async () => {
    const tiny = loadDataset({ dataset: 'synthetic', seed: 3, samples: 100, testSamples: 20, features: FEATURES, numClasses: 4 }).train;
    const coordinator = fakeCoordinator(1, 30, true);
    // Worker 0's ids are t * 8 + 0..2: step 12 takes 96..98, step 13 104..106, outside a training set of 100.
    await expect(loop(0, coordinator.port(0), null, tiny).done).rejects.toThrow(new WorkerError('batch.ids: sample id 104 is outside the training set (0..99)'));
  });

  it('a failed all-reduce is reported to the coordinator, naming the cause, before the worker stops', async () => {
    const coordinator = fakeCoordinator(2, 5, false);
    const broken: Collective = { average: () => Promise.reject(new Error('nothing from worker 1 within 2 s')), sum: () => Promise.reject(new Error('unused')) };
    await expect(loop(0, coordinator.port(0), () => broken).done).rejects.toThrow(new WorkerError('step 0: halving-doubling all-reduce: nothing from worker 1 within 2 s'));
    expect(coordinator.pushes.map((p) => p.error ?? null)).toEqual([null, 'halving-doubling all-reduce: nothing from worker 1 within 2 s']);
  });

  it.each(['broadcast', 'average', 'local'] as const)('among trainers, --buffers %s: the buffers after the run are what the rule says', async (rule) => {
    const steps = 5;
    const coordinator = fakeCoordinator(2, steps, false);
    const links = memoryLinks(2);
    // The mean model with running "statistics" of its own: each step moves them halfway to a value only this worker sees.
    const withBuffers = (w: number): WorkerModel & { buffers: Float32Array } => {
      const base = meanModel();
      const m = {
        ...base,
        bufferSize: 3,
        buffers: new Float32Array(3),
        getBuffers: () => m.buffers.slice(),
        setBuffers: (b: Float32Array) => void (m.buffers = b.slice()),
        gradientAsync: async (features: Float32Array, labels: ArrayLike<number>, n: number) => {
          m.buffers = m.buffers.map((v, i) => 0.5 * v + 0.5 * (w + 1) * 10 * (i + 1));
          return base.gradientAsync(features, labels, n);
        },
      };
      return m;
    };
    const models = [withBuffers(0), withBuffers(1)];
    const workers = [0, 1].map((w) => loop(w, coordinator.port(w), () => new PeerCollective(w, 2, links[w]!, 'halving-doubling'), train, models[w], rule));
    await Promise.all(workers.map((x) => x.done));
    const [b0, b1] = models.map((m) => Array.from(m.buffers));
    if (rule === 'local') {
      // Each its own: worker 1's statistics run towards twice worker 0's.
      expect(b1![0]!).toBeGreaterThan(1.5 * b0![0]!);
      return;
    }
    expect(b1).toEqual(b0);
    // broadcast: worker 0's own sequence, v -> (v + 10 (i + 1)) / 2 from 0, five times; average: both workers' means.
    const own = (target: number) => Array.from({ length: steps }).reduce<number>((v) => Math.fround(0.5 * v + 0.5 * target), 0);
    if (rule === 'broadcast') b0!.forEach((v, i) => expect(v).toBeCloseTo(own(10 * (i + 1)), 4));
    else b0!.forEach((v, i) => expect(v).toBeCloseTo(own(15 * (i + 1)), 4));
  });
});
