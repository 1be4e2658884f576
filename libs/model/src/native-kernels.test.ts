import * as tf from '@tensorflow/tfjs';
import { describe, it, expect, beforeAll } from 'vitest';
import { initBackend } from './backend';
import { mulberry32 } from './spec';
import { nativeAvailable } from './testing/native';

/*
 * Every kernel the native backend replaces, against tfjs's own cpu kernel on the same inputs: matmuls with every
 * transpose combination and batch shapes, convolutions with strides, padding, dilation and odd sizes, fused bias
 * and activations, max-pool with ties and NaN, and the JS kernels (Sum, Mean, Multiply, Step, Relu, Tile) including
 * their fallbacks.
 *
 * Tolerance: float32 sums of at most a few hundred products of values in [-1, 1) (sgemm and tfjs add in different
 * orders), so |error| <~ sqrt(k) * 6e-8 * k ~ 1e-5 relative to the largest output; 1e-5 x max(1, scale) is used.
 * Every layout or indexing bug moves whole entries, i.e. errors of the size of the values themselves.
 */

const rand = mulberry32(7);
const random = (shape: number[]) => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rand() * 2 - 1), shape);

/** Runs `f` on cpu and on native with the same input values; returns both outputs as arrays. */
async function onBoth(inputs: () => tf.Tensor[], f: (...t: tf.Tensor[]) => tf.Tensor): Promise<{ cpu: Float32Array; native: Float32Array; shape: number[] }> {
  const values = inputs().map((t) => ({ data: t.dataSync().slice(), shape: t.shape, dtype: t.dtype }));
  const run = async (backend: 'cpu' | 'native') => {
    await initBackend(backend);
    return tf.tidy(() => {
      const out = f(...values.map((v) => tf.tensor(v.data, v.shape, v.dtype)));
      return { data: out.dataSync() as Float32Array, shape: out.shape };
    });
  };
  const cpu = await run('cpu');
  const native = await run('native');
  expect(native.shape).toEqual(cpu.shape);
  return { cpu: cpu.data, native: native.data, shape: native.shape };
}

function expectClose(a: Float32Array, b: Float32Array, label: string): void {
  expect(a.length, label).toBe(b.length);
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]!));
    if (Number.isNaN(a[i]!) !== Number.isNaN(b[i]!)) throw new Error(`${label}: NaN at ${i} on one backend only`);
    if (!Number.isNaN(a[i]!)) diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
  }
  expect(diff, label).toBeLessThanOrEqual(1e-5 * Math.max(1, scale));
}

describe.runIf(nativeAvailable())('native backend kernels equal the cpu kernels', () => {
  beforeAll(async () => {
    expect(await initBackend('native')).toBe('native');
  });

  it('matMul: every transpose combination, odd sizes, batches and a broadcast batch', async () => {
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const [m, k, n] = [7, 13, 5];
      const r = await onBoth(() => [random(ta ? [k, m] : [m, k]), random(tb ? [n, k] : [k, n])], (a, b) => tf.matMul(a!, b!, ta, tb));
      expectClose(r.native, r.cpu, `2-D transposeA=${ta} transposeB=${tb}`);
    }
    const batched = await onBoth(() => [random([3, 4, 6]), random([3, 6, 2])], (a, b) => tf.matMul(a!, b!));
    expectClose(batched.native, batched.cpu, 'batched');
    const broadcast = await onBoth(() => [random([1, 4, 6]), random([3, 6, 2])], (a, b) => tf.matMul(a!, b!));
    expectClose(broadcast.native, broadcast.cpu, 'broadcast batch of a');
    const empty = await onBoth(() => [random([4, 0]), random([0, 3])], (a, b) => tf.matMul(a!, b!));
    expect(Array.from(empty.native)).toEqual(new Array(12).fill(0));
  });

  it('fused matMul with bias and linear, relu, and (through the fallback) elu', async () => {
    for (const activation of ['linear', 'relu', 'elu'] as const) {
      const r = await onBoth(
        () => [random([9, 11]), random([11, 6]), random([6])],
        (a, b, bias) => tf.fused.matMul({ a: a!, b: b!, bias, activation }),
      );
      expectClose(r.native, r.cpu, activation);
    }
  });

  it('conv2d forward, fused bias + relu, and both gradients over strides, padding, dilation and channels', async () => {
    const cases: { x: number[]; f: number[]; strides: number | [number, number]; pad: 'same' | 'valid' | number; dilations: number | [number, number] }[] = [
      { x: [2, 9, 9, 1], f: [5, 5, 1, 8], strides: 1, pad: 'same', dilations: 1 },
      { x: [3, 8, 7, 3], f: [3, 3, 3, 4], strides: 2, pad: 'same', dilations: 1 },
      { x: [2, 10, 11, 2], f: [3, 2, 2, 5], strides: [2, 3], pad: 'valid', dilations: 1 },
      { x: [1, 9, 9, 2], f: [3, 3, 2, 3], strides: 1, pad: 1, dilations: 2 },
      { x: [2, 6, 6, 4], f: [1, 1, 4, 3], strides: 1, pad: 'valid', dilations: 1 },
      { x: [2, 8, 8, 8], f: [5, 5, 8, 4], strides: 1, pad: 'same', dilations: 1 },
      { x: [2, 9, 8, 6], f: [3, 3, 6, 5], strides: 2, pad: 'valid', dilations: 1 },
      // The CNN's layers (8 and 16 output channels: whole vectors), an output with fewer pixels than a block, and
      // 32 channels (the widest direct case, four vectors; its input gradient has 33 channels: im2col).
      { x: [2, 12, 12, 1], f: [5, 5, 1, 8], strides: 1, pad: 'same', dilations: 1 },
      { x: [3, 7, 7, 8], f: [5, 5, 8, 16], strides: 1, pad: 'same', dilations: 1 },
      { x: [1, 3, 2, 2], f: [3, 3, 2, 8], strides: 1, pad: 'valid', dilations: 1 },
      { x: [2, 5, 6, 33], f: [3, 3, 33, 32], strides: 2, pad: 'same', dilations: 1 },
      // Above 32 output channels the forward pass and the filter gradient take im2col + sgemm: its transposed form
      // where a filter row spans fewer than 16 values (kw * c), the untransposed one otherwise; the input gradient
      // of the second case has 40 channels, so it takes im2col too.
      { x: [2, 7, 6, 3], f: [3, 3, 3, 40], strides: 1, pad: 'same', dilations: 1 },
      { x: [2, 8, 7, 40], f: [3, 2, 40, 36], strides: [2, 1], pad: 'valid', dilations: 1 },
      { x: [1, 9, 9, 6], f: [3, 3, 6, 34], strides: 1, pad: 1, dilations: 2 },
    ];
    for (const c of cases) {
      const label = JSON.stringify(c);
      const fwd = await onBoth(() => [random(c.x), random(c.f)], (x, f) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.strides, c.pad, 'NHWC', c.dilations));
      expectClose(fwd.native, fwd.cpu, `forward ${label}`);
      const fused = await onBoth(
        () => [random(c.x), random(c.f), random([c.f[3]!])],
        (x, f, bias) => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: f as tf.Tensor4D, bias, strides: c.strides, pad: c.pad, dilations: c.dilations, activation: 'relu' }),
      );
      expectClose(fused.native, fused.cpu, `fused ${label}`);
      if (c.dilations !== 1) continue; // tfjs's conv2d gradient itself refuses dilation > 1 with strides
      const grads = await onBoth(
        () => [random(c.x), random(c.f)],
        (x, f) => {
          const g = tf.grads((xx: tf.Tensor, ff: tf.Tensor) => tf.sum(tf.square(tf.conv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, c.strides, c.pad))))([x!, f!]);
          return tf.concat([g[0]!.reshape([-1]), g[1]!.reshape([-1])]);
        },
      );
      expectClose(grads.native, grads.cpu, `gradients ${label}`);
    }
  });

  it('the filter gradient reuses a forward im2col only while its slot still holds that input', async () => {
    // Six convolutions of six inputs: the forward passes claim the addon's 4 im2col slots round robin, so by the
    // time the backward pass reaches the first inputs their slots hold later inputs' matrices and must be rebuilt.
    for (const [xShape, fShape] of [[[2, 7, 7, 1], [5, 5, 1, 3]], [[2, 6, 6, 8], [3, 3, 8, 2]]] as const) {
      const r = await onBoth(
        () => [...Array.from({ length: 6 }, () => random([...xShape])), random([...fShape])],
        (...t) => {
          const xs = t.slice(0, 6) as tf.Tensor4D[];
          const loss = (f: tf.Tensor) => tf.addN(xs.map((x, i) => tf.mul(i + 1, tf.sum(tf.square(tf.conv2d(x, f as tf.Tensor4D, 1, 'same'))))));
          return tf.grad(loss)(t[6]!);
        },
      );
      expectClose(r.native, r.cpu, `filter gradient over six inputs ${JSON.stringify(xShape)}`);
    }
  });

  it('max-pool and its gradient, with ties (ReLU zeros), NaN and padding', async () => {
    const xShape: [number, number, number, number] = [2, 6, 7, 3];
    for (const [size, strides, pad] of [[2, 2, 'valid'], [3, 2, 'same'], [2, 1, 'valid']] as const) {
      const outShape = tf.backend_util.computePool2DInfo(xShape, size, strides, 1, pad).outShape;
      // relu() makes ties: windows of zeros, where only the first maximum may get the gradient.
      const inputs = () => [tf.relu(random(xShape)), random(outShape)];
      const fwd = await onBoth(inputs, (x) => tf.maxPool(x as tf.Tensor4D, size, strides, pad));
      expectClose(fwd.native, fwd.cpu, `forward ${size}/${strides}/${pad}`);
      const grad = await onBoth(inputs, (x, w) => tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(xx as tf.Tensor4D, size, strides, pad), w!)))(x!));
      expectClose(grad.native, grad.cpu, `gradient ${size}/${strides}/${pad}`);
    }
    const nan = await onBoth(() => [tf.tensor4d([NaN, 1, NaN, NaN, 2, 3, NaN, NaN], [1, 2, 4, 1])], (x) => tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid'));
    expect(Array.from(nan.native)).toEqual(Array.from(nan.cpu));
  });

  it('Sum over leading, trailing and other axes; Add, Sub, Multiply, RealDiv with broadcasting; Step with NaN and alpha', async () => {
    for (const axis of [0, [0, 1], [0, 1, 2], 2, [1, 2], 1, [0, 2], -1]) {
      for (const keepDims of [false, true]) {
        const r = await onBoth(() => [random([4, 5, 6])], (x) => tf.sum(x!, axis, keepDims));
        expectClose(r.native, r.cpu, `sum axis ${JSON.stringify(axis)} keepDims ${keepDims}`);
      }
    }
    const ops = { add: tf.add, sub: tf.sub, mul: tf.mul, div: tf.div };
    // [64, 70]: same shape and large enough for the addon's loop (Multiply).
    const shapes: [number[], number[]][] = [[[3, 4], [3, 4]], [[3, 4], [4]], [[128, 4], [128, 1]], [[2, 1, 4], [3, 1]], [[1], [2, 3]], [[2, 3, 4], []], [[5, 1, 1, 2], [1, 3, 4, 1]], [[64, 70], [64, 70]]];
    for (const [name, op] of Object.entries(ops)) {
      for (const [sa, sb] of shapes) {
        const r = await onBoth(() => [random(sa), random(sb)], (a, b) => op(a!, b!));
        // The same double-precision operation rounded once: bit-identical, not just close.
        expect(Array.from(r.native), `${name} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`).toEqual(Array.from(r.cpu));
      }
    }
    const special = () => [tf.tensor1d([-2, -0, 0, 0.5, NaN, Infinity, -Infinity])];
    // The same values repeated past the addon's threshold (2048 elements): its loop, not the JS one.
    const manySpecial = () => [tf.tensor1d(Array.from({ length: 3000 }, (_, i) => [-2, -0, 0, 0.5, NaN, Infinity, -Infinity][i % 7]!))];
    for (const alpha of [0, 0.25]) {
      for (const input of [special, manySpecial]) {
        const r = await onBoth(input, (x) => tf.step(x!, alpha));
        expect(Array.from(r.native)).toEqual(Array.from(r.cpu));
      }
    }
    // Sums large enough for the addon: leading and trailing axes, bit-identical (double accumulation, same order).
    for (const axis of [0, [0, 1], 2, [1, 2]]) {
      const r = await onBoth(() => [random([16, 20, 12])], (x) => tf.sum(x!, axis));
      expect(Array.from(r.native), `large sum axis ${JSON.stringify(axis)}`).toEqual(Array.from(r.cpu));
    }
    // Concat: flat gradients (axis 0 of vectors), rows of matrices, and (through the fallback) columns.
    const concats: [number[][], number][] = [
      [[[5], [3], [7]], 0],
      [[[2, 3], [4, 3]], 0],
      [[[1, 2, 3], [1, 4, 3]], 1],
      [[[2, 3], [2, 4]], 1],
      [[[2, 3], [2, 4]], -1],
    ];
    for (const [shapes, axis] of concats) {
      const r = await onBoth(() => shapes.map((sh) => random(sh)), (...t) => tf.concat(t, axis));
      expect(Array.from(r.native), `concat ${JSON.stringify(shapes)} axis ${axis}`).toEqual(Array.from(r.cpu));
    }
    const ints = await onBoth(() => [tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32')], (x) => tf.sum(x!, 0));
    expect(Array.from(ints.native)).toEqual([4, 6]);
  });

  it('what a loaded model\'s BatchNorm runs: Mean, Tile, Relu, and a per-channel row against every pixel', async () => {
    for (const axis of [[0, 1, 2], 0, [1, 2, 3], 3, [1, 2]]) {
      for (const keepDims of [false, true]) {
        // Small (the JS loop) and past the addon's threshold (its loop); [1, 2] falls back to the cpu kernel.
        for (const shape of [[2, 3, 3, 4], [16, 6, 6, 8]]) {
          const r = await onBoth(() => [random(shape)], (x) => tf.mean(x!, axis, keepDims));
          expectClose(r.native, r.cpu, `mean ${JSON.stringify(shape)} axis ${JSON.stringify(axis)} keepDims ${keepDims}`);
        }
      }
    }
    for (const [shape, reps] of [[[1, 1, 1, 8], [16, 6, 6, 1]], [[2, 3], [2, 3]], [[3], [4]], [[2, 1, 3], [1, 5, 1]], [[2, 2], [1, 1]]] as const) {
      const r = await onBoth(() => [random([...shape])], (x) => tf.tile(x!, [...reps]));
      expect(Array.from(r.native), `tile ${JSON.stringify(shape)} x ${JSON.stringify(reps)}`).toEqual(Array.from(r.cpu));
    }
    const relu = await onBoth(() => [tf.tensor1d([-2, -0, 0, 0.5, NaN, Infinity, -Infinity])], (x) => tf.relu(x!));
    expect(Array.from(relu.native)).toEqual(Array.from(relu.cpu));
    // A row of channels against [n, h, w, c], on either side, as [c] and as [1, 1, 1, c]: bit-identical.
    for (const row of [[8], [1, 1, 1, 8], [6, 8]]) {
      for (const [name, op] of Object.entries({ add: tf.add, sub: tf.sub, mul: tf.mul, div: tf.div })) {
        const left = await onBoth(() => [random([16, 6, 6, 8]), random(row)], (a, b) => op(a!, b!));
        expect(Array.from(left.native), `${name} [16,6,6,8] ${JSON.stringify(row)}`).toEqual(Array.from(left.cpu));
        const right = await onBoth(() => [random(row), random([16, 6, 6, 8])], (a, b) => op(a!, b!));
        expect(Array.from(right.native), `${name} ${JSON.stringify(row)} [16,6,6,8]`).toEqual(Array.from(right.cpu));
      }
    }
  });
});
