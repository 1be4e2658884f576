import * as grpc from '@grpc/grpc-js';
import { AGGREGATION_NAMES, Replica, localUpdate, modelFromWire, type AggregationName } from '@shardlab/experiment';
import type { OptimizerName } from '@shardlab/aggregation';
import { createModel, describeBackend, initBackend, setBlasThreads, type BackendChoice } from '@shardlab/model';
import {
  CHANNEL_OPTIONS,
  PROTOCOL_VERSION,
  decodeTensor,
  encodeTensor,
  loadCoordinatorService,
  type CoordinatorClient,
} from '@shardlab/protocol';
import { hostname } from 'node:os';

export interface TrainerOptions {
  coordinator: string;
  backend: BackendChoice;
  /** OpenBLAS threads when the backend is native (default 1). */
  blasThreads?: number;
  name?: string;
  /** Seconds to keep trying to reach the coordinator before giving up. */
  connectTimeout: number;
  /** Overrides the protocol version sent at join (tests of version checks). */
  protocolVersion?: number;
  log?: (line: string) => void;
}

export interface TrainerResult {
  worker: number;
  steps: number;
  backend: string;
  stopReason: string;
}

/** A failure a trainer reports as one line (coordinator unreachable, refused, run stopped). */
export class TrainerError extends Error {
  override name = 'TrainerError';
}

/** Promise form of a unary call. */
function call<Req, Res>(fn: (req: Req, cb: grpc.requestCallback<Res>) => unknown, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => fn(req, (err, res) => (err ? reject(err) : resolve(res!))));
}

function waitForReady(client: grpc.Client, seconds: number): Promise<void> {
  return new Promise((resolve, reject) => client.waitForReady(Date.now() + seconds * 1000, (err) => (err ? reject(err) : resolve())));
}

function describeRpcError(what: string, err: unknown): TrainerError {
  const e = err as grpc.ServiceError;
  const code = typeof e.code === 'number' ? grpc.status[e.code] : 'ERROR';
  return new TrainerError(`${what}: ${code}: ${e.details || e.message}`);
}

/**
 * Joins a coordinator and trains until the run is over: for each step, apply the averaged
 * gradient of the previous step to the local replica, compute this step's gradient, push it.
 */
export async function runTrainer(opts: TrainerOptions): Promise<TrainerResult> {
  const log = opts.log ?? (() => undefined);
  const backend = await initBackend(opts.backend);
  if (backend === 'native') setBlasThreads(opts.blasThreads ?? 1);
  const { Coordinator } = loadCoordinatorService();
  const client: CoordinatorClient = new Coordinator(opts.coordinator, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  try {
    const name = opts.name ?? `${hostname()}:${process.pid}`;
    // Keep retrying the connection until the deadline, so trainers may start before the coordinator.
    await waitForReady(client, opts.connectTimeout).catch(() => {
      throw new TrainerError(`cannot reach the coordinator at ${opts.coordinator} within ${opts.connectTimeout} s (--connect-timeout)`);
    });
    const joined = await call(client.join.bind(client), { protocolVersion: opts.protocolVersion ?? PROTOCOL_VERSION, name, backend }).catch((err) => {
      throw describeRpcError(`join ${opts.coordinator}`, err);
    });
    const worker = joined.worker;
    let built: ReturnType<typeof modelFromWire>;
    try {
      built = modelFromWire(joined.model!);
    } catch (err) {
      throw new TrainerError(`the coordinator's model: ${(err as Error).message}`);
    }
    const { spec, syncBatchNorm } = built;
    const opt = joined.optimizer!;
    const localOptimizer = { name: opt.name as OptimizerName, lr: opt.lr, momentum: opt.momentum, beta1: opt.beta1, beta2: opt.beta2, epsilon: opt.epsilon };
    const replica = new Replica(spec, localOptimizer);
    const aggregation = joined.aggregation as AggregationName;
    if (!AGGREGATION_NAMES.includes(aggregation)) throw new TrainerError(`the coordinator asks for aggregation ${JSON.stringify(joined.aggregation)}, which this trainer does not know`);
    const model = createModel(spec);
    log(`worker ${worker}/${joined.workers} joined run ${joined.runId} (${describeBackend(backend)}, ${replica.params.length} parameters)`);

    let step = 0;
    let stopReason = '';
    for (;;) {
      const a = await call(client.nextStep.bind(client), { runId: joined.runId, worker, step }).catch((err) => {
        throw describeRpcError(`step ${step}`, err);
      });
      if (a.update && a.update.data.length > 0) {
        const update = decodeTensor(a.update, { length: replica.params.length, field: 'update' });
        if (aggregation === 'sync-sgd') replica.apply(update);
        else replica.applyDelta(update);
      }
      if (a.done) {
        stopReason = a.stopReason;
        break;
      }
      const batches = a.batches.map((b) => ({
        features: decodeTensor(b.features!, { length: b.labels.length * spec.inputSize, field: 'batch.features' }),
        labels: b.labels,
      }));
      const started = performance.now();
      // SyncBN: BatchNorm statistics are summed over all workers through the coordinator, in program order.
      let tag = 0;
      const reduce = syncBatchNorm
        ? async (values: Float64Array) => {
            const reply = await call(client.allReduce.bind(client), { runId: joined.runId, worker, step, tag: tag++, values: Array.from(values) }).catch((err) => {
              throw describeRpcError(`all-reduce for step ${step}`, err);
            });
            return Float64Array.from(reply.sum);
          }
        : undefined;
      const c = await localUpdate(model, replica.params, { aggregation, optimizer: localOptimizer, proxMu: joined.proxMu, batches, reduce });
      const buffers = model.bufferSize > 0 ? model.getBuffers() : null;
      const computeMs = performance.now() - started;
      await call(client.pushGradient.bind(client), {
        runId: joined.runId,
        worker,
        step,
        samples: c.samples,
        loss: c.loss,
        gradient: encodeTensor(c.update, [c.update.length]),
        paramChecksum: a.reportChecksum ? replica.checksum() : '',
        computeMs,
        buffers: buffers ? encodeTensor(buffers, [buffers.length]) : undefined,
      }).catch((err) => {
        throw describeRpcError(`push gradient for step ${step}`, err);
      });
      step++;
    }
    model.dispose();
    if (stopReason) throw new TrainerError(`run stopped by the coordinator at step ${step}: ${stopReason}`);
    log(`worker ${worker}: run finished after ${step} steps`);
    return { worker, steps: step, backend, stopReason };
  } finally {
    client.close();
  }
}
