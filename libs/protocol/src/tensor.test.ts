import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { WireError } from './errors';
import {
  HOST_LITTLE_ENDIAN,
  assertFinite,
  decodeFloat32LE,
  decodeTensor,
  encodeFloat32LE,
  encodeTensor,
  firstNonFinite,
} from './tensor';

/** Deterministic values covering the awkward corners of float32. */
function awkwardValues(n: number): Float32Array {
  const v = new Float32Array(n);
  let s = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    v[i] = (s / 2 ** 32 - 0.5) * 2 ** ((s % 60) - 30);
  }
  const specials = [-0, 0, 1.4e-45 /* smallest denormal */, -1.1754942e-38 /* largest denormal */, 3.4028235e38, -3.4028235e38, 1e-30, 65504];
  specials.forEach((x, i) => (v[i] = x));
  return v;
}

function bytesOf(v: Float32Array): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

function catchWire(fn: () => unknown): WireError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(WireError);
    return err as WireError;
  }
  throw new Error('expected a WireError');
}

describe('encodeTensor / decodeTensor', () => {
  it('runs on a little-endian host (everything below assumes it; BE has its own path)', () => {
    expect(HOST_LITTLE_ENDIAN).toBe(true);
  });

  it('round-trips bit-exactly, including -0, denormals and extremes', () => {
    const v = awkwardValues(1000);
    const t = encodeTensor(v, [10, 100]);
    expect(t.shape).toEqual([10, 100]);
    expect(t.data.byteLength).toBe(4000);
    const back = decodeTensor(t, { length: 1000, field: 'x' });
    expect(Buffer.from(bytesOf(back)).equals(Buffer.from(bytesOf(v)))).toBe(true);
    expect(Object.is(back[0], -0)).toBe(true);
    expect(back[2]).toBe(1.401298464324817e-45);
  });

  it('writes little-endian IEEE-754 float32', () => {
    const t = encodeTensor(new Float32Array([1, -2]));
    expect(t.shape).toEqual([2]);
    expect([...t.data]).toEqual([0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0]);
  });

  it('encodes without copying and preserves NaN payload bits', () => {
    const v = awkwardValues(16);
    new Uint32Array(v.buffer)[5] = 0x7fc01234; // a NaN with a payload
    const t = encodeTensor(v);
    expect(t.data.buffer).toBe(v.buffer);
    const back = decodeTensor(t);
    expect(new Uint32Array(back.buffer, back.byteOffset, back.length)[5]).toBe(0x7fc01234);
  });

  it('encodes a subarray view (non-zero byteOffset) correctly', () => {
    const v = awkwardValues(32);
    const sub = v.subarray(3, 11);
    const back = decodeTensor(encodeTensor(sub));
    expect([...back]).toEqual([...sub]);
  });

  it('the DataView (big-endian host) paths produce and read the same little-endian bytes', () => {
    const v = awkwardValues(257);
    const fast = encodeTensor(v).data;
    const portable = encodeFloat32LE(v);
    expect(portable.equals(fast)).toBe(true);
    // Read through an odd offset too: DataView does not care about alignment.
    const odd = Buffer.alloc(portable.length + 1);
    portable.copy(odd, 1);
    expect(Buffer.from(bytesOf(decodeFloat32LE(odd.subarray(1)))).equals(fast)).toBe(true);
  });

  it('decodes a Buffer at an unaligned byteOffset by copying', () => {
    const v = awkwardValues(64);
    for (const offset of [1, 2, 3, 5]) {
      // What grpc-js does: the bytes field is a slice of the larger receive buffer.
      const frame = Buffer.alloc(offset + v.byteLength + 7);
      Buffer.from(bytesOf(v)).copy(frame, offset);
      const data = frame.subarray(offset, offset + v.byteLength);
      expect(data.byteOffset % 4).not.toBe(0);
      // A view would be impossible here:
      expect(() => new Float32Array(data.buffer, data.byteOffset, 64)).toThrow(RangeError);
      const back = decodeTensor({ shape: [64], data }, { length: 64 });
      expect(Buffer.from(bytesOf(back)).equals(Buffer.from(bytesOf(v)))).toBe(true);
      expect(back.buffer).not.toBe(frame.buffer);
    }
  });

  it('decodes an aligned Buffer without copying', () => {
    const v = awkwardValues(64);
    const frame = Buffer.alloc(8 + v.byteLength);
    Buffer.from(bytesOf(v)).copy(frame, 8);
    const data = frame.subarray(8);
    const back = decodeTensor({ shape: [64], data });
    expect(back.buffer).toBe(frame.buffer);
    expect([...back]).toEqual([...v]);
  });

  it('accepts a plain Uint8Array as data', () => {
    const v = new Float32Array([1, 2, 3]);
    expect([...decodeTensor({ shape: [3], data: new Uint8Array(v.buffer.slice(0)) })]).toEqual([1, 2, 3]);
  });

  it('decodes an unset tensor (null, or proto3 defaults) to an empty array', () => {
    expect(decodeTensor(null).length).toBe(0);
    expect(decodeTensor(undefined).length).toBe(0);
    expect(decodeTensor({ shape: [], data: Buffer.alloc(0) }).length).toBe(0);
    expect(decodeTensor(encodeTensor(new Float32Array(0))).length).toBe(0);
    expect(() => decodeTensor(null, { length: 3, field: 'update' })).toThrow('update: expected 3 floats, got 0');
  });

  it('treats an empty shape with 4 bytes as a scalar', () => {
    expect([...decodeTensor({ shape: [], data: Buffer.from(new Float32Array([7]).buffer) })]).toEqual([7]);
  });

  it('rejects a byte length that is not a multiple of 4', () => {
    const err = catchWire(() => decodeTensor({ shape: [2], data: Buffer.alloc(7) }, { field: 'gradient' }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.message).toBe('gradient: 7 bytes is not a whole number of float32 values');
  });

  it('rejects a length other than the expected one, naming the field', () => {
    const t = encodeTensor(new Float32Array(12));
    const err = catchWire(() => decodeTensor(t, { length: 109380, field: 'gradient' }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.message).toBe('gradient: expected 109380 floats, got 12');
  });

  it('rejects bytes that disagree with the shape', () => {
    const data = encodeTensor(new Float32Array(6)).data;
    const err = catchWire(() => decodeTensor({ shape: [2, 4], data }, { field: 'batch.features' }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.message).toBe('batch.features: shape [2, 4] needs 8 floats (32 bytes), got 6 (24 bytes)');
    expect(() => decodeTensor({ shape: [], data })).toThrow('tensor: shape [] needs 1 floats');
  });

  it('refuses to encode a shape that does not describe the values', () => {
    expect(() => encodeTensor(new Float32Array(6), [4, 2])).toThrow(RangeError);
    expect(() => encodeTensor(new Float32Array(6), [4, 2])).toThrow('shape [4, 2] describes 8 values, got 6');
    expect(() => encodeTensor(new Float32Array(6), [-2, -3])).toThrow('not a uint32');
    expect(() => encodeTensor(new Float32Array(6), [1.5, 4])).toThrow('not a uint32');
  });
});

describe('firstNonFinite / assertFinite', () => {
  it('returns -1 for finite values, including extremes and -0', () => {
    expect(firstNonFinite(awkwardValues(100))).toBe(-1);
    expect(firstNonFinite(new Float32Array(0))).toBe(-1);
  });

  it('finds the first NaN, +Inf or -Inf', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const v = awkwardValues(50);
      v[37] = bad;
      v[41] = NaN;
      expect(firstNonFinite(v)).toBe(37);
    }
    // Overflow on the way into float32 also counts.
    expect(firstNonFinite(new Float32Array([1, 1e39]))).toBe(1);
  });

  it('assertFinite names the field and the element', () => {
    const v = new Float32Array([0, 1, NaN]);
    const err = catchWire(() => assertFinite(v, 'gradient'));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.message).toBe('gradient: element 2 is NaN');
  });
});
