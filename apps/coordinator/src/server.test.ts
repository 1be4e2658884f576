import * as grpc from '@grpc/grpc-js';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createStrategy, dataFingerprint, loadDataset } from '@shardlab/data';
import { TrainingSession, datasetSpecFromWire, resolveConfig } from '@shardlab/experiment';
import { CHANNEL_OPTIONS, PROTOCOL_VERSION, loadCoordinatorService, type CoordinatorClient, type DatasetDescription__Output } from '@shardlab/protocol';
import { ListenError, serveSession, type RunningServer } from './server';

function session() {
  const config = resolveConfig({ workers: 1, steps: 2, samples: 200, testSamples: 20, features: 8, hidden: [4], batchSize: 4 });
  const { train } = loadDataset({ dataset: 'synthetic', seed: 1, samples: 200, testSamples: 20, features: 8, numClasses: 4 });
  const strategy = createStrategy('iid', { labels: train.labels, numClasses: 4, workers: 1, batchSize: 4, seed: 1 });
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
    expect(described).toEqual({ feed: 'ids', dataset: { dataset: 'synthetic', classes: [], seed: 1, samples: 200, testSamples: 20, features: 8, numClasses: 4 }, collective: 'relay' });
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

  it('reports a port in use as a ListenError naming the address', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    try {
      await expect(serveSession(session(), '127.0.0.1', port)).rejects.toThrow(ListenError);
      await expect(serveSession(session(), '127.0.0.1', port)).rejects.toThrow(`cannot listen on 127.0.0.1:${port}: port in use (--port)`);
    } finally {
      busy.close();
    }
  });
});
