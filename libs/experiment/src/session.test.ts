import { describe, expect, it } from 'vitest';
import { l2Norm, paramChecksum } from '@shardlab/aggregation';
import { PeerCollective, memoryLinks, type PeerLink } from '@shardlab/collective';
import { createStrategy, dataFingerprint, loadDataset, type DataFingerprint } from '@shardlab/data';
import { PROTOCOL_VERSION, encodeTensor } from '@shardlab/protocol';
import { RequestError } from './errors';
import type { StepAssignment__Output } from '@shardlab/protocol';
import { received } from '@shardlab/testing';
import { resolveCollective, resolveConfig, type RunConfig } from './config';
import { datasetSpecFromWire } from '@shardlab/worker';
import { Replica } from '@shardlab/worker';
import { coordinatorRequestLimits, REDUCTION_VALUES_PER_WORKER_STEP } from '@shardlab/protocol';
import { MAX_REDUCTIONS_PER_STEP, TrainingSession, meanPairwiseCosine, pairwiseCosines, type MetricsRecord } from './session';

/*
 * The step engine without a network: fake workers call join / nextStep / pushGradient directly.
 * Their "gradient" is a known vector, so the averaged update and the replica are checkable exactly.
 */
function makeSession(overrides: Record<string, unknown> = {}) {
  // A session's collective is decided before it starts; auto, with trainers elsewhere, is relay.
  const config: RunConfig = resolveCollective(
    resolveConfig({ workers: 2, batchSize: 8, steps: 3, samples: 400, testSamples: 40, features: 6, hidden: [4], evalEvery: 2, checksumEvery: 1, ...overrides }),
    false,
  );
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

/** What a trainer does under feed "ids": load the dataset the coordinator describes, and fingerprint it. */
const trainerFingerprint = (s: TrainingSession): DataFingerprint => dataFingerprint(loadDataset(datasetSpecFromWire(s.describeDataset().dataset!)).train);
let nextPeerPort = 7000;
const join = (s: TrainingSession, name: string) => s.join(received.join({ protocolVersion: PROTOCOL_VERSION, name, backend: 'cpu', data: trainerFingerprint(s), peerAddress: `127.0.0.1:${nextPeerPort++}` }));

/** A well-behaved worker whose gradient at every step is `value` everywhere. */
const floats = (t: { data: Buffer }) => new Float32Array(t.data.buffer, t.data.byteOffset, t.data.byteLength / 4);

/**
 * A well-behaved worker whose gradient at every step is `value` everywhere. Relay: it pushes the gradient and
 * applies the average the coordinator answers with. Ring (`ring` given): it averages through the ring itself
 * and reports the step's scalars (the gradient only when asked, its parameters when asked).
 */
async function fakeWorker(session: TrainingSession, name: string, value: number, opts: { checksum?: (r: Replica) => string; ring?: PeerLink[] } = {}) {
  const reply = join(session, name);
  const replica = new Replica(session.model, { name: 'sgd', lr: reply.optimizer!.lr });
  const ring = opts.ring ? new PeerCollective(reply.worker, reply.workers, opts.ring[reply.worker]!) : null;
  // The answer to a push carries the next assignment; NextStep is for the first step (and after a refused push).
  let next: StepAssignment__Output | null = null;
  for (let step = 0; ; step++) {
    const a: StepAssignment__Output = next ?? (await session.nextStep({ runId: reply.runId, worker: reply.worker, step }));
    next = null;
    expect(a.done || a.step === step).toBe(true);
    if (a.done) return { replica, stopReason: a.stopReason, steps: step };
    const g = new Float32Array(replica.params.length).fill(value);
    const samples = a.batches[0]!.ids.length;
    const report = {
      runId: reply.runId, worker: reply.worker, step, samples, loss: value,
      paramChecksum: a.reportChecksum ? (opts.checksum ?? ((r) => r.checksum()))(replica) : '', computeMs: 1,
    };
    if (!ring) {
      const answer = await session.pushGradient(received.push({ ...report, gradient: encodeTensor(g, [g.length]) })).catch(() => null);
      if (answer) {
        replica.apply(floats(answer.update!));
        next = answer.next;
      }
      continue;
    }
    // Like the trainer: the report leaves before the all-reduce, except when the parameters after it are asked for.
    const scalars = { ...report, gradNorm: l2Norm(g), reduceMs: 1, gradient: a.reportGradient ? encodeTensor(g, [g.length]) : undefined };
    const early = a.reportParams ? null : session.pushGradient(received.push(scalars)).catch(() => null);
    replica.apply(await ring.average(g, samples, step));
    const answer = await (early ?? session.pushGradient(received.push({ ...scalars, params: encodeTensor(replica.params, [replica.params.length]) })).catch(() => null));
    if (answer) {
      expect(answer.update).toBeNull();
      next = answer.next;
    }
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

  it('feed ids: a trainer joins only with the same data; one with other data is refused before it takes a slot', () => {
    const { session, records } = makeSession();
    expect(session.describeDataset()).toEqual({
      feed: 'ids',
      dataset: { dataset: 'synthetic', classes: [], seed: 1, samples: 400, testSamples: 40, features: 6, numClasses: 4, deformation: 1 },
      collective: 'relay',
    });
    const other = dataFingerprint(loadDataset({ dataset: 'synthetic', seed: 2, samples: 400, testSamples: 40, features: 6, numClasses: 4 }).train);
    const refused = (() => {
      try {
        session.join(received.join({ protocolVersion: PROTOCOL_VERSION, name: 'elsewhere', backend: 'cpu', data: other }));
      } catch (err) {
        return err as RequestError;
      }
      return expect.unreachable();
    })();
    expect(refused).toBeInstanceOf(RequestError);
    expect(refused.fault).toBe('wrong-state'); // FAILED_PRECONDITION at the coordinator's edge
    expect(refused.message).toMatch(/^trainer "elsewhere" has other data than the coordinator \(synthetic\): features differ \(sha256 of 64 sampled rows [0-9a-f]{12} here, [0-9a-f]{12} there\)$/);
    expect(() => session.join(received.join({ protocolVersion: PROTOCOL_VERSION, name: 'nodata', backend: 'cpu' }))).toThrow(/JoinRequest.data: this run feeds sample ids/);
    expect(session.status().joined).toBe(0);
    // Counted, and written later as one summary event per kind (never a metrics line per request).
    expect(records.filter((r) => r.kind === 'event' && r.event === 'refused')).toHaveLength(0);
    expect(join(session, 'a')).toMatchObject({ worker: 0, feed: 'ids' });
  });

  it('feed ids: batches carry sample ids only; feed features: features and labels too', async () => {
    for (const feed of ['ids', 'features'] as const) {
      const { session } = makeSession({ feed, workers: 1 });
      const reply = feed === 'ids' ? join(session, 'a') : session.join(received.join({ protocolVersion: PROTOCOL_VERSION, name: 'a', backend: 'cpu' }));
      const run = session.run();
      const a = await session.nextStep({ runId: reply.runId, worker: 0, step: 0 });
      const batch = a.batches[0]!;
      expect(batch.ids).toHaveLength(8);
      if (feed === 'ids') expect(batch).toMatchObject({ features: null, labels: [] });
      else expect(batch.features!.data.length).toBe(8 * 6 * 4);
      if (feed === 'features') expect(batch.labels).toHaveLength(8);
      session.fail('test over');
      await run;
    }
  });

  it('refuses joins with another protocol version, without a backend, or beyond the worker count', () => {
    const { session } = makeSession();
    expect(() => session.join(received.join({ protocolVersion: PROTOCOL_VERSION + 1, name: 'x', backend: 'cpu' }))).toThrow(/protocol version mismatch/);
    expect(() => session.join(received.join({ protocolVersion: PROTOCOL_VERSION, name: 'x', backend: '' }))).toThrow(/backend/);
    join(session, 'a');
    join(session, 'b');
    try {
      join(session, 'c');
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ fault: 'over-limit' });
      expect((err as RequestError).message).toMatch(/all 2 worker slots are taken/);
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

  it('--lost-worker continue: a silent worker is declared lost, the step completes with the survivors, the plan is rebuilt for them', async () => {
    const { session, records } = makeSession({ workers: 3, stepTimeout: 0.3, lostWorker: 'continue', steps: 4, strategy: 'label-per-node' });
    const run = session.run();
    const workers = [fakeWorker(session, 'a', 1), fakeWorker(session, 'b', 3)];
    const silent = join(session, 'silent');
    // The silent worker takes its step-0 assignment, then never pushes.
    await session.nextStep({ runId: silent.runId, worker: 2, step: 0 });
    const result = await run;
    expect(result.status).toBe('completed');
    expect(result.stepsCompleted).toBe(4);
    expect(result.lostWorkers).toEqual([2]);
    const lost = records.filter((r) => r.kind === 'event' && r.event === 'lost');
    expect(lost).toEqual([expect.objectContaining({ step: 0, worker: 2, message: expect.stringMatching(/worker 2 \(silent\) lost: step 0: no gradient within 0.3 s/) })]);
    // Every step averages the two survivors only (gradients 1 and 3, equal samples: 2), so both replicas agree.
    const [a, b] = await Promise.all(workers);
    expect(a.replica.checksum()).toBe(b.replica.checksum());
    const steps = records.filter((r) => r.kind === 'step');
    expect(steps.map((r) => r.samples)).toEqual([16, 16, 16, 16]);
    expect(steps.every((r) => r.kind === 'step' && r.loss === 2)).toBe(true);
    // The lost worker's calls are refused (and counted), without stopping the run.
    expect(() => session.nextStep({ runId: silent.runId, worker: 2, step: 1 })).toThrow(/worker 2 was declared lost/);
  });

  it('--lost-worker continue: a trainer process that exits is taken out at once; the last one standing stops the run', async () => {
    const { session } = makeSession({ workers: 2, stepTimeout: 30, lostWorker: 'continue', steps: 3 });
    const run = session.run();
    const a = fakeWorker(session, 'a', 1);
    join(session, 'b');
    await new Promise((r) => setTimeout(r, 50));
    session.workerGone('b', 'b exited with SIGKILL');
    expect((await a).steps).toBe(3);
    expect((await run).lostWorkers).toEqual([1]);

    const second = makeSession({ workers: 1, lostWorker: 'continue' });
    const run2 = second.session.run();
    join(second.session, 'only');
    await new Promise((r) => setTimeout(r, 50));
    second.session.workerGone('only', 'only exited with code 1');
    expect(await run2).toMatchObject({ status: 'failed', error: 'only exited with code 1' });
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
    const pa = session.allReduce(received.allReduce({ runId: a.runId, worker: 0, step: 0, tag: 0, values: [1, 2, 0.1] }));
    const pb = session.allReduce(received.allReduce({ runId: b.runId, worker: 1, step: 0, tag: 0, values: [10, 20, 0.2] }));
    expect(await pa).toEqual([11, 22, 0.1 + 0.2]);
    expect(await pb).toEqual(await pa);
    const pending = session.allReduce(received.allReduce({ runId: a.runId, worker: 0, step: 0, tag: 1, values: [1] }));
    expect(() => session.allReduce(received.allReduce({ runId: b.runId, worker: 1, step: 0, tag: 1, values: [1, 2] }))).toThrow(/expected 1 values like the other workers, got 2/);
    // The run stopped: a worker still waiting in the all-reduce is answered, not left hanging.
    await expect(pending).rejects.toThrow(/run stopped: worker 1 \(b\), step 0, all-reduce 1: all-reduce values: expected 1 values/);
    expect((await run).status).toBe('failed');
  });

  it('a report resent after a reconnect is answered like the first copy, never counted twice; one with other contents is refused', async () => {
    const { session } = makeSession({ steps: 2 });
    const run = session.run();
    const a = join(session, 'a');
    const b = join(session, 'b');
    const g = new Float32Array(session.parameters).fill(1);
    const push = (worker: number, step: number, extra: Record<string, unknown> = {}) => {
      const assignment = { runId: a.runId, worker, step, samples: 8, loss: 1, computeMs: 1, gradient: encodeTensor(g, [g.length]), loopDelayMs: 12 * (worker + 1), ...extra };
      return session.pushGradient(received.push(assignment));
    };
    const [a0, b0] = await Promise.all([session.nextStep({ runId: a.runId, worker: 0, step: 0 }), session.nextStep({ runId: b.runId, worker: 1, step: 0 })]);
    const check = (x: StepAssignment__Output, r: Replica) => (x.reportChecksum ? r.checksum() : '');
    const replica = new Replica(session.model, { name: 'sgd', lr: a.optimizer!.lr });
    // Worker 0's first copy arrives, its connection drops before the answer, it sends the report again: both wait.
    const first = push(0, 0, { paramChecksum: check(a0, replica) });
    const again = push(0, 0, { paramChecksum: check(a0, replica), resend: true });
    // A resend whose first copy never arrived is taken as the first: worker 1's.
    const other = push(1, 0, { paramChecksum: check(b0, replica), resend: true });
    const [r1, r2, r3] = await Promise.all([first, again, other]);
    expect(r2).toEqual(r1);
    expect(r1.next.step).toBe(1);
    expect(r3.next.step).toBe(1);
    // The answer to step 0 was lost on the way: the resend gets the same update and next assignment from the completed step.
    const late = await push(1, 0, { paramChecksum: check(b0, replica), resend: true });
    expect(late).toEqual(r3);
    // Other contents under the same step are not a resend.
    expect(() => push(1, 0, { paramChecksum: check(b0, replica), loss: 2, resend: true })).toThrow(/resent step 0 with other contents/);
    replica.apply(floats(r1.update!));
    await Promise.all([push(0, 1, { paramChecksum: check(r1.next, replica) }), push(1, 1, { paramChecksum: check(r3.next, replica) })]);
    const result = await run;
    expect(result).toMatchObject({ status: 'completed', stepsCompleted: 2, loopDelayMs: [12, 24] });
    // Averaged once per step: two SGD steps of the mean gradient 1.
    const expected = new Replica(session.model, { name: 'sgd', lr: a.optimizer!.lr });
    for (let i = 0; i < 2; i++) expected.apply(new Float32Array(expected.params.length).fill(1));
    expect(paramChecksum(result.params)).toBe(expected.checksum());
  });

  it('an all-reduce resent after a reconnect gets the sum, and is not added twice', async () => {
    const { session } = makeSession();
    const run = session.run();
    const a = join(session, 'a');
    const b = join(session, 'b');
    await session.nextStep({ runId: a.runId, worker: 0, step: 0 });
    const pa = session.allReduce(received.allReduce({ runId: a.runId, worker: 0, step: 0, tag: 0, values: [1, 2] }));
    const again = session.allReduce(received.allReduce({ runId: a.runId, worker: 0, step: 0, tag: 0, values: [1, 2], resend: true }));
    const pb = session.allReduce(received.allReduce({ runId: b.runId, worker: 1, step: 0, tag: 0, values: [10, 20] }));
    expect(await pa).toEqual([11, 22]);
    expect(await again).toEqual([11, 22]);
    expect(await pb).toEqual([11, 22]);
    expect(await session.allReduce(received.allReduce({ runId: a.runId, worker: 0, step: 0, tag: 0, values: [1, 2], resend: true }))).toEqual([11, 22]);
    expect(() => session.allReduce(received.allReduce({ runId: a.runId, worker: 0, step: 0, tag: 0, values: [1, 3], resend: true }))).toThrow(/resent all-reduce 0 of step 0 with other values/);
    expect((await run).status).toBe('failed');
  });

  it('in-step reductions are bounded: a member cannot make the coordinator hold more than MAX_REDUCTIONS_PER_STEP, nor longer than the model', async () => {
    const { session } = makeSession();
    const run = session.run();
    const a = join(session, 'a');
    join(session, 'b');
    await session.nextStep({ runId: a.runId, worker: 0, step: 0 });
    expect(() => session.allReduce(received.allReduce({ runId: a.runId, worker: 0, step: 0, tag: 0, values: new Array(session.parameters + 1).fill(0) }))).toThrow(/more than the model's \d+ parameters/);
    expect((await run).status).toBe('failed');

    const second = makeSession();
    const run2 = second.session.run();
    const x = join(second.session, 'x');
    join(second.session, 'y');
    await second.session.nextStep({ runId: x.runId, worker: 0, step: 0 });
    const held = Array.from({ length: MAX_REDUCTIONS_PER_STEP }, (_, tag) => second.session.allReduce(received.allReduce({ runId: x.runId, worker: 0, step: 0, tag, values: [1] })));
    expect(() => second.session.allReduce(received.allReduce({ runId: x.runId, worker: 0, step: 0, tag: MAX_REDUCTIONS_PER_STEP, values: [1] }))).toThrow(
      new RegExp(`already ${MAX_REDUCTIONS_PER_STEP} reductions in step 0`),
    );
    // The run stopped, and every reduction it held was answered.
    for (const p of held) await expect(p).rejects.toThrow(/run stopped/);
    expect((await run2).status).toBe('failed');
  });

  it('in-step reductions are bounded in bytes, not by the model: a worker holds at most REDUCTION_VALUES_PER_WORKER_STEP values a step', async () => {
    // A model larger than the budget: within its length, still refused once a worker's step holds more than the budget.
    const { session } = makeSession({ hidden: [2048, 512] });
    expect(session.parameters).toBeGreaterThan(REDUCTION_VALUES_PER_WORKER_STEP);
    const run = session.run();
    const a = join(session, 'a');
    join(session, 'b');
    await session.nextStep({ runId: a.runId, worker: 0, step: 0 });
    const half = new Array(REDUCTION_VALUES_PER_WORKER_STEP / 2).fill(1);
    const held = [0, 1].map((tag) => session.allReduce(received.allReduce({ runId: a.runId, worker: 0, step: 0, tag, values: half })));
    expect(() => session.allReduce(received.allReduce({ runId: a.runId, worker: 0, step: 0, tag: 2, values: [1] }))).toThrow(
      new RegExp(`worker 0 would hold ${REDUCTION_VALUES_PER_WORKER_STEP + 1} values in step 0's reductions, more than the ${REDUCTION_VALUES_PER_WORKER_STEP} a worker may`),
    );
    for (const p of held) await expect(p).rejects.toThrow(/run stopped/);
    const result = await run;
    expect(result).toMatchObject({ status: 'failed' });
    expect(result.error).toMatch(/worker 0 would hold/);
    // And the AllReduce message itself is limited by the budget, not by the model's size.
    expect(coordinatorRequestLimits(10_000_000).perMethod['AllReduce']).toBe(8 * REDUCTION_VALUES_PER_WORKER_STEP + 64 * 1024);
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
    const updates = [0, 1].map((w) =>
      session.pushGradient(received.push({ runId: reply.runId, worker: w, step: 0, samples: 16, loss: 1, gradient: encodeTensor(delta, [delta.length]), paramChecksum: start.checksum(), computeMs: 1 })),
    );
    for (const [w, u] of (await Promise.all(updates)).entries()) {
      expect(Array.from(floats(u.update!).subarray(0, 3))).toEqual([0.25, 0.25, 0.25]);
      // Each answer carries the worker's assignment for step 1: NextStep would return the same.
      expect(u.next.step).toBe(1);
      expect(u.next).toEqual(await session.nextStep({ runId: reply.runId, worker: w, step: 1 }));
    }
    session.fail('enough');
    const result = await run;
    expect(result.params[0]).toBe(Math.fround(start.params[0]! - 0.25));
  });
});

describe('TrainingSession with --collective ring', () => {
  it('the trainers average among themselves; the coordinator checks, records and evaluates worker 0\'s parameters', async () => {
    const { session, config, records } = makeSession({ collective: 'ring', gradientMetricsEvery: 2 });
    const peers = memoryLinks(2);
    const run = session.run();
    const [a, b] = await Promise.all([fakeWorker(session, 'a', 1, { ring: peers }), fakeWorker(session, 'b', 3, { ring: peers })]);
    const result = await run;
    expect(result.error).toBeNull();
    const expected = new Replica(session.model, { name: 'sgd', lr: config.lr });
    for (let i = 0; i < 3; i++) expected.apply(new Float32Array(expected.params.length).fill(2));
    expect(a.replica.checksum()).toBe(expected.checksum());
    expect(b.replica.checksum()).toBe(expected.checksum());
    // The final parameters are worker 0's, sent with its last report.
    expect(paramChecksum(result.params)).toBe(expected.checksum());
    const steps = records.filter((r) => r.kind === 'step');
    expect(steps.map((r) => r.step)).toEqual([0, 1, 2]);
    const size = expected.params.length;
    expect(steps[0]).toMatchObject({ loss: 2, workerLoss: [1, 3], gradNorm: [Math.sqrt(size), 3 * Math.sqrt(size)], reduceMs: [1, 1] });
    // Gradient cosines only on gradient-metrics steps (0 and 2), when the trainers sent their gradients.
    expect(steps.map((r) => r.kind === 'step' && r.gradCosine)).toEqual([1, null, 1]);
    expect(records.filter((r) => r.kind === 'event' && r.event === 'checksum')).toHaveLength(3);
    expect(records.filter((r) => r.kind === 'eval').map((r) => r.step)).toEqual([2, 3]);
  });

  it('a join without a peer address is refused; replicas that disagree stop the run naming the odd one', async () => {
    const { session } = makeSession({ collective: 'ring', workers: 3 });
    expect(() => session.join(received.join({ protocolVersion: PROTOCOL_VERSION, name: 'x', backend: 'cpu', data: trainerFingerprint(session) }))).toThrow(/peer_address/);
    const peers = memoryLinks(3);
    const run = session.run();
    void fakeWorker(session, 'a', 1, { ring: peers });
    void fakeWorker(session, 'b', 1, { ring: peers, checksum: () => 'forged' });
    void fakeWorker(session, 'c', 1, { ring: peers });
    const result = await run;
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/^replicas diverged before step 0: most workers have [0-9a-f]+, worker 1 has forged$/);
  });

  it('a worker that reports an error (its ring neighbour is gone) stops the run with that reason', async () => {
    const { session } = makeSession({ collective: 'ring' });
    const run = session.run();
    const a = join(session, 'a');
    join(session, 'b');
    await session.nextStep({ runId: a.runId, worker: 0, step: 0 });
    expect(() => session.pushGradient(received.push({ runId: a.runId, worker: 0, step: 0, samples: 0, loss: 0, computeMs: 0, paramChecksum: '', error: 'ring all-reduce: cannot send to worker 1 at 127.0.0.1:9: UNAVAILABLE' }))).toThrow(/run stopped/);
    const result = await run;
    expect(result.error).toBe('worker 0 (a), step 0: ring all-reduce: cannot send to worker 1 at 127.0.0.1:9: UNAVAILABLE');
  });

  it('an error after the step was reported (reports leave before the all-reduce) still stops the run with its reason', async () => {
    const { session } = makeSession({ collective: 'ring' });
    const run = session.run();
    const a = join(session, 'a');
    join(session, 'b');
    const step0 = await session.nextStep({ runId: a.runId, worker: 0, step: 0 });
    const g = new Float32Array(session.parameters).fill(1);
    const reported = session.pushGradient(received.push({ runId: a.runId, worker: 0, step: 0, samples: step0.batches[0]!.ids.length, loss: 1, computeMs: 1, paramChecksum: 'c', gradNorm: l2Norm(g), gradient: encodeTensor(g, [g.length]) }));
    expect(() => session.pushGradient(received.push({ runId: a.runId, worker: 0, step: 0, samples: 0, loss: 0, computeMs: 0, paramChecksum: '', error: 'ring all-reduce: nothing from worker 1 within 5 s (--step-timeout)' }))).toThrow(/run stopped/);
    await expect(reported).rejects.toThrow(/run stopped/);
    const result = await run;
    expect(result.error).toBe('worker 0 (a), step 0: ring all-reduce: nothing from worker 1 within 5 s (--step-timeout)');
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
