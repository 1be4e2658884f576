import { DEFAULT_KEEPALIVE, type Keepalive } from '@shardlab/options';
import type { ChannelOptions, ServerOptions } from '@grpc/grpc-js';

/**
 * Largest message either side sends or accepts: 64 MiB.
 *
 * grpc-js defaults to 4 MiB received (sending is unlimited), which this workload outgrows
 * quickly. Sizes are dominated by float32 payloads at 4 bytes a value:
 *   - a batch of 512 MNIST-sized rows, 512 x 784 float32       = 1,605,632 B (1.6 MB),
 *     plus labels and ids as varints (<= 5 B each)             ~ 5 KB;
 *   - a gradient (or averaged update) of a 1M-parameter model  = 4,000,000 B (4 MB);
 *   - a StepAssignment carries update + batch, so that model with that batch is ~5.6 MB:
 *     already over the 4 MiB default.
 * 64 MiB admits a 16M-parameter update (64 MiB / 4 B = 16.7M floats) together with a large
 * batch, far beyond the MLPs simulated here, while still bounding what a corrupt or hostile
 * length prefix can make us buffer. Both sides use the same limit, so whatever one side may
 * send the other may receive; a message over it fails with RESOURCE_EXHAUSTED, naming the size.
 */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/**
 * Keepalive: both sides ping an idle connection every 30 s and drop it if the ack takes
 * more than 10 s, so a peer that vanished without closing its socket (killed VM, pulled
 * cable, suspended laptop) is noticed within ~40 s instead of when TCP retransmission gives
 * up (up to ~15 min on Linux). That matters here because the normal state of a trainer is
 * blocked in a NextStep long poll while the slowest worker computes; with no data flowing
 * nothing else would ever reveal a dead coordinator, and the coordinator's pending
 * NextStep call from a dead trainer is only cancelled (freeing it) when the transport dies.
 * 30 s stays moderate: grpc's keepalive guide advises against going much lower.
 * A ping is answered only when the event loop turns: long computations yield on time (event-loop.ts).
 *
 * grpc-js servers do not police client ping rates; a grpc-core server (C++/Python/Go) by
 * default would answer pings more often than every 5 min without data with GOAWAY
 * too_many_pings, so such a server would need its min ping interval lowered to <= 30 s.
 */
function keepaliveOptions(k: Keepalive): { 'grpc.keepalive_time_ms': number; 'grpc.keepalive_timeout_ms': number } {
  return { 'grpc.keepalive_time_ms': Math.round(k.time * 1000), 'grpc.keepalive_timeout_ms': Math.round(k.timeout * 1000) };
}

/** Options for a grpc.Server (the coordinator's, a trainer's Peer service). */
export function serverOptions(keepalive: Keepalive = DEFAULT_KEEPALIVE): ServerOptions {
  return {
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    ...keepaliveOptions(keepalive),
  };
}

/** The coordinator's grpc.Server options with the default keepalive. */
export const SERVER_OPTIONS: Readonly<ServerOptions> = serverOptions();

/**
 * The HTTP/2 flow-control window (per stream and per connection) of every client channel: what the server
 * may send before the client has read it. grpc-js lets a client set it; the 64 KB default held every message
 * larger than that (a 436 KB averaged update, a 110 KB ring chunk) until the receiver had read the first part
 * and sent a window update, one more round trip between busy processes. A ring all-reduce (4 workers, 109k
 * floats) spent 22% less CPU with room for whole chunks. Servers cannot set theirs in grpc-js, which is why
 * the ring's receiver is the client (Peer.Subscribe).
 */
export const FLOW_CONTROL_WINDOW = 16 * 1024 * 1024;

/** Options for a trainer's (or observer's) client channel. */
export function channelOptions(keepalive: Keepalive = DEFAULT_KEEPALIVE): ChannelOptions {
  return {
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    ...keepaliveOptions(keepalive),
    // Also ping between calls (while the trainer computes a gradient), so the next call
    // finds a verified or freshly reconnected transport rather than a dead one.
    'grpc.keepalive_permit_without_calls': 1,
    'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW,
    // A name that does not resolve yet (a Swarm service whose task is still starting) is looked up again within
    // 5 s, not after grpc-js's default backoff of up to 120 s, which outlasted --connect-timeout.
    'grpc.max_reconnect_backoff_ms': MAX_RECONNECT_BACKOFF_MS,
  };
}

/** The longest pause between a client's attempts to resolve and reach its server. */
export const MAX_RECONNECT_BACKOFF_MS = 5000;

/** A client channel's options with the default keepalive. */
export const CHANNEL_OPTIONS: Readonly<ChannelOptions> = channelOptions();

/**
 * The most values (float64) one worker may hand the coordinator's in-step reductions in one step (SyncBN statistics
 * under relay: a few per channel). A budget of its own, not the model's size: what a member can make the
 * coordinator hold stays 8 MiB a worker a step however large the model.
 */
export const REDUCTION_VALUES_PER_WORKER_STEP = 1 << 20;

/**
 * Per-method request limits for the coordinator, from the model's parameter count: the control
 * messages are small whatever the model; a pushed gradient carries at most a gradient and the
 * parameters (4 bytes a value each) plus scalars; an AllReduce carries normalisation statistics,
 * never more values than the model has parameters nor than a worker's reduction budget. The 64 KiB slack covers ids, names, hashes and
 * framing. The server's overall receive limit is the largest of them.
 */
export function coordinatorRequestLimits(parameters: number, optimizerStateValues = 0): { perMethod: Record<string, number>; maxReceive: number } {
  const slack = 64 * 1024;
  // A push: the gradient and (among trainers, on evaluation and checkpoint steps) the parameters, float32 each,
  // worker 0's optimizer state before a checkpoint (float64), plus the scalars.
  const push = 2 * 4 * parameters + 8 * optimizerStateValues + slack;
  const perMethod = {
    GetDataset: 1024,
    GetStatus: 1024,
    NextStep: 4096,
    Join: 16 * 1024,
    AllReduce: 8 * Math.min(parameters, REDUCTION_VALUES_PER_WORKER_STEP) + slack,
    PushGradient: push,
    PushGradientStream: push,
  };
  return { perMethod, maxReceive: Math.min(MAX_MESSAGE_BYTES, Math.max(...Object.values(perMethod))) };
}

/**
 * The Peer service's limits: a subscription is a run id and a worker index; a ring chunk, which the subscriber
 * receives, is at most a whole buffer (float32, or float64 sums) plus slack.
 */
export function peerRequestLimits(parameters: number): { perMethod: Record<string, number>; maxReceive: number; maxChunk: number } {
  return { perMethod: { Subscribe: 1024 }, maxReceive: 1024, maxChunk: Math.min(MAX_MESSAGE_BYTES, 8 * parameters + 64 * 1024) };
}

