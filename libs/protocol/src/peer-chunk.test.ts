import { describe, expect, it } from 'vitest';
import { loadPeerService } from './proto';
import { encodePeerChunk } from './peer-chunk';

describe('encodePeerChunk', () => {
  const { service } = loadPeerService();
  const protobufjs = (c: { runId: string; from: number; key: string; data: Float32Array }) =>
    service.Subscribe.responseSerialize({ ...c, data: Buffer.from(c.data.buffer, c.data.byteOffset, c.data.byteLength) });

  it.each([
    ['a typical ring chunk', { runId: '0b7e5c1e-8f1d-4a57-9a43-2f4c1f6f7d10', from: 3, key: '12/avg/rs/0/0', data: Float32Array.from({ length: 27281 }, (_, i) => Math.sin(i)) }],
    ['worker 0 (a proto3 default, written all the same)', { runId: 'r', from: 0, key: 'k', data: new Float32Array([1, -2, 3.5]) }],
    ['empty fields', { runId: '', from: 0, key: '', data: new Float32Array(0) }],
    ['multi-byte varints and text', { runId: 'ü'.repeat(70), from: 300_000, key: 'é/'.repeat(90), data: new Float32Array(40) }],
    ['a view into a larger array', { runId: 'r', from: 1, key: 'k', data: new Float32Array([9, 8, 7, 6, 5]).subarray(1, 4) }],
  ])('writes the bytes protobufjs writes: %s', (_, chunk) => {
    expect(encodePeerChunk(chunk).equals(protobufjs(chunk))).toBe(true);
  });

  it('decodes back to the same chunk with the generated decoder', () => {
    const data = new Float32Array([0.1, Number.MAX_VALUE, -0, Number.MIN_VALUE]);
    const decoded = service.Subscribe.responseDeserialize(encodePeerChunk({ runId: 'run', from: 2, key: '5/avg/ag/1/0', data })) as { runId: string; from: number; key: string; data: Buffer };
    expect(decoded).toMatchObject({ runId: 'run', from: 2, key: '5/avg/ag/1/0' });
    expect(new Float32Array(Uint8Array.from(decoded.data).buffer)).toEqual(data);
  });

  it('refuses a sender index that is not a uint32', () => {
    expect(() => encodePeerChunk({ runId: 'r', from: -1, key: 'k', data: new Float32Array(1) })).toThrow(RangeError);
  });
});
