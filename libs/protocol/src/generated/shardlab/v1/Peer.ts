// Original file: proto/shardlab/v1/shardlab.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { PeerAck as _shardlab_v1_PeerAck, PeerAck__Output as _shardlab_v1_PeerAck__Output } from '../../shardlab/v1/PeerAck';
import type { PeerChunk as _shardlab_v1_PeerChunk, PeerChunk__Output as _shardlab_v1_PeerChunk__Output } from '../../shardlab/v1/PeerChunk';

/**
 * Served by every trainer under --collective ring: the chunks of every ring all-reduce of the run, on one
 * stream from the previous worker of the ring, (w - 1) mod W (one stream, not a call per chunk: a unary
 * call costs ~1 ms of CPU here, a streamed message a fraction of that). The stream ends with the run.
 * PERMISSION_DENIED for another run or a sender that is not the previous worker; INVALID_ARGUMENT for a
 * chunk that is not float32 data.
 */
export interface PeerClient extends grpc.Client {
  Deliver(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_shardlab_v1_PeerAck__Output>): grpc.ClientWritableStream<_shardlab_v1_PeerChunk>;
  Deliver(metadata: grpc.Metadata, callback: grpc.requestCallback<_shardlab_v1_PeerAck__Output>): grpc.ClientWritableStream<_shardlab_v1_PeerChunk>;
  Deliver(options: grpc.CallOptions, callback: grpc.requestCallback<_shardlab_v1_PeerAck__Output>): grpc.ClientWritableStream<_shardlab_v1_PeerChunk>;
  Deliver(callback: grpc.requestCallback<_shardlab_v1_PeerAck__Output>): grpc.ClientWritableStream<_shardlab_v1_PeerChunk>;
  deliver(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_shardlab_v1_PeerAck__Output>): grpc.ClientWritableStream<_shardlab_v1_PeerChunk>;
  deliver(metadata: grpc.Metadata, callback: grpc.requestCallback<_shardlab_v1_PeerAck__Output>): grpc.ClientWritableStream<_shardlab_v1_PeerChunk>;
  deliver(options: grpc.CallOptions, callback: grpc.requestCallback<_shardlab_v1_PeerAck__Output>): grpc.ClientWritableStream<_shardlab_v1_PeerChunk>;
  deliver(callback: grpc.requestCallback<_shardlab_v1_PeerAck__Output>): grpc.ClientWritableStream<_shardlab_v1_PeerChunk>;
  
}

/**
 * Served by every trainer under --collective ring: the chunks of every ring all-reduce of the run, on one
 * stream from the previous worker of the ring, (w - 1) mod W (one stream, not a call per chunk: a unary
 * call costs ~1 ms of CPU here, a streamed message a fraction of that). The stream ends with the run.
 * PERMISSION_DENIED for another run or a sender that is not the previous worker; INVALID_ARGUMENT for a
 * chunk that is not float32 data.
 */
export interface PeerHandlers extends grpc.UntypedServiceImplementation {
  Deliver: grpc.handleClientStreamingCall<_shardlab_v1_PeerChunk__Output, _shardlab_v1_PeerAck>;
  
}

export interface PeerDefinition extends grpc.ServiceDefinition {
  Deliver: MethodDefinition<_shardlab_v1_PeerChunk, _shardlab_v1_PeerAck, _shardlab_v1_PeerChunk__Output, _shardlab_v1_PeerAck__Output>
}
