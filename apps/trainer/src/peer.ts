import * as grpc from '@grpc/grpc-js';
import { Mailbox, PeerCollective, peerAlgorithmFor, peersOf, type PeerAlgorithm, type PeerLink } from '@shardlab/collective';
import {
  channelOptions,
  serverOptions,
  RunSecret,
  alreadyExists,
  failedPrecondition,
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
  verifiedPeer,
  type PeerChunk__Output,
  type PeerClient,
  type PeerSubscription__Output,
} from '@shardlab/protocol';
import { DEFAULT_KEEPALIVE, bindFailure, type Keepalive, type Security } from '@shardlab/options';

/** Who this trainer is among the peers, once it has joined. */
interface Membership {
  runId: string;
  worker: number;
  workers: number;
  /** The credential the coordinator issued this worker at Join ('' in a run without a token). */
  credential?: string;
}

/** A worker's subscription to this trainer: where this trainer's chunks for it go. */
type Subscriber = grpc.ServerWritableStream<PeerSubscription__Output, Buffer>;

/** This trainer's subscription to a worker it receives from. */
interface Incoming {
  client: PeerClient;
  stream: grpc.ClientReadableStream<PeerChunk__Output>;
  mailbox: Mailbox;
  /** Settles when the stream is over (ended by the sender, broken or cancelled). */
  over: Promise<void>;
}

/**
 * A trainer's side of the all-reduce among trainers (--collective ring or halving-doubling). It serves Peer:
 * each worker this trainer sends to subscribes once, and this trainer writes its chunks for that worker into
 * that stream. It subscribes to each worker it receives from and takes the chunks that arrive into a mailbox
 * per sender. Who talks to whom is the algorithm's (peersOf): the ring's next and previous worker, or the
 * log2(W) halving-doubling partners both ways. The receiver is the client so that it can size the HTTP/2
 * flow-control window for whole chunks (FLOW_CONTROL_WINDOW, in CHANNEL_OPTIONS). The algorithms themselves are
 * @shardlab/collective's; this is only their gRPC transport.
 */
export class PeerEndpoint {
  private membership: Membership | null = null;
  /** The --collective asked for; `algorithm` is what the current members use (a ring where halving-doubling cannot). */
  private configured: PeerAlgorithm = 'ring';
  private algorithm: PeerAlgorithm = 'ring';
  private parameters = 0;
  /**
   * Which collective of the run this is: 0 for the first, one more each time the coordinator re-forms it (a member
   * lost or replaced, --lost-worker continue|replace). Subscriptions and their streams belong to one epoch; a
   * subscription for a later one waits in `early` until this trainer gets there.
   */
  private epoch = 0;
  private early: Subscriber[] = [];
  /** Elastic: a broken link breaks all of this trainer's links, so that every member's all-reduce fails promptly. */
  private elastic = false;
  /** The workers this trainer sends to (the only ones that may subscribe) and receives from. */
  private sendsTo: number[] = [];
  private receivesFrom: number[] = [];
  /** "worker N at host:port", once connect() knows the addresses. */
  private names: string[] = [];
  /** Sending side: the subscriptions by worker, the sends waiting for one, and why sending is impossible. */
  private readonly subscribers = new Map<number, Subscriber>();
  private awaitingSubscriber: { worker: number; resolve: (s: Subscriber) => void; reject: (err: Error) => void }[] = [];
  private sendFailure: Error | null = null;
  /**
   * With a run token: the SHA-256 of every worker's credential, from the coordinator (with the peers' addresses),
   * null until then; a subscription that comes before them waits in `unchecked`.
   */
  private verifiers: readonly string[] | null = null;
  private unchecked: Subscriber[] = [];
  /** Receiving side, by worker. */
  private readonly incoming = new Map<number, Incoming>();

  private constructor(
    private readonly server: grpc.Server,
    /** host:port this trainer listens on. */
    readonly boundAddress: string,
    private readonly security: Security | null,
    private readonly keepalive: Keepalive,
  ) {}

  /**
   * Listens on host:port (port 0: any free one). With a run token, a subscription must carry it (checked before
   * the request is read); with TLS material, the peers talk over TLS (mutual with a CA).
   */
  static async listen(host: string, port: number, security: Security | null = null, keepalive: Keepalive = DEFAULT_KEEPALIVE): Promise<PeerEndpoint> {
    const server = new grpc.Server({
      ...serverOptions(keepalive),
      interceptors: [guardInterceptor({ secret: security?.token ? new RunSecret(security.token) : null, access: { Subscribe: 'token' } })],
    });
    const bound = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${host}:${port}`, serverCredentials(security?.tls ?? null), (err, p) =>
        err ? reject(new Error(`cannot listen for peers on ${host}:${port}: ${bindFailure(err.message, { host: '--peer-host', port: '--peer-port' })}`)) : resolve(p),
      ),
    );
    return new PeerEndpoint(server, `${host}:${bound}`, security, keepalive);
  }

  /**
   * After Join: which run, which worker of how many, the algorithm (which decides who may subscribe), and the
   * model's size, which bounds a chunk. The service is served from now on (nobody has a reason to call before).
   */
  attach(membership: Membership, parameters: number, algorithm: PeerAlgorithm = 'ring', elastic = false): void {
    const { sendsTo, receivesFrom } = peersOf(algorithm, membership.worker, membership.workers);
    this.membership = membership;
    this.configured = algorithm;
    this.algorithm = algorithm;
    this.elastic = elastic;
    this.parameters = parameters;
    this.sendsTo = sendsTo;
    this.receivesFrom = receivesFrom;
    this.server.addService(limitRequests(peerServiceForEncodedChunks(), peerRequestLimits(parameters).perMethod), this.handlers());
  }

  /**
   * At step 0, with every worker's Peer address: the Collective this trainer averages through. A peer that
   * sends nothing for `timeoutSeconds`, never subscribes, or cannot be reached fails the reduction with an error
   * naming it.
   */
  connect(peers: readonly string[], timeoutSeconds: number, verifiers: readonly string[] = [], workers: readonly number[] = [], epoch = 0): PeerCollective {
    const m = this.membership;
    if (!m) throw new Error('connect before attach');
    // By rank: the worker index at each (all workers in order, unless the collective was re-formed).
    const ranks = workers.length > 0 ? [...workers] : peers.map((_, w) => w);
    if (workers.length === 0 && peers.length !== m.workers) throw new Error(`expected ${m.workers} peer addresses, got ${peers.length}`);
    if (ranks.length !== peers.length) throw new Error(`${peers.length} peer addresses for ${ranks.length} workers`);
    const rank = ranks.indexOf(m.worker);
    if (rank < 0) throw new Error(`worker ${m.worker} is not among the peers of epoch ${epoch}`);
    if (this.security?.token && verifiers.length !== peers.length) {
      throw new Error(`the coordinator sent ${verifiers.length} peer verifiers for ${peers.length} workers; without them no subscription can be checked`);
    }
    if (epoch !== this.epoch) this.reform(epoch);
    this.algorithm = peerAlgorithmFor(this.configured, ranks.length);
    const links = peersOf(this.algorithm, rank, ranks.length);
    this.sendsTo = links.sendsTo.map((r) => ranks[r]!);
    this.receivesFrom = links.receivesFrom.map((r) => ranks[r]!);
    // Verifiers by worker index, as a subscription names its worker.
    const byWorker: string[] = [];
    ranks.forEach((w, r) => (byWorker[w] = verifiers[r]!));
    this.verifiers = verifiers.length > 0 ? byWorker : verifiers;
    for (const call of [...this.unchecked.splice(0), ...this.early.splice(0)]) this.admit(call);
    const timeoutMs = timeoutSeconds * 1000;
    this.names = [];
    ranks.forEach((w, r) => (this.names[w] = `worker ${w} at ${peers[r]}`));
    for (const w of this.receivesFrom) this.subscribe(w, peers[ranks.indexOf(w)]!);
    const link: PeerLink = {
      send: async (toRank, key, data) => {
        const to = ranks[toRank]!;
        // Encoded now (the algorithms keep writing into the array `data` views), in one copy.
        const encoded = encodePeerChunk({ runId: m.runId, from: m.worker, key, data });
        const subscriber = await this.subscriberOf(to, timeoutMs, () => new Error(`${this.name(to)} did not subscribe within ${timeoutSeconds} s (--step-timeout)`));
        return new Promise<void>((resolve, reject) => {
          subscriber.write(encoded, (err: Error | null | undefined) => {
            if (this.sendFailure || err) reject(this.sendFailure ?? new Error(`cannot send to ${this.name(to)}: ${err!.message}`));
            else resolve();
          });
        });
      },
      receive: (fromRank, key) => {
        const from = ranks[fromRank]!;
        const incoming = this.incoming.get(from);
        if (!incoming) return Promise.reject(new Error(`this trainer does not receive from ${this.name(from)} under ${this.algorithm}`));
        return incoming.mailbox.take(key, timeoutMs, () => new Error(`nothing from ${this.name(from)} within ${timeoutSeconds} s (--step-timeout)`));
      },
    };
    return new PeerCollective(rank, ranks.length, link, this.algorithm);
  }

  /** A new epoch: every link of the last one is dropped (its streams end or are cancelled) and sending may start afresh. */
  private reform(epoch: number): void {
    const gone = new Error(`the collective was re-formed (epoch ${epoch})`);
    this.breakLinks(gone);
    this.epoch = epoch;
    this.sendFailure = null;
  }

  /** Ends every subscription to this trainer and cancels every one of its own; waits for them fail with `err`. */
  private breakLinks(err: Error): void {
    for (const w of this.awaitingSubscriber.splice(0)) w.reject(err);
    for (const s of this.subscribers.values()) s.end();
    this.subscribers.clear();
    for (const { client, stream, mailbox } of this.incoming.values()) {
      mailbox.fail(err);
      stream.cancel();
      client.close();
    }
    this.incoming.clear();
  }

  /**
   * The end of a run, before close(): ends the streams this trainer writes (its receivers see a clean end and
   * keep what arrived), then waits up to `timeoutMs` for its senders to end theirs. Closing at once would
   * cancel subscriptions whose senders may still be in the run's last reduction (a worker reports that step
   * before its all-reduce, so the run can be over for the coordinator while a peer still reduces), and a
   * sender takes a cancelled subscription for its receiver's death.
   */
  async finish(timeoutMs: number): Promise<void> {
    for (const s of this.subscribers.values()) s.end();
    this.subscribers.clear();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([Promise.all([...this.incoming.values()].map((i) => i.over)), timeout]);
    clearTimeout(timer);
  }

  /** Stops serving; waits that are still pending fail. */
  close(): void {
    const closing = new Error('the trainer is shutting down');
    this.failSending(closing);
    for (const s of [...this.unchecked.splice(0), ...this.early.splice(0)]) s.end();
    this.breakLinks(closing);
    this.server.forceShutdown();
  }

  private name(worker: number): string {
    return this.names[worker] ?? `worker ${worker}`;
  }

  /** Every wait to receive fails with `err` (a peer is gone: the reduction cannot complete). */
  private failReceiving(err: Error): void {
    for (const { mailbox } of this.incoming.values()) mailbox.fail(err);
    // Elastic: the partners waiting on this trainer learn at once that this all-reduce cannot complete.
    if (this.elastic) this.breakLinks(err);
  }

  /** Subscribes to `sender`'s chunks for this trainer, for the whole run. */
  private subscribe(sender: number, address: string): void {
    const m = this.membership!;
    const { Peer } = loadPeerService();
    const earlier = this.incoming.get(sender);
    earlier?.stream.cancel();
    earlier?.client.close();
    const client = new Peer(address, channelCredentials(this.security?.tls ?? null), {
      ...channelOptions(this.keepalive),
      'grpc.max_receive_message_length': peerRequestLimits(this.parameters).maxChunk,
      // The token, and this worker's credential: the sender admits this subscription from this worker only.
      interceptors: [identityInterceptor({ token: this.security?.token ?? null, worker: m.credential ? { index: m.worker, credential: m.credential } : undefined })],
    });
    const epoch = this.epoch;
    const stream = client.subscribe({ runId: m.runId, worker: m.worker, epoch });
    const mailbox = new Mailbox();
    let settle = () => undefined as void;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    this.incoming.set(sender, { client, stream, mailbox, over: settled });
    const from = this.name(sender);
    let over = false;
    // Over, whichever way: ended, broken, or closed.
    for (const event of ['end', 'error', 'close']) stream.on(event, () => settle());
    stream.on('data', (chunk: PeerChunk__Output) => {
      if (over || epoch !== this.epoch) return;
      if (chunk.runId !== m.runId || chunk.from !== sender || chunk.data.length % 4 !== 0) {
        over = true;
        this.failReceiving(new Error(`${from} sent a chunk that is not this run's float32 data from it (run ${JSON.stringify(chunk.runId)}, from ${chunk.from}, ${chunk.data.length} bytes)`));
        stream.cancel();
        return;
      }
      // Copied into an aligned array: the received bytes may start at any offset.
      const values = new Float32Array(chunk.data.length / 4);
      new Uint8Array(values.buffer).set(chunk.data);
      mailbox.deliver(chunk.key, values);
    });
    // The sender ended the stream: at the end of its run. What arrived can still be taken.
    stream.on('end', () => {
      if (!over) mailbox.end(new Error(`the stream from ${from} ended (it stopped)`));
      if (!over && this.elastic && epoch === this.epoch) this.failReceiving(new Error(`the stream from ${from} ended`));
      over = true;
    });
    // Refused, or the sender vanished mid-run (killed, network gone): fail the waiting reductions now, naming it.
    stream.on('error', (err: grpc.ServiceError) => {
      if (!over && err.code !== grpc.status.CANCELLED && epoch === this.epoch) this.failReceiving(new Error(`the stream from ${from} broke (${grpc.status[err.code] ?? err.code}: ${err.details})`));
      over = true;
    });
  }

  /** `worker`'s subscription, once it is there. */
  private subscriberOf(worker: number, timeoutMs: number, onTimeout: () => Error): Promise<Subscriber> {
    if (this.sendFailure) return Promise.reject(this.sendFailure);
    const subscriber = this.subscribers.get(worker);
    if (subscriber) return Promise.resolve(subscriber);
    if (!this.sendsTo.includes(worker)) return Promise.reject(new Error(`this trainer does not send to ${this.name(worker)} under ${this.algorithm}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.awaitingSubscriber = this.awaitingSubscriber.filter((w) => w !== waiter);
        reject(onTimeout());
      }, timeoutMs);
      timer.unref?.();
      const waiter = {
        worker,
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

  /** Nothing can be sent any more: sends now and later fail with `err` (a peer is gone). */
  private failSending(err: Error): void {
    if (this.sendFailure) return;
    this.sendFailure = err;
    for (const w of this.awaitingSubscriber.splice(0)) w.reject(err);
    if (this.elastic) this.breakLinks(err);
  }

  private handlers(): grpc.UntypedServiceImplementation {
    return {
      Subscribe: (call: Subscriber) => {
        // With a run token the subscriber must prove it is the worker it claims, by the coordinator's verifiers;
        // until they arrive (with the first step) the subscription waits unanswered.
        if (this.security?.token && this.verifiers === null) this.unchecked.push(call);
        else this.admit(call);
      },
    };
  }

  /** Takes `call` as its worker's subscription, or refuses it (other run, not this trainer's receiver, not who it claims, twice). */
  private admit(call: Subscriber): void {
    if (call.cancelled) return; // gone while it waited for the verifiers
    const m = this.membership;
    const worker = call.request.worker;
    try {
      if (!m) throw unavailable('this trainer has not joined a run yet');
      if (call.request.runId !== m.runId) throw permissionDenied(`subscription for run ${JSON.stringify(call.request.runId)}, this trainer is in run ${m.runId}`);
      if (call.request.epoch < this.epoch) throw failedPrecondition(`subscription for the collective of epoch ${call.request.epoch}; it was re-formed (epoch ${this.epoch})`);
      if (call.request.epoch > this.epoch) {
        // The subscriber is a re-forming ahead of this trainer: admitted when this trainer gets there.
        this.early.push(call);
        return;
      }
      if (this.security?.token && verifiedPeer(call.metadata, this.verifiers ?? []) !== worker) {
        throw permissionDenied(`subscription as worker ${worker} without worker ${worker}'s credential (the one the coordinator issued it at Join)`);
      }
      if (!this.sendsTo.includes(worker)) {
        const who = this.sendsTo.length === 1 ? `only worker ${this.sendsTo[0]} receives` : `only workers ${this.sendsTo.join(', ')} receive`;
        throw permissionDenied(`subscription from worker ${worker}; ${who} from worker ${m.worker} (${this.algorithm})`);
      }
      if (this.subscribers.has(worker)) throw alreadyExists(`worker ${worker} has subscribed already`);
    } catch (err) {
      call.emit('error', toServiceError(err));
      return;
    }
    this.subscribers.set(worker, call);
    const [ready, waiting] = partition(this.awaitingSubscriber, (w) => w.worker === worker);
    this.awaitingSubscriber = waiting;
    for (const w of ready) w.resolve(call);
    // The subscriber went away (killed, network gone, or its run ended): nothing more can be sent to it.
    const epoch = this.epoch;
    call.on('cancelled', () => {
      if (epoch !== this.epoch) return;
      const failure = new Error(`cannot send to ${this.name(worker)}: it went away (its subscription was cancelled)`);
      this.failSending(failure);
      this.failReceiving(failure);
    });
  }
}

function partition<T>(items: readonly T[], test: (item: T) => boolean): [T[], T[]] {
  const yes: T[] = [];
  const no: T[] = [];
  for (const item of items) (test(item) ? yes : no).push(item);
  return [yes, no];
}
