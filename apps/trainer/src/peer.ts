import * as grpc from '@grpc/grpc-js';
import { Mailbox, RingCollective, type RingLink } from '@shardlab/collective';
import {
  CHANNEL_OPTIONS,
  SERVER_OPTIONS,
  RunSecret,
  alreadyExists,
  channelCredentials,
  encodePeerChunk,
  guardInterceptor,
  identityInterceptor,
  limitRequests,
  loadPeerService,
  peerRequestLimits,
  peerServiceForEncodedChunks,
  permissionDenied,
  serverCredentials,
  toServiceError,
  unavailable,
  type PeerChunk__Output,
  type PeerClient,
  type PeerSubscription__Output,
} from '@shardlab/protocol';
import type { Security } from '@shardlab/options';

/** Who this trainer is in the ring, once it has joined. */
interface Membership {
  runId: string;
  worker: number;
  workers: number;
}

/** The next worker's subscription: where this trainer's chunks go. */
type Subscriber = grpc.ServerWritableStream<PeerSubscription__Output, Buffer>;

/**
 * A trainer's side of the ring (--collective ring). It serves Peer: the next worker subscribes once and this
 * trainer writes its chunks into that stream. It subscribes to the previous worker and takes the chunks that
 * arrive into a mailbox. The receiver is the client so that it can size the HTTP/2 flow-control window for
 * whole chunks (FLOW_CONTROL_WINDOW, in CHANNEL_OPTIONS). The ring algorithm itself is @shardlab/collective's; this is only
 * its gRPC transport.
 */
export class PeerEndpoint {
  private readonly mailbox = new Mailbox();
  private membership: Membership | null = null;
  private parameters = 0;
  /** Sending side: the next worker's subscription, the sends waiting for it, and why sending is impossible. */
  private subscriber: Subscriber | null = null;
  private awaitingSubscriber: { resolve: (s: Subscriber) => void; reject: (err: Error) => void }[] = [];
  private sendFailure: Error | null = null;
  /** "worker N at host:port": the next worker, once connect() knows its address. */
  private nextName = '';
  /** Receiving side: the client of the previous worker and its stream. */
  private previous: PeerClient | null = null;
  private subscription: grpc.ClientReadableStream<PeerChunk__Output> | null = null;

  private constructor(
    private readonly server: grpc.Server,
    /** host:port this trainer listens on. */
    readonly boundAddress: string,
    private readonly security: Security | null,
  ) {}

  /**
   * Listens on host:port (port 0: any free one). With a run token, a subscription must carry it (checked before
   * the request is read); with TLS material, the ring runs over TLS (mutual with a CA).
   */
  static async listen(host: string, port: number, security: Security | null = null): Promise<PeerEndpoint> {
    const server = new grpc.Server({
      ...SERVER_OPTIONS,
      interceptors: [guardInterceptor({ secret: security?.token ? new RunSecret(security.token) : null, access: { Subscribe: 'token' } })],
    });
    const bound = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${host}:${port}`, serverCredentials(security?.tls ?? null), (err, p) =>
        err ? reject(new Error(`cannot listen for ring peers on ${host}:${port}: ${err.message}`)) : resolve(p),
      ),
    );
    return new PeerEndpoint(server, `${host}:${bound}`, security);
  }

  /**
   * After Join: which run, which worker of how many (only the next worker may subscribe), and the model's size,
   * which bounds a chunk. The service is served from now on (nobody has a reason to call before).
   */
  attach(membership: Membership, parameters: number): void {
    this.membership = membership;
    this.parameters = parameters;
    this.server.addService(limitRequests(peerServiceForEncodedChunks(), peerRequestLimits(parameters).perMethod), this.handlers());
  }

  /**
   * At step 0, with every worker's Peer address: the Collective this trainer averages through. A neighbour that
   * sends nothing for `timeoutSeconds`, never subscribes, or cannot be reached fails the reduction with an error
   * naming it.
   */
  connect(peers: readonly string[], timeoutSeconds: number): RingCollective {
    const m = this.membership;
    if (!m) throw new Error('connect before attach');
    if (peers.length !== m.workers) throw new Error(`expected ${m.workers} peer addresses, got ${peers.length}`);
    const nextWorker = (m.worker + 1) % m.workers;
    const prevWorker = (m.worker + m.workers - 1) % m.workers;
    const timeoutMs = timeoutSeconds * 1000;
    const nextName = `worker ${nextWorker} at ${peers[nextWorker]}`;
    const prevName = `worker ${prevWorker} at ${peers[prevWorker]}`;
    this.nextName = nextName;
    this.subscribe(prevWorker, peers[prevWorker]!, prevName);
    const link: RingLink = {
      send: async (key, data) => {
        // Encoded now (the ring keeps writing into the array `data` views), in one copy.
        const encoded = encodePeerChunk({ runId: m.runId, from: m.worker, key, data });
        const subscriber = await this.nextSubscriber(timeoutMs, () => new Error(`${nextName} did not subscribe within ${timeoutSeconds} s (--step-timeout)`));
        return new Promise<void>((resolve, reject) => {
          subscriber.write(encoded, (err: Error | null | undefined) => {
            if (this.sendFailure || err) reject(this.sendFailure ?? new Error(`cannot send to ${nextName}: ${err!.message}`));
            else resolve();
          });
        });
      },
      receive: (key) =>
        this.mailbox.take(key, timeoutMs, () => new Error(`nothing from ${prevName} within ${timeoutSeconds} s (--step-timeout)`)),
    };
    return new RingCollective(m.worker, m.workers, link);
  }

  /** Stops serving; waits that are still pending fail. */
  close(): void {
    const closing = new Error('the trainer is shutting down');
    this.mailbox.fail(closing);
    this.failSending(closing);
    this.subscriber?.end();
    this.subscriber = null;
    this.subscription?.cancel();
    this.subscription = null;
    this.previous?.close();
    this.previous = null;
    this.server.forceShutdown();
  }

  /** Subscribes to the previous worker's chunks, for the whole run (`from` names it in errors). */
  private subscribe(prevWorker: number, address: string, from: string): void {
    const m = this.membership!;
    const { Peer } = loadPeerService();
    this.subscription?.cancel();
    this.previous?.close();
    const previous = new Peer(address, channelCredentials(this.security?.tls ?? null), {
      ...CHANNEL_OPTIONS,
      'grpc.max_receive_message_length': peerRequestLimits(this.parameters).maxChunk,
      interceptors: [identityInterceptor({ token: this.security?.token ?? null })],
    });
    this.previous = previous;
    const stream = previous.subscribe({ runId: m.runId, worker: m.worker });
    this.subscription = stream;
    let over = false;
    stream.on('data', (chunk: PeerChunk__Output) => {
      if (over) return;
      if (chunk.runId !== m.runId || chunk.from !== prevWorker || chunk.data.length % 4 !== 0) {
        over = true;
        this.mailbox.fail(new Error(`${from} sent a chunk that is not this run's float32 data from it (run ${JSON.stringify(chunk.runId)}, from ${chunk.from}, ${chunk.data.length} bytes)`));
        stream.cancel();
        return;
      }
      // Copied into an aligned array: the received bytes may start at any offset.
      const values = new Float32Array(chunk.data.length / 4);
      new Uint8Array(values.buffer).set(chunk.data);
      this.mailbox.deliver(chunk.key, values);
    });
    // The previous worker ended the stream: at the end of its run. What arrived can still be taken.
    stream.on('end', () => {
      if (!over) this.mailbox.end(new Error(`the stream from ${from} ended (it stopped)`));
      over = true;
    });
    // Refused, or the previous worker vanished mid-run (killed, network gone): fail the waiting reductions now, naming it.
    stream.on('error', (err: grpc.ServiceError) => {
      if (!over && err.code !== grpc.status.CANCELLED) this.mailbox.fail(new Error(`the stream from ${from} broke (${grpc.status[err.code] ?? err.code}: ${err.details})`));
      over = true;
    });
  }

  /** The next worker's subscription, once it is there. */
  private nextSubscriber(timeoutMs: number, onTimeout: () => Error): Promise<Subscriber> {
    if (this.sendFailure) return Promise.reject(this.sendFailure);
    if (this.subscriber) return Promise.resolve(this.subscriber);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.awaitingSubscriber = this.awaitingSubscriber.filter((w) => w !== waiter);
        reject(onTimeout());
      }, timeoutMs);
      timer.unref?.();
      const waiter = {
        resolve: (s: Subscriber) => {
          clearTimeout(timer);
          resolve(s);
        },
        reject: (err: Error) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      this.awaitingSubscriber.push(waiter);
    });
  }

  /** Nothing can be sent any more: sends now and later fail with `err`, and so do the reductions waiting to receive (the ring is broken). */
  private failSending(err: Error): void {
    if (this.sendFailure) return;
    this.sendFailure = err;
    for (const w of this.awaitingSubscriber.splice(0)) w.reject(err);
  }

  private handlers(): grpc.UntypedServiceImplementation {
    return {
      Subscribe: (call: Subscriber) => {
        const m = this.membership;
        try {
          if (!m) throw unavailable('this trainer has not joined a run yet');
          if (call.request.runId !== m.runId) throw permissionDenied(`subscription for run ${JSON.stringify(call.request.runId)}, this trainer is in run ${m.runId}`);
          const next = (m.worker + 1) % m.workers;
          if (call.request.worker !== next) throw permissionDenied(`subscription from worker ${call.request.worker}; only worker ${next} receives from worker ${m.worker}`);
          if (this.subscriber) throw alreadyExists(`worker ${next} has subscribed already`);
        } catch (err) {
          call.emit('error', toServiceError(err));
          return;
        }
        this.subscriber = call;
        for (const w of this.awaitingSubscriber.splice(0)) w.resolve(call);
        // The next worker went away (killed, network gone, or its run ended): nothing more can be sent to it.
        call.on('cancelled', () => {
          const failure = new Error(`cannot send to ${this.nextName || `worker ${(m.worker + 1) % m.workers}`}: it went away (its subscription was cancelled)`);
          this.failSending(failure);
          this.mailbox.fail(failure);
        });
      },
    };
  }
}
