import * as grpc from '@grpc/grpc-js';
import { ListenError, isRequestError, type Keepalive, type RequestFault, type TrainingSession } from '@shardlab/experiment';
import { bindFailure } from '@shardlab/options';
import {
  authenticatedWorker,
  coordinatorRequestLimits,
  guardInterceptor,
  hasToken,
  limitRequests,
  loadCoordinatorService,
  permissionDenied,
  serverOptions,
  toServiceError,
  credentialVerifier,
  WireError,
  type Access,
  type CoordinatorHandlers,
  type GradientAck,
  type GradientUpdate__Output,
  type RunSecret,
  type RunStatus__Output,
  type StepAssignment__Output,
} from '@shardlab/protocol';

export { ListenError };

/** The gRPC status of each fault the step engine reports (see errors.ts in @shardlab/experiment). */
const FAULT_STATUS: Readonly<Record<RequestFault, grpc.status>> = {
  malformed: grpc.status.INVALID_ARGUMENT,
  'wrong-state': grpc.status.FAILED_PRECONDITION,
  'not-member': grpc.status.PERMISSION_DENIED,
  duplicate: grpc.status.ALREADY_EXISTS,
  'over-limit': grpc.status.RESOURCE_EXHAUSTED,
};

/** The error a handler answers with: the engine's faults mapped here, at the edge; codec errors keep theirs. */
export function statusOf(err: unknown): grpc.ServerErrorResponse {
  return isRequestError(err) ? new WireError(FAULT_STATUS[err.fault], err.message) : toServiceError(err);
}

/** Who may call what (see auth.ts in @shardlab/protocol): status is open, acting as a worker needs its credential. */
export const COORDINATOR_ACCESS: Readonly<Record<string, Access>> = {
  GetStatus: 'open',
  GetDataset: 'token',
  Join: 'token',
  NextStep: 'worker',
  PushGradient: 'worker',
  PushGradientStream: 'worker',
  AllReduce: 'worker',
};

/** What a caller without the token learns: enough for a health check, nothing that identifies the run. */
export function publicStatus(full: RunStatus__Output): RunStatus__Output {
  return { runId: '', state: full.state, step: full.step, steps: full.steps, workers: full.workers, joined: full.joined, strategy: '', lastLoss: 0, testAccuracy: -1, error: '', contributions: [] };
}

/**
 * gRPC handlers: each one decodes nothing itself, it hands the request to the session and
 * maps the session's faults to statuses (statusOf). The step logic lives in @shardlab/experiment; who may call
 * was settled by the guard before the request was read, except one thing only the request
 * says: the worker it acts for, which must be the one its credential names.
 */
export function coordinatorHandlers(session: TrainingSession, secret: RunSecret | null = null): CoordinatorHandlers {
  const actsAsItself = (metadata: grpc.Metadata, claimed: number): void => {
    const proven = authenticatedWorker(secret, metadata);
    if (secret !== null && proven !== claimed) {
      session.noteRefused('impersonation', `a caller with worker ${proven}'s credential claimed worker ${claimed}`);
      throw permissionDenied(`this call's credential is worker ${proven}'s; it cannot act as worker ${claimed}`);
    }
  };
  /**
   * An assignment that carries the peers' addresses also carries what proves each of them (with a run secret):
   * the hash of every worker's credential, so that a trainer admits a Peer subscription from that worker only.
   */
  const withVerifiers = (a: StepAssignment__Output): StepAssignment__Output =>
    secret && a.peers.length > 0
      ? {
          ...a,
          // By rank: the worker at each (all workers in order, unless the collective was re-formed).
          peerVerifiers: a.peers.map((_, r) => {
            const w = a.peerWorkers.length > 0 ? a.peerWorkers[r]! : r;
            return credentialVerifier(secret.credentialFor(w, session.generationOf(w)));
          }),
        }
      : a;
  /**
   * One push, a PushGradient call or a message on PushGradientStream: answered once every worker has pushed, with
   * the averaged update and the combined buffers (relay only) and the next step's assignment.
   */
  const push = async (metadata: grpc.Metadata, request: GradientUpdate__Output): Promise<GradientAck> => {
    actsAsItself(metadata, request.worker);
    const { update, buffers, next } = await session.pushGradient(request);
    const answer = next ? withVerifiers(next) : next;
    return { ...(update ? { update } : {}), ...(buffers ? { buffers } : {}), next: answer };
  };
  return {
    GetDataset(_call, callback) {
      callback(null, session.describeDataset());
    },
    Join(call, callback) {
      // A replacement (--lost-worker replace) may be answered only once the step in progress completes.
      let answer: Promise<Awaited<ReturnType<TrainingSession['join']>>>;
      try {
        answer = session.joinWhenReady(call.request);
      } catch (err) {
        callback(statusOf(err));
        return;
      }
      answer.then(
        (reply) => callback(null, { ...reply, credential: secret ? secret.credentialFor(reply.worker, session.generationOf(reply.worker)) : '' }),
        (err: unknown) => callback(statusOf(err)),
      );
    },
    NextStep(call, callback) {
      let answer: Promise<StepAssignment__Output>;
      try {
        actsAsItself(call.metadata, call.request.worker);
        answer = session.nextStep(call.request);
        // A trainer that vanishes while waiting for the run to start frees its slot (see nextStepCancelled).
        call.on('cancelled', () => session.nextStepCancelled(call.request.worker, call.request.step));
      } catch (err) {
        callback(statusOf(err));
        return;
      }
      answer.then(
        (assignment) => callback(null, withVerifiers(assignment)),
        (err: unknown) => callback(statusOf(err)),
      );
    },
    PushGradient(call, callback) {
      push(call.metadata, call.request).then(
        (ack) => callback(null, ack),
        (err: unknown) => callback(statusOf(err)),
      );
    },
    PushGradientStream(call) {
      // PushGradient, message by message: each is handed to the session as it arrives, and the answers go out in
      // order. Taken in at once, not after the previous answer: a trainer that averages among its peers reports
      // a step before its all-reduce, and if that all-reduce then fails its error must stop the run now, not
      // wait behind the report, whose answer needs a step that will never complete. The first refusal ends the
      // stream with its status.
      let previous = Promise.resolve();
      let ended = false;
      /** The worker this stream reports for, from its first message (the session hears when the stream ends). */
      let worker: number | null = null;
      call.on('data', (request: GradientUpdate__Output) => {
        // Only a stream whose credential is the worker's own (or any, without a run secret) speaks for it.
        if (worker === null && (secret === null || authenticatedWorker(secret, call.metadata) === request.worker)) {
          worker = request.worker;
          session.reportStream(worker, true);
        }
        const answer = push(call.metadata, request);
        answer.catch(() => undefined);
        previous = previous.then(async () => {
          if (ended) return;
          try {
            const ack = await answer;
            if (!ended) call.write(ack);
          } catch (err) {
            ended = true;
            call.emit('error', statusOf(err));
          }
        });
      });
      // The trainer is done pushing (its run is over): end ours once the last answer is out.
      call.on('end', () => {
        if (worker !== null) session.reportStream(worker, false);
        void previous.then(() => {
          if (!ended) call.end();
          ended = true;
        });
      });
      call.on('cancelled', () => (ended = true));
    },
    GetStatus(call, callback) {
      const full = session.status();
      callback(null, hasToken(secret, call.metadata) ? full : publicStatus(full));
    },
    AllReduce(call, callback) {
      let answer: Promise<number[]>;
      try {
        actsAsItself(call.metadata, call.request.worker);
        answer = session.allReduce(call.request);
      } catch (err) {
        callback(statusOf(err));
        return;
      }
      answer.then(
        (sum) => callback(null, { sum }),
        (err: unknown) => callback(statusOf(err)),
      );
    },
  };
}

export interface RunningServer {
  address: string;
  port: number;
  close: () => Promise<void>;
}

/**
 * Binds host:port (port 0 picks a free one) and serves the session. With a secret, every call is
 * checked by the guard before its request is read; every request is held to its method's size limit
 * (derived from the model) before it is decoded.
 */
export async function serveSession(
  session: TrainingSession,
  host: string,
  port: number,
  security: { secret: RunSecret | null; credentials?: grpc.ServerCredentials; keepalive?: Keepalive } = { secret: null },
): Promise<RunningServer> {
  const limits = coordinatorRequestLimits(session.parameters, session.optimizerStateLength);
  const server = new grpc.Server({
    ...serverOptions(security.keepalive),
    'grpc.max_receive_message_length': limits.maxReceive,
    interceptors: [
      guardInterceptor({
        secret: security.secret,
        access: COORDINATOR_ACCESS,
        onRefused: (kind, method) => session.noteRefused(kind, `${method} call`),
        generationOf: (worker) => session.generationOf(worker),
      }),
    ],
  });
  server.addService(limitRequests(loadCoordinatorService().service, limits.perMethod), coordinatorHandlers(session, security.secret));
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, security.credentials ?? grpc.ServerCredentials.createInsecure(), (err, p) => {
      if (err) {
        reject(new ListenError(`cannot listen on ${host}:${port}: ${bindFailure(err.message, { host: '--host', port: '--port' })}`));
      } else resolve(p);
    }),
  );
  return {
    address: `${host}:${bound}`,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        // tryShutdown lets the calls in flight (the last step's answers, already sent) reach their trainers; on a
        // machine loaded well past its cores that took more than 2 s once (a trainer saw "Connection dropped"
        // on its last push), so force only after 10 s. Every call has its answer by now: nothing waits longer.
        const force = setTimeout(() => server.forceShutdown(), 10_000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
