import { describe, expect, it } from 'vitest';
import { encodeTensor } from '@shardlab/protocol';
import { Replica } from './replica';
import { restoreFromWire } from './wire-specs';

describe('restoreFromWire', () => {
  const spec = { kind: 'mlp' as const, inputSize: 3, hidden: [4], classes: 2, initSeed: 5 };
  const optimizer = { name: 'momentum' as const, lr: 0.1, momentum: 0.9 };

  /** A replica some steps in (its momentum buffer non-zero), and its state as a join reply carries it. */
  function trained() {
    const r = new Replica(spec, optimizer);
    for (let t = 1; t <= 3; t++) r.apply(Float32Array.from({ length: r.params.length }, (_, i) => Math.sin(i * t)));
    const state = r.optimizerState();
    return { r, reply: { params: encodeTensor(r.params, [r.params.length]), optimizerState: Buffer.from(state.buffer, state.byteOffset, state.byteLength), buffers: null } };
  }

  it('puts a fresh replica where the coordinator is, bit for bit, optimizer state included', () => {
    const { r, reply } = trained();
    const fresh = new Replica(spec, optimizer);
    restoreFromWire(reply, fresh, { bufferSize: 0, setBuffers: () => undefined });
    expect(fresh.checksum()).toBe(r.checksum());
    // The same next update lands both on the same parameters only if the momentum came along too.
    const g = Float32Array.from({ length: r.params.length }, (_, i) => i / 7);
    r.apply(g);
    fresh.apply(g);
    expect(fresh.checksum()).toBe(r.checksum());
  });

  it('names the field that does not fit', () => {
    const { reply } = trained();
    const fresh = () => new Replica(spec, optimizer);
    const noBuffers = { bufferSize: 0, setBuffers: () => undefined };
    expect(() => restoreFromWire({ ...reply, optimizerState: Buffer.alloc(12) }, fresh(), noBuffers)).toThrow(/optimizer_state: 12 bytes is not a whole number of float64 values/);
    expect(() => restoreFromWire({ ...reply, params: null }, fresh(), noBuffers)).toThrow(/params: missing/);
    expect(() => restoreFromWire({ ...reply, params: encodeTensor(new Float32Array(3), [3]) }, fresh(), noBuffers)).toThrow(/params/);
  });
});
