// Original file: proto/shardlab/v1/shardlab.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { PeerChunk as _shardlab_v1_PeerChunk, PeerChunk__Output as _shardlab_v1_PeerChunk__Output } from '../../shardlab/v1/PeerChunk';
import type { PeerSubscription as _shardlab_v1_PeerSubscription, PeerSubscription__Output as _shardlab_v1_PeerSubscription__Output } from '../../shardlab/v1/PeerSubscription';

/**
 * Served by every trainer under --collective ring or halving-doubling: the chunks of every all-reduce of the
 * run, to each worker this trainer sends to (ring: the next worker, (w + 1) mod W; halving-doubling: each
 * partner w XOR 2^j), which subscribes once, at step 0, and reads one stream for the whole run
 * (one stream, not a call per chunk: a unary call costs ~1 ms of CPU here, a streamed message a fraction of
 * that). The receiver is the client because a client sets its own HTTP/2 flow-control window: a server's
 * 64 KB default made every chunk of a ring all-reduce wait for a window update mid-message. The stream ends
 * with the run. PERMISSION_DENIED for another run or a subscriber this trainer does not send to;
 * ALREADY_EXISTS for a second subscription.
 */
export interface PeerClient extends grpc.Client {
  Subscribe(argument: _shardlab_v1_PeerSubscription, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_shardlab_v1_PeerChunk__Output>;
  Subscribe(argument: _shardlab_v1_PeerSubscription, options?: grpc.CallOptions): grpc.ClientReadableStream<_shardlab_v1_PeerChunk__Output>;
  subscribe(argument: _shardlab_v1_PeerSubscription, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_shardlab_v1_PeerChunk__Output>;
  subscribe(argument: _shardlab_v1_PeerSubscription, options?: grpc.CallOptions): grpc.ClientReadableStream<_shardlab_v1_PeerChunk__Output>;
  
}

/**
 * Served by every trainer under --collective ring or halving-doubling: the chunks of every all-reduce of the
 * run, to each worker this trainer sends to (ring: the next worker, (w + 1) mod W; halving-doubling: each
 * partner w XOR 2^j), which subscribes once, at step 0, and reads one stream for the whole run
 * (one stream, not a call per chunk: a unary call costs ~1 ms of CPU here, a streamed message a fraction of
 * that). The receiver is the client because a client sets its own HTTP/2 flow-control window: a server's
 * 64 KB default made every chunk of a ring all-reduce wait for a window update mid-message. The stream ends
 * with the run. PERMISSION_DENIED for another run or a subscriber this trainer does not send to;
 * ALREADY_EXISTS for a second subscription.
 */
export interface PeerHandlers extends grpc.UntypedServiceImplementation {
  Subscribe: grpc.handleServerStreamingCall<_shardlab_v1_PeerSubscription__Output, _shardlab_v1_PeerChunk>;
  
}

export interface PeerDefinition extends grpc.ServiceDefinition {
  Subscribe: MethodDefinition<_shardlab_v1_PeerSubscription, _shardlab_v1_PeerChunk, _shardlab_v1_PeerSubscription__Output, _shardlab_v1_PeerChunk__Output>
}
