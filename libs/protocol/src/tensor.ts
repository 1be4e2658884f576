import { invalidArgument } from './errors';

/*
 * Tensor codec. On the wire a tensor is `bytes data` holding little-endian float32 values
 * plus `repeated uint32 shape` (see shardlab.proto): protobuf `repeated float` would cost a
 * per-element decode loop in JS, bytes is one memcpy or none.
 */

/** True on little-endian hosts (x86, arm64 as configured by every mainstream OS). */
export const HOST_LITTLE_ENDIAN: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** What encodeTensor produces; assignable to the generated Tensor message type. */
export interface WireTensor {
  shape: number[];
  data: Buffer;
}

/** What decodeTensor accepts: a decoded Tensor message, possibly unset (null). */
export interface TensorLike {
  shape?: readonly number[] | null;
  data?: Uint8Array | null;
}

export interface TensorExpectation {
  /** Required number of float32 values. */
  length?: number;
  /** Field name used in error messages, e.g. 'gradient' or 'batch.features'. */
  field?: string;
}

const MAX_UINT32 = 0xffff_ffff;

function product(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Encodes `values` as a Tensor message; shape defaults to the flat [values.length].
 *
 * Zero-copy on little-endian hosts: `data` is a Buffer over values' own memory. That is
 * safe because grpc-js serializes a message synchronously when the call is issued (or the
 * handler callback is called), copying the bytes into the frame; don't mutate `values`
 * before that point. On a big-endian host the bytes are swapped into a new buffer.
 * Throws RangeError (a bug in the sender, not bad input from a peer) when the shape does
 * not describe values.length elements or holds a dimension uint32 cannot carry.
 */
export function encodeTensor(values: Float32Array, shape?: readonly number[]): WireTensor {
  const dims = shape ? [...shape] : [values.length];
  for (const d of dims) {
    // protobufjs would silently truncate a fractional or negative dimension to uint32.
    if (!Number.isInteger(d) || d < 0 || d > MAX_UINT32) {
      throw new RangeError(`encodeTensor: shape ${formatShape(dims)} has a dimension that is not a uint32`);
    }
  }
  if (product(dims) !== values.length) {
    throw new RangeError(
      `encodeTensor: shape ${formatShape(dims)} describes ${product(dims)} values, got ${values.length}`,
    );
  }
  const data = HOST_LITTLE_ENDIAN
    ? Buffer.from(values.buffer, values.byteOffset, values.byteLength)
    : encodeFloat32LE(values);
  return { shape: dims, data };
}

/** Portable path: writes little-endian float32 whatever the host order. Exported for tests. */
export function encodeFloat32LE(values: Float32Array): Buffer {
  const out = Buffer.allocUnsafe(values.length * 4);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return out;
}

/** Portable path: reads little-endian float32 whatever the host order (and alignment). */
export function decodeFloat32LE(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.byteLength >>> 2);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/**
 * Decodes and validates a Tensor message; throws WireError INVALID_ARGUMENT naming the
 * field when the byte length is not a multiple of 4, disagrees with the shape, or differs
 * from expected.length.
 *
 * An unset tensor (null, or no shape and no bytes: what proto3 yields for a field never
 * written) decodes to an empty array. Otherwise the shape is taken literally: [] is a
 * scalar (1 value), as in numpy/TensorFlow.
 *
 * The result aliases the message's bytes when it can (little-endian host, 4-aligned
 * offset) and is a copy otherwise: grpc-js hands out `bytes` fields as Buffers sliced from
 * a larger receive buffer at whatever offset the field sat in the frame, and a
 * Float32Array view requires byteOffset % 4 === 0 (the constructor throws otherwise).
 */
export function decodeTensor(t: TensorLike | null | undefined, expected: TensorExpectation = {}): Float32Array {
  const field = expected.field ?? 'tensor';
  const data = t?.data ?? new Uint8Array(0);
  const shape = t?.shape ?? [];
  if (data.byteLength % 4 !== 0) {
    throw invalidArgument(`${field}: ${data.byteLength} bytes is not a whole number of float32 values`);
  }
  const count = data.byteLength / 4;
  if (expected.length !== undefined && count !== expected.length) {
    throw invalidArgument(`${field}: expected ${expected.length} floats, got ${count}`);
  }
  const unset = shape.length === 0 && count === 0;
  if (!unset) {
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw invalidArgument(`${field}: shape ${formatShape(shape)} is not valid`);
    }
    if (product(shape) !== count) {
      throw invalidArgument(
        `${field}: shape ${formatShape(shape)} needs ${product(shape)} floats (${product(shape) * 4} bytes), got ${count} (${data.byteLength} bytes)`,
      );
    }
  }
  if (!HOST_LITTLE_ENDIAN) return decodeFloat32LE(data);
  if (data.byteOffset % 4 === 0) return new Float32Array(data.buffer, data.byteOffset, count);
  // Unaligned: one memcpy into fresh (aligned) memory, still far cheaper than DataView reads.
  const out = new Float32Array(count);
  new Uint8Array(out.buffer).set(data);
  return out;
}

/** Index of the first NaN or ±Infinity in values, or -1 when all are finite. */
export function firstNonFinite(values: Float32Array): number {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) return i;
  }
  return -1;
}

/** Throws INVALID_ARGUMENT naming the field and the first non-finite element, if any. */
export function assertFinite(values: Float32Array, field = 'tensor'): void {
  const i = firstNonFinite(values);
  if (i >= 0) throw invalidArgument(`${field}: element ${i} is ${values[i]}`);
}
