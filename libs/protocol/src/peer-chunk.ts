import * as grpc from '@grpc/grpc-js';
import { loadPeerService } from './proto';

/*
 * The peers' hot path: every all-reduce sends 2 (W - 1) PeerChunks of ~1/W of the model per worker (ring), or
 * 2 log2(W) of 1/2, 1/4, ... of it (halving-doubling). Encoding one with protobufjs costs a copy of the floats
 * into a Buffer (they live in a Float32Array the algorithm keeps writing to) and then protobufjs's own copy into its writer. encodePeerChunk writes the same protobuf bytes
 * (every field, in number order, defaults included: exactly what protobufjs emits for a message whose
 * fields are all set; peer-chunk.test.ts compares them) straight from the Float32Array: one copy. shardlab.proto stays the wire contract.
 */

/** A chunk as the peers send it: the floats themselves, not yet bytes. */
export interface OutgoingPeerChunk {
  runId: string;
  from: number;
  key: string;
  data: Float32Array;
}

function varintLength(n: number): number {
  let length = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    length++;
  }
  return length;
}

function writeVarint(out: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 0x80);
  }
  out[at++] = n;
  return at;
}

/** Wire tags (field number << 3 | wire type) of PeerChunk's fields. */
const TAG = { runId: (1 << 3) | 2, from: (2 << 3) | 0, key: (3 << 3) | 2, data: (4 << 3) | 2 };

/** The protobuf encoding of a PeerChunk whose `data` holds `chunk.data`'s bytes (little-endian float32). */
export function encodePeerChunk(chunk: OutgoingPeerChunk): Buffer {
  if (!Number.isInteger(chunk.from) || chunk.from < 0 || chunk.from > 0xffff_ffff) throw new RangeError(`encodePeerChunk: from ${chunk.from} is not a uint32`);
  const runId = Buffer.from(chunk.runId, 'utf8');
  const key = Buffer.from(chunk.key, 'utf8');
  const bytes = new Uint8Array(chunk.data.buffer, chunk.data.byteOffset, chunk.data.byteLength);
  const field = (length: number) => 1 + varintLength(length) + length;
  const size = field(runId.length) + 1 + varintLength(chunk.from) + field(key.length) + field(bytes.length);
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  const put = (tag: number, value: Uint8Array) => {
    out[at++] = tag;
    at = writeVarint(out, at, value.length);
    out.set(value, at);
    at += value.length;
  };
  put(TAG.runId, runId);
  out[at++] = TAG.from;
  at = writeVarint(out, at, chunk.from);
  put(TAG.key, key);
  put(TAG.data, bytes);
  return out;
}

/**
 * The Peer service definition for the sending side (the server of a subscription): Subscribe's stream carries
 * chunks already encoded by encodePeerChunk, passed through as they are.
 */
export function peerServiceForEncodedChunks(): grpc.ServiceDefinition {
  const { service } = loadPeerService();
  return { ...service, Subscribe: { ...service.Subscribe, responseSerialize: (encoded: Buffer) => encoded } };
}
