import * as grpc from '@grpc/grpc-js';
import type { TrainingSession } from '@shardlab/experiment';
import { SERVER_OPTIONS, loadCoordinatorService, toServiceError, type CoordinatorHandlers } from '@shardlab/protocol';

/** Thrown when the port cannot be bound; the message names the address. */
export class ListenError extends Error {
  override name = 'ListenError';
}

/**
 * gRPC handlers: each one decodes nothing itself, it hands the request to the session and
 * maps a WireError to its status. The step logic lives in @shardlab/experiment.
 */
export function coordinatorHandlers(session: TrainingSession): CoordinatorHandlers {
  return {
    GetDataset(_call, callback) {
      callback(null, session.describeDataset());
    },
    Join(call, callback) {
      try {
        callback(null, session.join(call.request));
      } catch (err) {
        callback(toServiceError(err));
      }
    },
    NextStep(call, callback) {
      let answer: Promise<unknown>;
      try {
        answer = session.nextStep(call.request);
      } catch (err) {
        callback(toServiceError(err));
        return;
      }
      answer.then(
        (assignment) => callback(null, assignment as never),
        (err: unknown) => callback(toServiceError(err)),
      );
    },
    PushGradient(call, callback) {
      let answer: Promise<{ shape: number[]; data: Buffer } | null>;
      try {
        answer = session.pushGradient(call.request);
      } catch (err) {
        callback(toServiceError(err));
        return;
      }
      // Relay: answered with the averaged update once every worker has pushed; ring: at once.
      answer.then(
        (update) => callback(null, update ? { update } : {}),
        (err: unknown) => callback(toServiceError(err)),
      );
    },
    GetStatus(_call, callback) {
      callback(null, session.status());
    },
    AllReduce(call, callback) {
      let answer: Promise<number[]>;
      try {
        answer = session.allReduce(call.request);
      } catch (err) {
        callback(toServiceError(err));
        return;
      }
      answer.then(
        (sum) => callback(null, { sum }),
        (err: unknown) => callback(toServiceError(err)),
      );
    },
  };
}

export interface RunningServer {
  address: string;
  port: number;
  close: () => Promise<void>;
}

/** Binds host:port (port 0 picks a free one) and serves the session. */
export async function serveSession(session: TrainingSession, host: string, port: number): Promise<RunningServer> {
  const server = new grpc.Server(SERVER_OPTIONS);
  server.addService(loadCoordinatorService().service, coordinatorHandlers(session));
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => {
      if (err) {
        const inUse = /EADDRINUSE|address already in use|No address added/i.test(err.message);
        reject(new ListenError(inUse ? `cannot listen on ${host}:${port}: port in use (--port)` : `cannot listen on ${host}:${port}: ${err.message}`));
      } else resolve(p);
    }),
  );
  return {
    address: `${host}:${bound}`,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        // Give in-flight calls (the final "done" answers) a moment, then force.
        const force = setTimeout(() => server.forceShutdown(), 2000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
