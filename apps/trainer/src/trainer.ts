import * as grpc from '@grpc/grpc-js';
import { dataFingerprint, loadDataset, type Dataset } from '@shardlab/data';
import { FaultPlan, Replica, aggregationRule, datasetSpecFromWire, modelFromWire, parseFault, type LocalBatch } from '@shardlab/worker';
import { createModel, describeBackend, initBackend, setBlasThreads, type BackendChoice } from '@shardlab/model';
import {
  CHANNEL_OPTIONS,
  PROTOCOL_VERSION,
  channelCredentials,
  decodeTensor,
  encodeTensor,
  identityInterceptor,
  loadCoordinatorService,
  type CallerIdentity,
  type CoordinatorClient,
  type GradientAck__Output,
  type GradientUpdate,
  type StepAssignment__Output,
} from '@shardlab/protocol';
import { checkExposure, type Security } from '@shardlab/options';
import { hostname } from 'node:os';
import { COLLECTIVE_NAMES, isPeerAlgorithm, isPowerOfTwo, type CollectiveName, type PeerAlgorithm, type PeerCollective } from '@shardlab/collective';
import { AGGREGATION_NAMES, l2Norm, type AggregationName, type OptimizerName } from '@shardlab/aggregation';
import { PeerEndpoint } from './peer';
import { PushStream } from './push-stream';

export interface TrainerOptions {
  coordinator: string;
  backend: BackendChoice;
  /** OpenBLAS threads when the backend is native (default 1). */
  blasThreads?: number;
  name?: string;
  /** Seconds to keep trying to reach the coordinator before giving up. */
  connectTimeout: number;
  /** Ring, halving-doubling: where this trainer's Peer service listens (default 127.0.0.1, any free port). */
  peerHost?: string;
  peerPort?: number;
  /** Ring, halving-doubling: the host:port other trainers dial (default: the bound address; the host name when bound to 0.0.0.0). */
  peerAddress?: string;
  /** Run token and TLS material (default: none). */
  security?: Security;
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

/** Blocks the whole process (timers, gRPC keepalives, everything) like SIGSTOP would: fault injection's pause. */
function freeze(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
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

/** The address other trainers dial for a bound host:port: a wildcard bind is announced under this host's name. */
function advertised(bound: string): string {
  const i = bound.lastIndexOf(':');
  const host = bound.slice(0, i);
  return host === '0.0.0.0' || host === '::' || host === '[::]' ? `${hostname()}:${bound.slice(i + 1)}` : bound;
}

/** One batch as the model wants it: built from the local training set (feed ids) or decoded from the message. */
function localBatch(b: { ids: number[]; labels: number[]; features: { shape: number[]; data: Buffer } | null }, train: Dataset | null, inputSize: number): LocalBatch {
  if (!train) return { features: decodeTensor(b.features!, { length: b.labels.length * inputSize, field: 'batch.features' }), labels: b.labels };
  const labels = new Uint8Array(b.ids.length);
  for (let i = 0; i < b.ids.length; i++) {
    const id = b.ids[i]!;
    if (!(id < train.size)) throw new TrainerError(`batch.ids: sample id ${id} is outside the training set (0..${train.size - 1})`);
    labels[i] = train.labels[id]!;
  }
  return { features: train.features(b.ids), labels };
}

/**
 * Joins a coordinator and trains until the run is over: for each step, compute the gradient of the assigned
 * batch, average it with every other worker's (relay: the coordinator answers the push with the average;
 * ring or halving-doubling: the peers), and apply the average to the local replica.
 */
export async function runTrainer(opts: TrainerOptions): Promise<TrainerResult> {
  const log = opts.log ?? (() => undefined);
  const backend = await initBackend(opts.backend);
  if (backend === 'native') setBlasThreads(opts.blasThreads ?? 1);
  const { Coordinator } = loadCoordinatorService();
  // Every call carries the run token; after Join also this worker's credential.
  const identity: CallerIdentity = { token: opts.security?.token ?? null };
  const client: CoordinatorClient = new Coordinator(opts.coordinator, channelCredentials(opts.security?.tls ?? null), {
    ...CHANNEL_OPTIONS,
    interceptors: [identityInterceptor(identity)],
  });
  let peer: PeerEndpoint | null = null;
  const pushes = new PushStream(client);
  try {
    const name = opts.name ?? `${hostname()}:${process.pid}`;
    // Keep retrying the connection until the deadline, so trainers may start before the coordinator.
    await waitForReady(client, opts.connectTimeout).catch(() => {
      throw new TrainerError(`cannot reach the coordinator at ${opts.coordinator} within ${opts.connectTimeout} s (--connect-timeout)`);
    });
    const description = await call(client.getDataset.bind(client), {}).catch((err) => {
      throw describeRpcError(`ask ${opts.coordinator} for its dataset`, err);
    });
    // Feed "ids": load the training set here and prove it is the coordinator's before taking a slot.
    let train: Dataset | null = null;
    if (description.feed === 'ids') {
      try {
        const loaded = loadDataset(datasetSpecFromWire(description.dataset!));
        train = loaded.train;
        log(`data: ${loaded.description}`);
      } catch (err) {
        throw new TrainerError(`cannot load the coordinator's dataset here (--feed ids): ${(err as Error).message}`);
      }
    } else if (description.feed !== 'features') {
      throw new TrainerError(`the coordinator feeds ${JSON.stringify(description.feed)}, which this trainer does not know (ids, features)`);
    }
    const data = train ? dataFingerprint(train) : undefined;
    // Among trainers (ring, halving-doubling): serve Peer before joining, so the address sent at join answers.
    const collective = description.collective as CollectiveName;
    if (!COLLECTIVE_NAMES.includes(collective)) {
      throw new TrainerError(`the coordinator averages by ${JSON.stringify(description.collective)}, which this trainer does not know (${COLLECTIVE_NAMES.join(', ')})`);
    }
    const algorithm: PeerAlgorithm | null = isPeerAlgorithm(collective) ? collective : null;
    if (algorithm) {
      const peerHost = opts.peerHost ?? '127.0.0.1';
      checkExposure(peerHost, opts.security ?? { token: null, tls: null, insecure: false }, '--peer-host');
      peer = await PeerEndpoint.listen(peerHost, opts.peerPort ?? 0, opts.security ?? null).catch((err: Error) => {
        throw new TrainerError(`${err.message} (--peer-host, --peer-port)`);
      });
    }
    const peerAddress = peer ? (opts.peerAddress ?? advertised(peer.boundAddress)) : undefined;
    const joined = await call(client.join.bind(client), { protocolVersion: opts.protocolVersion ?? PROTOCOL_VERSION, name, backend, data, peerAddress }).catch((err) => {
      throw describeRpcError(`join ${opts.coordinator}`, err);
    });
    const worker = joined.worker;
    if (joined.credential) identity.worker = { index: worker, credential: joined.credential };
    let peers: PeerCollective | null = null;
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
    if (algorithm === 'halving-doubling' && !isPowerOfTwo(joined.workers)) {
      throw new TrainerError(`the coordinator asks for halving-doubling among ${joined.workers} workers; it needs a power of two (1, 2, 4, 8, ...)`);
    }
    peer?.attach({ runId: joined.runId, worker, workers: joined.workers }, replica.params.length, algorithm ?? undefined);
    log(`worker ${worker}/${joined.workers} joined run ${joined.runId} (${describeBackend(backend)}, ${replica.params.length} parameters, ${peer ? `${algorithm} peer at ${peerAddress}` : 'relay'})`);
    const rule = aggregationRule(aggregation, { optimizer: localOptimizer, proxMu: joined.proxMu });
    let faults: FaultPlan;
    try {
      faults = new FaultPlan(joined.faults.map(parseFault), worker, spec.initSeed);
    } catch (err) {
      throw new TrainerError(`the coordinator's faults: ${(err as Error).message}`);
    }
    if (!faults.empty) log(`fault injection for worker ${worker}: ${joined.faults.filter((f) => parseFault(f).worker === worker).join(', ')}`);
    const apply = (average: Float32Array) => rule.applyAverage(replica, average);

    let step = 0;
    if (joined.startStep > 0) {
      // A resumed run: every replica continues from the checkpoint's state, bit for bit.
      const params = decodeTensor(joined.params!, { length: replica.params.length, field: 'params' });
      const state = joined.optimizerState;
      if (state.length % 8 !== 0) throw new TrainerError(`the coordinator's optimizer_state: ${state.length} bytes is not a whole number of float64 values`);
      const optimizerState = new Float64Array(state.length / 8);
      new Uint8Array(optimizerState.buffer).set(state);
      replica.restore(params, optimizerState);
      if (joined.buffers && model.bufferSize > 0) model.setBuffers(decodeTensor(joined.buffers, { length: model.bufferSize, field: 'buffers' }));
      step = joined.startStep;
      log(`worker ${worker}: resuming at step ${step}`);
    }
    let stopReason = '';
    /** The next step's assignment, when the answer to this step's push carried it (it always does, unless the push was dropped). */
    let next: StepAssignment__Output | null = null;
    /** Among trainers: this trainer's time in the previous step's all-reduce (a step reports before its own is over). */
    let lastReduceMs = 0;
    for (;;) {
      const a =
        next ??
        (await call(client.nextStep.bind(client), { runId: joined.runId, worker, step }).catch((err) => {
          throw describeRpcError(`step ${step}`, err);
        }));
      next = null;
      if (a.step !== step && !a.done) throw new TrainerError(`the coordinator assigned step ${a.step} where step ${step} was due`);
      if (a.done) {
        stopReason = a.stopReason;
        break;
      }
      const fault = faults.at(step);
      if (fault.kill) {
        log(`fault injection: worker ${worker} dies at step ${step} (SIGKILL)`);
        process.kill(process.pid, 'SIGKILL');
      }
      if (fault.pauseMs > 0) {
        log(`fault injection: worker ${worker} freezes for ${fault.pauseMs / 1000} s at step ${step}`);
        freeze(fault.pauseMs);
      }
      if (peer && a.peers.length > 0) peers = peer.connect(a.peers, joined.stepTimeout);
      if (peer && !peers) throw new TrainerError(`step ${step}: the coordinator sent no peer addresses for the ${algorithm}`);
      const batches = a.batches.map((b): LocalBatch => localBatch(b, train, spec.inputSize));
      // The checksum of the parameters this step starts from (before its update), as the coordinator expects.
      const paramChecksum = a.reportChecksum ? replica.checksum() : '';
      const started = performance.now();
      // SyncBN: BatchNorm statistics are summed over all workers (relay: the coordinator; otherwise the peers), in program order.
      let tag = 0;
      const reduce = !syncBatchNorm
        ? undefined
        : peers
          ? ((p: PeerCollective) => (values: Float64Array) => p.sum(values, step, tag++))(peers)
          : async (values: Float64Array) => {
              const reply = await call(client.allReduce.bind(client), { runId: joined.runId, worker, step, tag: tag++, values: Array.from(values) }).catch((err) => {
                throw describeRpcError(`all-reduce for step ${step}`, err);
              });
              return Float64Array.from(reply.sum);
            };
      const c = await rule.contribute(model, replica.params, { batches, reduce });
      const buffers = model.bufferSize > 0 ? model.getBuffers() : null;
      const computeMs = performance.now() - started;
      const report = { runId: joined.runId, worker, step, samples: c.samples, loss: c.loss, paramChecksum, computeMs, buffers: buffers ? encodeTensor(buffers, [buffers.length]) : undefined };
      const push = (msg: GradientUpdate) =>
        pushes.push(msg).catch((err: grpc.ServiceError) => {
          // A push still waiting when the run stops is answered with the reason: say it as a stop, like NextStep's.
          const stopped = err.code === grpc.status.FAILED_PRECONDITION && /^run stopped: /.exec(err.details ?? '');
          if (stopped) throw new TrainerError(`run stopped by the coordinator at step ${step}: ${err.details.slice(stopped[0].length)}`);
          throw describeRpcError(`push gradient for step ${step}`, err);
        });
      if (fault.delayMs > 0) await new Promise((r) => setTimeout(r, fault.delayMs));
      if (fault.drop) {
        // The push is lost on the way: this worker never learns the average (and is declared lost, or the run stops).
        log(`fault injection: worker ${worker} drops its push of step ${step}`);
        step++;
        continue;
      }
      if (!peers) {
        // Relay: the coordinator answers once every worker has pushed, with the average.
        const ack = await push({ ...report, gradient: encodeTensor(c.update, [c.update.length]) });
        if (!ack.update) throw new TrainerError(`step ${step}: the coordinator's reply carries no update`);
        apply(decodeTensor(ack.update, { length: replica.params.length, field: 'update' }));
        next = ack.next;
      } else {
        // Among trainers: the step's report leaves before the all-reduce, so the coordinator's answer (the next step's
        // ids) travels while the trainers reduce. Only a step whose parameters are asked for (evaluation)
        // reports after its update.
        const scalars = { ...report, gradNorm: l2Norm(c.update), reduceMs: lastReduceMs, gradient: a.reportGradient ? encodeTensor(c.update, [c.update.length]) : undefined };
        const early = a.reportParams ? null : push(scalars);
        early?.catch(() => undefined);
        const reduceStarted = performance.now();
        let average: Float32Array;
        try {
          average = await peers.average(c.update, c.samples, step);
        } catch (err) {
          // Say why before leaving, so the run stops naming the neighbour instead of timing out on everyone.
          const reason = `${algorithm} all-reduce: ${(err as Error).message}`;
          await push({ runId: joined.runId, worker, step, error: reason }).catch(() => undefined);
          throw new TrainerError(`step ${step}: ${reason}`);
        }
        lastReduceMs = performance.now() - reduceStarted;
        apply(average);
        const ack: GradientAck__Output = early ? await early : await push({ ...scalars, params: encodeTensor(replica.params, [replica.params.length]) });
        next = ack.next;
      }
      step++;
    }
    model.dispose();
    if (stopReason) throw new TrainerError(`run stopped by the coordinator at step ${step}: ${stopReason}`);
    await peer?.finish(joined.stepTimeout * 1000);
    log(`worker ${worker}: run finished after ${step} steps`);
    return { worker, steps: step, backend, stopReason };
  } finally {
    pushes.close();
    peer?.close();
    client.close();
  }
}
