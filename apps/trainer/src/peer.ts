import * as grpc from '@grpc/grpc-js';
import { Mailbox, RingCollective, type RingLink } from '@shardlab/collective';
import {
  CHANNEL_OPTIONS,
  SERVER_OPTIONS,
  RunSecret,
  channelCredentials,
  encodePeerChunk,
  guardInterceptor,
  identityInterceptor,
  invalidArgument,
  limitRequests,
  loadPeerService,
  peerRequestLimits,
  peerSenderConstructor,
  permissionDenied,
  serverCredentials,
  toServiceError,
  unavailable,
  type PeerHandlers,
  type PeerSender,
} from '@shardlab/protocol';
import type { Security } from '@shardlab/options';

/** Who this trainer is in the ring, once it has joined. */
interface Membership {
  runId: string;
  worker: number;
  workers: number;
}

/**
 * A trainer's side of the ring (--collective ring): the Peer service, which takes the chunks the previous
 * worker sends into a mailbox, and a client to the next worker. The ring algorithm itself is
 * @shardlab/collective's; this is only its gRPC transport.
 */
export class PeerEndpoint {
  private readonly mailbox = new Mailbox();
  private membership: Membership | null = null;
  private next: PeerSender | null = null;
  private stream: grpc.ClientWritableStream<Buffer> | null = null;

  private constructor(
    private readonly server: grpc.Server,
    /** host:port this trainer listens on. */
    readonly boundAddress: string,
    private readonly security: Security | null,
  ) {}

  /**
   * Listens on host:port (port 0: any free one). With a run token, a neighbour's stream must carry it
   * (checked before any chunk is read); with TLS material, the ring runs over TLS (mutual with a CA).
   */
  static async listen(host: string, port: number, security: Security | null = null): Promise<PeerEndpoint> {
    const server = new grpc.Server({
      ...SERVER_OPTIONS,
      interceptors: [guardInterceptor({ secret: security?.token ? new RunSecret(security.token) : null, access: { Deliver: 'token' } })],
    });
    const bound = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${host}:${port}`, serverCredentials(security?.tls ?? null), (err, p) =>
        err ? reject(new Error(`cannot listen for ring peers on ${host}:${port}: ${err.message}`)) : resolve(p),
      ),
    );
    return new PeerEndpoint(server, `${host}:${bound}`, security);
  }

  /**
   * After Join: which run, which worker of how many (chunks are accepted from the previous worker only), and
   * the model's size, which bounds a chunk. The service is served from now on (nobody has a reason to call before).
   */
  attach(membership: Membership, parameters: number): void {
    this.membership = membership;
    this.server.addService(limitRequests(loadPeerService().service, peerRequestLimits(parameters).perMethod), this.handlers());
  }

  /**
   * At step 0, with every worker's Peer address: the Collective this trainer averages through. A neighbour that
   * sends nothing for `timeoutSeconds`, or cannot be reached, fails the reduction with an error naming it.
   */
  connect(peers: readonly string[], timeoutSeconds: number): RingCollective {
    const m = this.membership;
    if (!m) throw new Error('connect before attach');
    if (peers.length !== m.workers) throw new Error(`expected ${m.workers} peer addresses, got ${peers.length}`);
    const nextWorker = (m.worker + 1) % m.workers;
    const prevWorker = (m.worker + m.workers - 1) % m.workers;
    const Peer = peerSenderConstructor();
    this.closeStream();
    const next = new Peer(peers[nextWorker]!, channelCredentials(this.security?.tls ?? null), {
      ...CHANNEL_OPTIONS,
      interceptors: [identityInterceptor({ token: this.security?.token ?? null })],
    });
    this.next = next;
    const timeoutMs = timeoutSeconds * 1000;
    // One stream to the next worker for the whole run. Its first failure (the neighbour is gone, or refused
    // a chunk) fails every send from then on; the neighbour's answer at the end of the run is not awaited.
    let failure: Error | null = null;
    const stream = next.deliver((err) => {
      if (!err || failure) return;
      failure = new Error(`cannot send to worker ${nextWorker} at ${peers[nextWorker]}: ${grpc.status[err.code] ?? err.code}: ${err.details}`);
      // The ring is broken: a reduction waiting to receive would only wait for the timeout.
      this.mailbox.fail(failure);
    });
    stream.on('error', () => undefined); // reported through the callback above
    this.stream = stream;
    const link: RingLink = {
      send: (key, data) => {
        if (failure) return Promise.reject(failure);
        // Encoded now (the ring keeps writing into the array `data` views), in one copy.
        const encoded = encodePeerChunk({ runId: m.runId, from: m.worker, key, data });
        return new Promise<void>((resolve, reject) => {
          stream.write(encoded, (err: Error | null | undefined) => {
            if (failure || err) reject(failure ?? new Error(`cannot send to worker ${nextWorker} at ${peers[nextWorker]}: ${err!.message}`));
            else resolve();
          });
        });
      },
      receive: (key) =>
        this.mailbox.take(key, timeoutMs, () => new Error(`nothing from worker ${prevWorker} at ${peers[prevWorker]} within ${timeoutSeconds} s (--step-timeout)`)),
    };
    return new RingCollective(m.worker, m.workers, link);
  }

  /** Stops serving; waits that are still pending fail. */
  close(): void {
    this.mailbox.fail(new Error('the trainer is shutting down'));
    this.closeStream();
    this.server.forceShutdown();
  }

  private closeStream(): void {
    this.stream?.end();
    this.stream = null;
    this.next?.close();
    this.next = null;
  }

  private handlers(): PeerHandlers {
    return {
      Deliver: (call, callback) => {
        let done = false;
        const finish = (err: unknown) => {
          if (done) return;
          done = true;
          if (err) callback(toServiceError(err));
          else callback(null, {});
        };
        call.on('data', (chunk: { runId: string; from: number; key: string; data: Buffer }) => {
          if (done) return;
          const m = this.membership;
          try {
            if (!m) throw unavailable('this trainer has not joined a run yet');
            if (chunk.runId !== m.runId) throw permissionDenied(`chunk for run ${JSON.stringify(chunk.runId)}, this trainer is in run ${m.runId}`);
            const prev = (m.worker + m.workers - 1) % m.workers;
            if (chunk.from !== prev) throw permissionDenied(`chunk from worker ${chunk.from}; only worker ${prev} sends to worker ${m.worker}`);
            if (chunk.data.length % 4 !== 0) throw invalidArgument(`chunk ${chunk.key}: ${chunk.data.length} bytes is not a whole number of float32 values`);
            // Copied into an aligned array: the received bytes may start at any offset.
            const values = new Float32Array(chunk.data.length / 4);
            new Uint8Array(values.buffer).set(chunk.data);
            this.mailbox.deliver(chunk.key, values);
          } catch (err) {
            finish(err);
          }
        });
        // The previous worker ended its stream: at the end of its run, or because its connection was cut (an abrupt
        // close can end the stream before it is cancelled). Either way nothing more will come from it.
        call.on('end', () => {
          const m = this.membership;
          if (!done && m) this.mailbox.end(new Error(`the stream from worker ${(m.worker + m.workers - 1) % m.workers} ended (it stopped or was cut off)`));
          finish(null);
        });
        // The previous worker vanished mid-run (killed, network gone): fail the waiting reductions now, naming it.
        const broken = (why: string) => {
          const m = this.membership;
          if (!done && m) this.mailbox.fail(new Error(`the stream from worker ${(m.worker + m.workers - 1) % m.workers} broke (${why})`));
          finish(null);
        };
        call.on('cancelled', () => broken('cancelled'));
        call.on('error', (err: Error) => broken(err.message));
      },
    };
  }
}
