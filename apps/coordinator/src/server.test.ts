import * as grpc from '@grpc/grpc-js';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { paramChecksum } from '@shardlab/aggregation';
import { createStrategy, dataFingerprint, loadDataset } from '@shardlab/data';
import { initParams } from '@shardlab/model';
import { TrainingSession, datasetSpecFromWire, resolveCollective, resolveConfig } from '@shardlab/experiment';
import {
  CHANNEL_OPTIONS,
  PROTOCOL_VERSION,
  decodeTensor,
  encodeTensor,
  loadCoordinatorService,
  type CoordinatorClient,
  type DatasetDescription__Output,
  type GradientAck__Output,
  type StepAssignment__Output,
} from '@shardlab/protocol';
import { ListenError, serveSession, type RunningServer } from './server';

function session(overrides: Record<string, unknown> = {}) {
  const config = resolveCollective(resolveConfig({ workers: 1, steps: 2, samples: 200, testSamples: 20, features: 8, hidden: [4], batchSize: 4, ...overrides }), false);
  const { train } = loadDataset({ dataset: 'synthetic', seed: 1, samples: 200, testSamples: 20, features: 8, numClasses: 4 });
  const strategy = createStrategy('iid', { labels: train.labels, numClasses: 4, workers: config.workers, batchSize: 4, seed: 1 });
  return new TrainingSession({ config, train, strategy, evaluate: () => ({ accuracy: 1, loss: 0, perClassAccuracy: [1, 1, 1, 1] }), record: () => undefined });
}

const call = <T>(fn: (cb: grpc.requestCallback<T>) => void) => new Promise<T>((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res!))));

describe('coordinator gRPC server', () => {
  let server: RunningServer | null = null;
  let client: CoordinatorClient | null = null;
  afterEach(async () => {
    client?.close();
    await server?.close();
  });

  it('maps session answers and WireErrors onto gRPC replies and statuses', async () => {
    const s = session();
    server = await serveSession(s, '127.0.0.1', 0);
    const { Coordinator } = loadCoordinatorService();
    client = new Coordinator(server.address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
    const c = client;
    // What a trainer does under feed ids: ask for the dataset, load it, join with its fingerprint.
    const described = await call<DatasetDescription__Output>((cb) => c.getDataset({}, cb));
    expect(described).toEqual({ feed: 'ids', dataset: { dataset: 'synthetic', classes: [], seed: 1, samples: 200, testSamples: 20, features: 8, numClasses: 4, deformation: 1 }, collective: 'relay' });
    const data = dataFingerprint(loadDataset(datasetSpecFromWire(described.dataset!)).train);
    const reply = await call<{ runId: string; worker: number }>((cb) => c.join({ protocolVersion: PROTOCOL_VERSION, name: 't', backend: 'cpu', data }, cb));
    expect(reply).toMatchObject({ runId: s.runId, worker: 0 });
    const err = await call((cb) => c.pushGradient({ runId: 'other', worker: 0, step: 0 }, cb)).catch((e: grpc.ServiceError) => e);
    expect((err as grpc.ServiceError).code).toBe(grpc.status.PERMISSION_DENIED);
    const stray = await call((cb) => c.allReduce({ runId: s.runId, worker: 3, step: 0, tag: 0, values: [1] }, cb)).catch((e: grpc.ServiceError) => e);
    expect((stray as grpc.ServiceError).code).toBe(grpc.status.PERMISSION_DENIED);
    const status = await call<{ state: string; joined: number }>((cb) => c.getStatus({}, cb));
    expect(status).toMatchObject({ state: 'waiting', joined: 1 });
  });

  /** Serves `s`, starts its run, and joins one trainer per name the way a trainer does under feed ids. */
  async function runWithTrainers(s: TrainingSession, names: string[]) {
    server = await serveSession(s, '127.0.0.1', 0);
    const run = s.run();
    const { Coordinator } = loadCoordinatorService();
    client = new Coordinator(server.address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
    const c = client;
    const described = await call<DatasetDescription__Output>((cb) => c.getDataset({}, cb));
    const data = dataFingerprint(loadDataset(datasetSpecFromWire(described.dataset!)).train);
    for (const name of names) await call((cb) => c.join({ protocolVersion: PROTOCOL_VERSION, name, backend: 'cpu', data }, cb));
    return { c, run };
  }

  it('PushGradientStream answers each push in order with what PushGradient would, and ends with a refusal\'s status', async () => {
    const s = session();
    const { c, run } = await runWithTrainers(s, ['t']);
    const first = await call<StepAssignment__Output>((cb) => c.nextStep({ runId: s.runId, worker: 0, step: 0 }, cb));
    expect(first.step).toBe(0);
    const stream = c.pushGradientStream();
    const acks: GradientAck__Output[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('data', (ack: GradientAck__Output) => acks.push(ack));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    const gradient = encodeTensor(new Float32Array(s.parameters).fill(0.01), [s.parameters]);
    // Generous: an answer takes milliseconds, but CI runs many test files at once on two cores.
    const answered = (n: number) => vi.waitFor(() => expect(acks).toHaveLength(n), { timeout: 20_000, interval: 20 });
    // Step 0 asks for the replica's checksum: the initial parameters'.
    expect(first.reportChecksum).toBe(true);
    stream.write({ runId: s.runId, worker: 0, step: 0, samples: 4, loss: 1, gradient, paramChecksum: paramChecksum(initParams(s.model)) });
    await answered(1);
    // Relay: the average of the one worker's gradient, and the next step's assignment.
    expect(Array.from(decodeTensor(acks[0]!.update!, { length: s.parameters, field: 'update' }).subarray(0, 3))).toEqual([0.01, 0.01, 0.01].map(Math.fround));
    expect(acks[0]!.next).toMatchObject({ step: 1, done: false });
    stream.write({ runId: s.runId, worker: 0, step: 1, samples: 4, loss: 1, gradient });
    await answered(2);
    expect(acks[1]!.next).toMatchObject({ done: true });
    stream.end();
    await ended;
    expect((await run).status).toBe('completed');

    // A refusal ends the stream with PushGradient's status for it.
    const refused = c.pushGradientStream();
    const status = new Promise<grpc.ServiceError>((resolve) => refused.on('error', resolve));
    refused.on('data', () => undefined);
    refused.write({ runId: 'another run', worker: 0, step: 2 });
    expect((await status).code).toBe(grpc.status.PERMISSION_DENIED);
  });

  it('PushGradientStream takes a message in as it arrives: an error behind a waiting push stops the run with its reason', async () => {
    // Two workers, and only worker 0 pushes: its step-0 push waits for worker 1's. Its error message right
    // behind must stop the run at once with its reason, not after the step timeout (2 s) with the timeout's.
    const s = session({ workers: 2, stepTimeout: 2 });
    const { c, run } = await runWithTrainers(s, ['a', 'b']);
    await call<StepAssignment__Output>((cb) => c.nextStep({ runId: s.runId, worker: 0, step: 0 }, cb));
    const stream = c.pushGradientStream();
    const status = new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
    stream.on('data', () => undefined);
    const gradient = encodeTensor(new Float32Array(s.parameters).fill(0.01), [s.parameters]);
    stream.write({ runId: s.runId, worker: 0, step: 0, samples: 4, loss: 1, gradient, paramChecksum: paramChecksum(initParams(s.model)) });
    stream.write({ runId: s.runId, worker: 0, step: 0, error: 'ring all-reduce: nothing from worker 1' });
    const reason = 'worker 0 (a), step 0: ring all-reduce: nothing from worker 1';
    expect(await status).toMatchObject({ code: grpc.status.FAILED_PRECONDITION, details: `run stopped: ${reason}` });
    expect((await run).error).toBe(reason);
  });

  it('reports a port in use as a ListenError naming the address', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    try {
      await expect(serveSession(session(), '127.0.0.1', port)).rejects.toThrow(ListenError);
      await expect(serveSession(session(), '127.0.0.1', port)).rejects.toThrow(`cannot listen on 127.0.0.1:${port}: port in use (--port: pick another, or 0 for any free port)`);
    } finally {
      busy.close();
    }
  });

  it('says when the address is not one of this machine\'s, instead of "port in use"', async () => {
    // 192.0.2.1 (TEST-NET-1, documentation only) is on no interface here: the bind fails locally, nothing is sent.
    await expect(serveSession(session(), '192.0.2.1', 0)).rejects.toThrow("cannot listen on 192.0.2.1:0: that address is not one of this machine's (--host)");
  });
});
