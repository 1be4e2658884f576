import * as grpc from '@grpc/grpc-js';
import { dataFingerprint, loadDataset, type Dataset } from '@shardlab/data';
import { bootstrapWorker, datasetSpecFromWire, runWorkerLoop, type CoordinatorPort, type FaultEffects, type WorkerSetup } from '@shardlab/worker';
import { describeBackend, initBackend, setBlasThreads, type BackendChoice } from '@shardlab/model';
import {
  LoopDelayMonitor,
  PROTOCOL_VERSION,
  channelOptions,
  channelCredentials,
  joinHostPort,
  splitHostPort,
  tlsFailureReason,
  identityInterceptor,
  loadCoordinatorService,
  type CallerIdentity,
  type CoordinatorClient,
} from '@shardlab/protocol';
import { DEFAULT_KEEPALIVE, checkExposure, type Keepalive, type Security } from '@shardlab/options';
import { hostname } from 'node:os';
import { createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { COLLECTIVE_NAMES, SharedMemoryCollective, isPeerAlgorithm, type Collective, type CollectiveName, type PeerAlgorithm, type SharedMemoryBuffers } from '@shardlab/collective';
import { PeerEndpoint } from './peer';
import { PushStream, isConnectionDrop, type AwaitReconnect } from './push-stream';

export interface TrainerOptions {
  coordinator: string;
  backend: BackendChoice;
  /** OpenBLAS threads when the backend is native (default 1). */
  blasThreads?: number;
  name?: string;
  /** Seconds to keep trying to reach the coordinator before giving up. */
  connectTimeout: number;
  /** Join only a run that waits for workers and has a free slot, else stop with TrainerError 'no-slot' before loading any data (--rejoin). */
  onlyFreeSlot?: boolean;
  /** Ring, halving-doubling: where this trainer's Peer service listens (default 127.0.0.1, any free port). */
  peerHost?: string;
  peerPort?: number;
  /** Ring, halving-doubling: the host:port other trainers dial (default: the bound address; the host name when bound to 0.0.0.0). */
  peerAddress?: string;
  /** Run token and TLS material (default: none). */
  security?: Security;
  /** HTTP/2 keepalive of the coordinator channel and the Peer service (default: DEFAULT_KEEPALIVE). */
  keepalive?: Keepalive;
  /**
   * --runtime threads: this trainer is a worker thread of the coordinator's process, and these are the buffers of
   * the shared-memory collective; `effects` are a thread's (a killed worker ends its thread, not the process).
   */
  thread?: { sharedMemory: SharedMemoryBuffers; effects: FaultEffects; onJoined(worker: number): void };
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

/**
 * Why a trainer stopped, when another run may still take it (`shardlab trainer --rejoin`): the coordinator could
 * not be reached ('unreachable'), it had no slot ('no-slot': the run is full, under way or over), it stopped
 * the run ('stopped'), or it closed between two calls before this trainer joined ('closed': a run just ended).
 * Undefined: anything else, which ends the trainer.
 */
export type TrainerStop = 'unreachable' | 'no-slot' | 'stopped' | 'closed';

/** A failure a trainer reports as one line (coordinator unreachable, refused, run stopped). */
export class TrainerError extends Error {
  override name = 'TrainerError';
  constructor(
    message: string,
    readonly stop?: TrainerStop,
  ) {
    super(message);
  }
}

/**
 * Blocks the calling thread (timers, gRPC keepalives, everything) like SIGSTOP would a process: fault injection's
 * pause, for a trainer process or a trainer thread alike.
 */
export function freeze(ms: number): void {
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

/**
 * The address other trainers dial for a bound host:port. A wildcard bind is announced under the address of this
 * host's interface toward the coordinator (the network the trainers share): a container's host name resolves on a
 * Compose network but not on a Swarm overlay, its address does on both, and on Kubernetes pods.
 */
async function advertised(bound: string, coordinator: string): Promise<string> {
  const { host, port } = splitHostPort(bound);
  if (host !== '0.0.0.0' && host !== '::') return bound;
  const local = await addressToward(coordinator).catch(() => null);
  return joinHostPort(local ?? hostname(), port);
}

/** This host's address on the route to `target` (HOST:PORT): a connected UDP socket's local address (nothing is sent). */
async function addressToward(target: string): Promise<string> {
  const { address, family } = await lookup(splitHostPort(target).host);
  const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(9, address, () => resolve());
    });
    return socket.address().address;
  } finally {
    socket.close();
  }
}

/** Seconds a connection attempt runs on one channel before a fresh one tries again. */
const PROBE_SECONDS = 5;

/**
 * Waits until the coordinator accepts a connection, on a fresh channel every PROBE_SECONDS: after a name that did
 * not resolve yet (a Swarm service whose task is still starting) grpc-js's resolver can wait minutes before it
 * looks again. False when `seconds` pass first.
 */
async function coordinatorReachable(address: string, credentials: grpc.ChannelCredentials, seconds: number): Promise<boolean> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) return false;
    const probe = new grpc.Client(address, credentials, channelOptions());
    try {
      await new Promise<void>((resolve, reject) => probe.waitForReady(Date.now() + Math.min(left, PROBE_SECONDS * 1000), (err) => (err ? reject(err) : resolve())));
      return true;
    } catch {
      // not yet: a fresh channel next time
    } finally {
      probe.close();
    }
  }
}

/** How this trainer averages among the others (null: relay, through the coordinator). */
function collectiveOf(
  name: CollectiveName,
  o: { peer: PeerEndpoint | null; thread: TrainerOptions['thread']; worker: number; stepTimeout: number },
): ((addresses: readonly string[], verifiers: readonly string[], workers: readonly number[], epoch: number) => Collective) | null {
  if (name === 'shared-memory') {
    const sharedMemory = o.thread!.sharedMemory;
    return () => new SharedMemoryCollective(sharedMemory, o.worker, o.stepTimeout * 1000);
  }
  const peer = o.peer;
  if (!peer) return null;
  return (addresses, verifiers, workers, epoch) => {
    if (addresses.length === 0) throw new TrainerError(`the coordinator sent no peer addresses for the ${name}`);
    return peer.connect(addresses, o.stepTimeout, verifiers, workers, epoch);
  };
}

/**
 * Joins a coordinator and trains until the run is over. This is the gRPC shell: the handshake (dataset, Peer
 * service, Join), the coordinator's calls as a CoordinatorPort, and the process effects of fault injection; the
 * steps themselves are @shardlab/worker's runWorkerLoop.
 */
export async function runTrainer(opts: TrainerOptions): Promise<TrainerResult> {
  const log = opts.log ?? (() => undefined);
  const backend = await initBackend(opts.backend);
  if (backend === 'native') setBlasThreads(opts.blasThreads ?? 1);
  const { Coordinator } = loadCoordinatorService();
  const keepalive = opts.keepalive ?? DEFAULT_KEEPALIVE;
  // Every call carries the run token; after Join also this worker's credential.
  const identity: CallerIdentity = { token: opts.security?.token ?? null };
  const client: CoordinatorClient = new Coordinator(opts.coordinator, channelCredentials(opts.security?.tls ?? null), {
    ...channelOptions(keepalive),
    interceptors: [identityInterceptor(identity)],
  });
  const loopDelay = new LoopDelayMonitor();
  let peer: PeerEndpoint | null = null;
  /** How long a dropped connection may take to come back: the step timeout once joined (the coordinator waits no longer). */
  let reconnectSeconds = opts.connectTimeout;
  const reconnect: AwaitReconnect = async (err, what, since) => {
    const dropped = Date.now();
    const why = err.details || err.message;
    if (dropped - since > reconnectSeconds * 1000) {
      throw new TrainerError(`the connection to the coordinator at ${opts.coordinator} kept dropping during the ${what} for ${reconnectSeconds} s (last: ${why})`);
    }
    log(`connection to the coordinator dropped during the ${what} (${why}); reconnecting`);
    // Dropped again before any answer: a moment's pause, so a link that fails at once is not hammered.
    if (dropped > since) await new Promise((r) => setTimeout(r, 200));
    await waitForReady(client, reconnectSeconds).catch(() => {
      throw new TrainerError(`lost the connection to the coordinator at ${opts.coordinator} during the ${what} (${why}) and could not reconnect within ${reconnectSeconds} s`);
    });
    log(`reconnected to the coordinator after ${((Date.now() - dropped) / 1000).toFixed(1)} s; the ${what} goes on`);
  };
  /** A call that is made again, with the same credential, when its connection drops (first: the call as first made; again: a resend). */
  const retrying = async <T>(what: string, first: () => Promise<T>, again: () => Promise<T> = first): Promise<T> => {
    let since: number | null = null;
    for (let attempt = first; ; attempt = again) {
      try {
        return await attempt();
      } catch (err) {
        if (!isConnectionDrop(err)) throw err;
        await reconnect(err, what, (since ??= Date.now()));
      }
    }
  };
  const pushes = new PushStream(client, reconnect);
  try {
    const name = opts.name ?? `${hostname()}:${process.pid}`;
    // Keep retrying the connection until the deadline, so trainers may start before the coordinator.
    const reachable = await coordinatorReachable(opts.coordinator, channelCredentials(opts.security?.tls ?? null), opts.connectTimeout);
    await (reachable ? waitForReady(client, opts.connectTimeout) : Promise.reject(new Error('unreachable'))).catch(async () => {
      // grpc-js says only "unavailable"; a TLS mistake is worth its own words.
      const tlsReason = await tlsFailureReason(opts.coordinator, opts.security?.tls ?? null);
      throw new TrainerError(`cannot reach the coordinator at ${opts.coordinator} within ${opts.connectTimeout} s (--connect-timeout)${tlsReason ? `: ${tlsReason}` : ''}`, tlsReason ? undefined : 'unreachable');
    });
    /** Before joining, a coordinator that goes away (a run that just ended) is one to come back to under --rejoin. */
    const beforeJoin = (what: string) => (err: grpc.ServiceError) => {
      const e = describeRpcError(what, err);
      throw opts.onlyFreeSlot && isConnectionDrop(err) ? new TrainerError(e.message, 'closed') : e;
    };
    if (opts.onlyFreeSlot) {
      const status = await call(client.getStatus.bind(client), {}).catch(beforeJoin(`ask ${opts.coordinator} for its status`));
      if (status.state !== 'waiting' || status.joined >= status.workers) {
        throw new TrainerError(`run ${status.runId} at ${opts.coordinator} is ${status.state} with ${status.joined} of ${status.workers} workers`, 'no-slot');
      }
    }
    const description = await call(client.getDataset.bind(client), {}).catch(beforeJoin(`ask ${opts.coordinator} for its dataset`));
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
    if (collective === 'shared-memory' && !opts.thread) {
      throw new TrainerError(`the coordinator averages through shared memory (--runtime threads): only the worker threads it starts itself can join`);
    }
    const algorithm: PeerAlgorithm | null = isPeerAlgorithm(collective) ? collective : null;
    if (algorithm) {
      const peerHost = opts.peerHost ?? '127.0.0.1';
      checkExposure(peerHost, opts.security ?? { token: null, tls: null, insecure: false }, '--peer-host');
      peer = await PeerEndpoint.listen(peerHost, opts.peerPort ?? 0, opts.security ?? null, keepalive).catch((err: Error) => {
        throw new TrainerError(err.message);
      });
    }
    const peerAddress = peer ? (opts.peerAddress ?? (await advertised(peer.boundAddress, opts.coordinator))) : undefined;
    const joined = await call(client.join.bind(client), { protocolVersion: opts.protocolVersion ?? PROTOCOL_VERSION, name, backend, data, peerAddress }).catch((err: grpc.ServiceError) => {
      const e = describeRpcError(`join ${opts.coordinator}`, err);
      // A full run, or one under way or over, may be followed by another that has a slot (a sweep on a cluster).
      const noSlot = err.code === grpc.status.RESOURCE_EXHAUSTED || (err.code === grpc.status.FAILED_PRECONDITION && /takes no new workers/.test(err.details ?? ''));
      throw noSlot ? new TrainerError(e.message, 'no-slot') : opts.onlyFreeSlot && isConnectionDrop(err) ? new TrainerError(e.message, 'closed') : e;
    });
    const worker = joined.worker;
    opts.thread?.onJoined(worker);
    loopDelay.reset(); // what counts is the run; loading the data before it holds no call open
    if (joined.credential) identity.worker = { index: worker, credential: joined.credential };
    let setup: WorkerSetup;
    try {
      setup = await bootstrapWorker(joined, collective);
    } catch (err) {
      throw new TrainerError((err as Error).message);
    }
    const { spec, model, replica, rule, syncBatchNorm, buffersRule, faults, robust, startStep } = setup;
    peer?.attach({ runId: joined.runId, worker, workers: joined.workers, credential: joined.credential }, replica.params.length, algorithm ?? undefined, joined.elastic);
    log(`worker ${worker}/${joined.workers} joined run ${joined.runId} (${describeBackend(backend)}, ${replica.params.length} parameters, ${peer ? `${algorithm} peer at ${peerAddress}` : collective})`);
    if (!faults.empty) log(`fault injection for worker ${worker}: ${faults.describe()}`);
    if (startStep > 0) log(`worker ${worker}: resuming at step ${startStep}`);
    const { runId } = joined;
    reconnectSeconds = joined.stepTimeout;
    const coordinator: CoordinatorPort = {
      nextStep: (step) =>
        retrying(`wait for step ${step}`, () => call(client.nextStep.bind(client), { runId, worker, step })).catch((err) => {
          if (err instanceof TrainerError) throw err;
          throw describeRpcError(`step ${step}`, err);
        }),
      // Every report says how long this trainer's event loop was held at most (summary.json shows it per worker).
      push: (msg) =>
        pushes.push({ ...msg, loopDelayMs: loopDelay.maxMs }).catch((err: grpc.ServiceError) => {
          if (err instanceof TrainerError) throw err;
          // A push still waiting when the run stops is answered with the reason: say it as a stop, like NextStep's.
          const stopped = err.code === grpc.status.FAILED_PRECONDITION && /^run stopped: /.exec(err.details ?? '');
          if (stopped) throw new TrainerError(`run stopped by the coordinator at step ${msg.step}: ${err.details.slice(stopped[0].length)}`, 'stopped');
          throw describeRpcError(`push gradient for step ${msg.step}`, err);
        }),
      sum: async (step, tag, values) => {
        const request = { runId, worker, step, tag, values: Array.from(values) };
        const allReduce = client.allReduce.bind(client);
        const reply = await retrying(`all-reduce of step ${step}`, () => call(allReduce, request), () => call(allReduce, { ...request, resend: true })).catch((err) => {
          if (err instanceof TrainerError) throw err;
          throw describeRpcError(`all-reduce for step ${step}`, err);
        });
        return Float64Array.from(reply.sum);
      },
    };
    const { steps, stopReason } = await runWorkerLoop({
      runId,
      worker,
      workers: joined.workers,
      startStep,
      model,
      inputSize: spec.inputSize,
      replica,
      rule,
      syncBatchNorm,
      buffersRule,
      elastic: joined.elastic,
      train,
      faults,
      robust,
      effects: opts.thread?.effects ?? { kill: () => process.kill(process.pid, 'SIGKILL'), freeze },
      coordinator,
      connectPeers: collectiveOf(collective, { peer, thread: opts.thread, worker, stepTimeout: joined.stepTimeout }),
      collective,
      log,
    });
    model.dispose();
    if (stopReason) throw new TrainerError(`run stopped by the coordinator at step ${steps}: ${stopReason}`, 'stopped');
    await peer?.finish(joined.stepTimeout * 1000);
    log(`worker ${worker}: run finished after ${steps} steps`);
    return { worker, steps, backend, stopReason };
  } finally {
    loopDelay.stop();
    pushes.close();
    peer?.close();
    client.close();
  }
}
