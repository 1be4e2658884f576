import * as tf from '@tensorflow/tfjs';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { IM2COL_SLOTS, type ConvGeometryArgs, type NativeAddon, type PoolGeometryArgs } from '@shardlab/native';

/*
 * The 'native' TensorFlow.js backend: tfjs's own cpu backend (plain JS kernels, tensors in JS typed arrays)
 * with the kernels that carry the FLOPs of our models replaced by OpenBLAS through @shardlab/native:
 *   BatchMatMul, _FusedMatMul                           -> sgemm
 *   Conv2D, FusedConv2D, Conv2DBackpropFilter/Input     -> direct AVX2 loops up to 32 channels, im2col / col2im +
 *                                                          sgemm above (NHWC); bias and ReLU fused
 *   MaxPool, MaxPoolGrad                                -> one pass over the windows in C++
 * and a few plain-JS kernels that the cpu backend implements generically and that profiling showed to cost
 * more than all the matmuls of an MLP step (Sum over rows transposes first; broadcast arithmetic computes index
 * vectors per element): Sum over leading or trailing axes, Add/Sub/Multiply/RealDiv with broadcasting, Step.
 * They keep the cpu kernels' semantics: sums accumulate in float64, max-pool routes the gradient to the first
 * strict maximum in row-major window order, Step maps NaN to NaN.
 * Every other kernel is the cpu backend's, registered again under 'native', so the model code (Mlp, Cnn, tf
 * autodiff) runs unchanged. A case these replacements do not cover (int32 tensors, NCHW, broadcast batch
 * dimensions, activations other than linear/relu) falls back to the cpu kernel, which works on the same
 * backend object because the backend *is* a MathBackendCPU.
 */

export const NATIVE_BACKEND = 'native';

type KernelArgs = Parameters<tf.KernelFunc>[0];

/** The float32 values behind a tensor of this backend, or null for anything else (int32, complex...). */
function floats(backend: MathBackendCPU, t: tf.TensorInfo): Float32Array | null {
  if (t.dtype !== 'float32') return null;
  const v = backend.data.get(t.dataId)?.values;
  return v instanceof Float32Array ? v : null;
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function cpuKernel(name: string): tf.KernelFunc {
  const k = tf.getKernel(name, 'cpu');
  if (!k) throw new Error(`tfjs cpu backend has no ${name} kernel to fall back to`);
  return k.kernelFunc;
}

/** Adds bias (one value per output channel, or a single value) and applies linear/relu, in place. False if unsupported. */
function biasAndActivation(out: Float32Array, channels: number, bias: Float32Array | null, activation: string | undefined): boolean {
  if (activation !== undefined && activation !== 'linear' && activation !== 'relu') return false;
  if (bias) {
    if (bias.length === channels) {
      for (let i = 0; i < out.length; i += channels) for (let c = 0; c < channels; c++) out[i + c]! += bias[c]!;
    } else if (bias.length === 1) {
      const b = bias[0]!;
      for (let i = 0; i < out.length; i++) out[i]! += b;
    } else return false;
  }
  if (activation === 'relu') for (let i = 0; i < out.length; i++) if (!(out[i]! > 0)) out[i] = 0;
  return true;
}

/**
 * op(a) op(b) for rank >= 2 tensors whose batch dimensions are equal, or all 1 on one side. Returns null for
 * shapes it does not cover (the caller falls back to the cpu kernel, which also reports shape errors).
 */
function matMul(addon: NativeAddon, backend: MathBackendCPU, a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean) {
  const av = floats(backend, a);
  const bv = floats(backend, b);
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (!av || !bv || ra < 2 || rb < 2) return null;
  const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const k = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const kb = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const n = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (k !== kb) return null;
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = size(outerA);
  const batchB = size(outerB);
  const sameOuter = outerA.length === outerB.length && outerA.every((d, i) => d === outerB[i]);
  if (!sameOuter && batchA !== 1 && batchB !== 1) return null;
  const outer = batchA >= batchB ? outerA : outerB;
  const batch = Math.max(batchA, batchB);
  const out = new Float32Array(batch * m * n);
  for (let i = 0; i < batch; i++) {
    const ai = batchA === 1 ? av : av.subarray(i * m * k, (i + 1) * m * k);
    const bi = batchB === 1 ? bv : bv.subarray(i * k * n, (i + 1) * k * n);
    addon.sgemm(transposeA, transposeB, m, n, k, ai, bi, batch === 1 ? out : out.subarray(i * m * n, (i + 1) * m * n), false);
  }
  return { out, shape: [...outer, m, n], n };
}

function batchMatMulKernel(addon: NativeAddon): tf.KernelFunc {
  const fallback = cpuKernel(tf.BatchMatMul);
  return (args: KernelArgs) => {
    const backend = args.backend as MathBackendCPU;
    const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
    const r = matMul(addon, backend, args.inputs['a']!, args.inputs['b']!, transposeA, transposeB);
    return r ? backend.makeTensorInfo(r.shape, 'float32', r.out) : fallback(args);
  };
}

function fusedMatMulKernel(addon: NativeAddon): tf.KernelFunc {
  const fallback = cpuKernel(tf._FusedMatMul);
  return (args: KernelArgs) => {
    const backend = args.backend as MathBackendCPU;
    const { transposeA, transposeB, activation } = args.attrs as unknown as tf._FusedMatMulAttrs;
    const { a, b, bias, preluActivationWeights } = args.inputs;
    const biasValues = bias ? floats(backend, bias) : null;
    if (preluActivationWeights || (bias && !biasValues)) return fallback(args);
    const r = matMul(addon, backend, a!, b!, transposeA, transposeB);
    if (!r || !biasAndActivation(r.out, r.n, biasValues, activation)) return fallback(args);
    return backend.makeTensorInfo(r.shape, 'float32', r.out);
  };
}

/** The addon's geometry arguments for one NHWC convolution. */
function geometry(info: tf.backend_util.Conv2DInfo): ConvGeometryArgs {
  return [
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.filterHeight,
    info.filterWidth,
    info.outChannels,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    info.padInfo.top,
    info.padInfo.left,
    info.outHeight,
    info.outWidth,
  ];
}

/**
 * Which of the addon's im2col slots holds the matrix of which input tensor (by dataId: tfjs tensors are
 * immutable, so the same dataId means the same values) and geometry. A forward conv claims the next slot
 * (round robin) for its input; the filter gradient of the same input and geometry, later in the same step,
 * reuses that matrix instead of building it again (the CNN's im2col is ~5 MB and costs about as much as its
 * sgemm). A slot claimed again by another input is simply no longer found for the old one. Only convolutions
 * wider than the direct loops (csrc/direct_conv.h) build im2col; for the others a slot is claimed and left empty.
 */
class Im2colSlots {
  private readonly owners: ({ dataId: object; key: string } | null)[] = new Array(IM2COL_SLOTS).fill(null);
  private next = 0;

  claim(dataId: object, key: string): number {
    const slot = this.next;
    this.next = (slot + 1) % IM2COL_SLOTS;
    this.owners[slot] = { dataId, key };
    return slot;
  }

  find(dataId: object, key: string): number {
    return this.owners.findIndex((o) => o !== null && o.dataId === dataId && o.key === key);
  }
}

/** Forward conv; with `fused`, plus bias and linear/relu. Null when not covered (the caller falls back). */
function conv2dForward(addon: NativeAddon, slots: Im2colSlots, args: KernelArgs, fused: boolean): tf.TensorInfo | null {
  const backend = args.backend as MathBackendCPU;
  const attrs = args.attrs as unknown as tf.FusedConv2DAttrs;
  const { x, filter, bias, preluActivationWeights } = args.inputs;
  const activation = fused ? attrs.activation : 'linear';
  if (attrs.dataFormat === 'NCHW' || preluActivationWeights || (activation !== undefined && activation !== 'linear' && activation !== 'relu')) return null;
  const xv = floats(backend, x!);
  const fv = floats(backend, filter!);
  const bv = fused && bias ? floats(backend, bias) : null;
  if (!xv || !fv || (fused && bias && (!bv || bv.length !== filter!.shape[3]))) return null;
  const info = tf.backend_util.computeConv2DInfo(
    x!.shape as [number, number, number, number],
    filter!.shape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const out = new Float32Array(size(info.outShape));
  const g = geometry(info);
  addon.conv2d(xv, fv, out, ...g, bv, activation === 'relu', slots.claim(x!.dataId, g.join(',')));
  return backend.makeTensorInfo(info.outShape, 'float32', out);
}

function conv2dKernel(addon: NativeAddon, slots: Im2colSlots, name: string, fused: boolean): tf.KernelFunc {
  const fallback = cpuKernel(name);
  return (args: KernelArgs) => conv2dForward(addon, slots, args, fused) ?? fallback(args);
}

function conv2dBackpropFilterKernel(addon: NativeAddon, slots: Im2colSlots): tf.KernelFunc {
  const fallback = cpuKernel(tf.Conv2DBackpropFilter);
  return (args: KernelArgs) => {
    const backend = args.backend as MathBackendCPU;
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    const { x, dy } = args.inputs;
    const xv = floats(backend, x!);
    const dyv = floats(backend, dy!);
    if (dataFormat === 'NCHW' || !xv || !dyv) return fallback(args);
    const info = tf.backend_util.computeConv2DInfo(x!.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode);
    const dw = new Float32Array(size(filterShape));
    const g = geometry(info);
    const slot = slots.find(x!.dataId, g.join(','));
    addon.conv2dBackpropFilter(xv, dyv, dw, ...g, slot, slot >= 0);
    return backend.makeTensorInfo(filterShape, 'float32', dw);
  };
}

function conv2dBackpropInputKernel(addon: NativeAddon): tf.KernelFunc {
  const fallback = cpuKernel(tf.Conv2DBackpropInput);
  return (args: KernelArgs) => {
    const backend = args.backend as MathBackendCPU;
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
    const { dy, filter } = args.inputs;
    const dyv = floats(backend, dy!);
    const fv = floats(backend, filter!);
    if (dataFormat === 'NCHW' || !dyv || !fv) return fallback(args);
    const info = tf.backend_util.computeConv2DInfo(inputShape, filter!.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode);
    const dx = new Float32Array(size(inputShape));
    addon.conv2dBackpropInput(dyv, fv, dx, ...geometry(info));
    return backend.makeTensorInfo(inputShape, 'float32', dx);
  };
}

/**
 * From this many elements on, element-wise kernels and sums run in the addon: a CNN step's activations (100-200k
 * values) cost ~1.5 ms a step in JS loops, 0.1 ms in C. Below it the call into the addon costs more than it saves.
 */
const ADDON_MIN_ELEMENTS = 2048;

/** Sum over a leading run of axes (rows of a matrix) or a trailing one (within rows), in float64. */
/**
 * Sum (or, with `mean`, Mean: the sum divided by the values summed) over leading or trailing axes, accumulated in
 * float64. The cpu backend transposes first and reduces generically: a Mean over the batch and spatial axes of a
 * [128, 28, 28, 8] activation (what a loaded model's BatchNorm computes every step) took ~100 ms there.
 */
function reduceKernel(addon: NativeAddon, name: typeof tf.Sum | typeof tf.Mean): tf.KernelFunc {
  const fallback = cpuKernel(name);
  const mean = name === tf.Mean;
  return (args: KernelArgs) => {
    const backend = args.backend as MathBackendCPU;
    const { axis, keepDims } = args.attrs as unknown as tf.SumAttrs;
    const x = args.inputs['x']!;
    const xv = floats(backend, x);
    if (!xv) return fallback(args);
    const rank = x.shape.length;
    const axes = [...new Set(tf.util.parseAxisParam(axis, x.shape))].sort((a, b) => a - b);
    const leading = axes.every((a, i) => a === i);
    const trailing = axes.every((a, i) => a === rank - axes.length + i);
    if (axes.length === 0 || (!leading && !trailing)) return fallback(args);
    const reduced = size(axes.map((a) => x.shape[a]!));
    const kept = xv.length / Math.max(1, reduced);
    const shape = keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
    if (xv.length >= ADDON_MIN_ELEMENTS) {
      const out = new Float32Array(kept);
      if (leading) addon.sumRows(xv, reduced, kept, out);
      else addon.sumWithinRows(xv, kept, reduced, out);
      if (mean) for (let k = 0; k < kept; k++) out[k] = out[k]! / reduced;
      return backend.makeTensorInfo(shape, 'float32', out);
    }
    const acc = new Float64Array(kept);
    if (leading) {
      for (let r = 0; r < reduced; r++) {
        const row = r * kept;
        for (let c = 0; c < kept; c++) acc[c]! += xv[row + c]!;
      }
    } else {
      for (let k = 0; k < kept; k++) {
        let t = 0;
        for (let j = k * reduced, end = j + reduced; j < end; j++) t += xv[j]!;
        acc[k] = t;
      }
    }
    if (mean) for (let k = 0; k < kept; k++) acc[k] = acc[k]! / reduced;
    return backend.makeTensorInfo(shape, 'float32', Float32Array.from(acc));
  };
}

/** out[o + k] = a[ia + k * sa] (op) b[ib + k * sb] for k < n. */
type StridedLoop = (out: Float32Array, o: number, a: Float32Array, ia: number, sa: number, b: Float32Array, ib: number, sb: number, n: number) => void;

// One function literal per operation, so that V8 compiles each loop with its own operator inlined (a shared
// loop calling `op(x, y)` goes megamorphic: 0.9 ms instead of 0.05 ms for a 128x128 multiply).
const LOOPS: Record<'add' | 'sub' | 'mul' | 'div', StridedLoop> = {
  add: (out, o, a, ia, sa, b, ib, sb, n) => {
    for (let k = 0; k < n; k++, ia += sa, ib += sb) out[o + k] = a[ia]! + b[ib]!;
  },
  sub: (out, o, a, ia, sa, b, ib, sb, n) => {
    for (let k = 0; k < n; k++, ia += sa, ib += sb) out[o + k] = a[ia]! - b[ib]!;
  },
  mul: (out, o, a, ia, sa, b, ib, sb, n) => {
    for (let k = 0; k < n; k++, ia += sa, ib += sb) out[o + k] = a[ia]! * b[ib]!;
  },
  div: (out, o, a, ia, sa, b, ib, sb, n) => {
    for (let k = 0; k < n; k++, ia += sa, ib += sb) out[o + k] = a[ia]! / b[ib]!;
  },
};

/**
 * out = a (op) b element-wise with numpy broadcasting, for float32 inputs: an odometer over the output's outer
 * dimensions with one stride per input (0 along a broadcast dimension). tfjs's cpu backend computes index
 * vectors per element on this path (0.2 ms for the softmax's [128,4] - [128,1]). Each result is computed in
 * double and rounded to float32 once, as the cpu kernels do, so results are bit-identical to them.
 */
function binaryKernel(name: string, loop: StridedLoop, sameShape?: (a: Float32Array, b: Float32Array, out: Float32Array) => void): tf.KernelFunc {
  const fallback = cpuKernel(name);
  return (args: KernelArgs) => {
    const backend = args.backend as MathBackendCPU;
    const { a, b } = args.inputs;
    const av = floats(backend, a!);
    const bv = floats(backend, b!);
    if (!av || !bv) return fallback(args);
    const shape = tf.backend_util.assertAndGetBroadcastShape(a!.shape, b!.shape);
    const out = new Float32Array(size(shape));
    if (out.length === 0) return backend.makeTensorInfo(shape, 'float32', out);
    const rank = shape.length;
    // Strides of each input over the output's dimensions; 0 where the input has size 1 (or lacks the dim).
    const strides = (s: number[]) => {
      const st = new Array<number>(rank).fill(0);
      for (let d = s.length - 1, acc = 1; d >= 0; d--) {
        st[rank - s.length + d] = s[d] === 1 ? 0 : acc;
        acc *= s[d]!;
      }
      return st;
    };
    if (av.length === out.length && bv.length === out.length) {
      if (sameShape && out.length >= ADDON_MIN_ELEMENTS) sameShape(av, bv, out);
      else loop(out, 0, av, 0, 1, bv, 0, 1, out.length);
    }
    else if (rank === 0 || (av.length === out.length && bv.length === 1)) loop(out, 0, av, 0, 1, bv, 0, 0, out.length);
    else if (av.length === 1 && bv.length === out.length) loop(out, 0, av, 0, 0, bv, 0, 1, out.length);
    else if (repeatedRow(loop, out, shape, av, a!.shape, bv, b!.shape)) {
      // done: a short vector (BatchNorm's per-channel gamma, mean) against every row of a contiguous tensor
    } else {
      const sa = strides(a!.shape);
      const sb = strides(b!.shape);
      const idx = new Array<number>(rank).fill(0);
      const inner = shape[rank - 1]!;
      let ia = 0;
      let ib = 0;
      for (let o = 0; o < out.length; o += inner) {
        loop(out, o, av, ia, sa[rank - 1]!, bv, ib, sb[rank - 1]!, inner);
        // Advance the odometer over the outer dimensions.
        for (let d = rank - 2; d >= 0; d--) {
          idx[d]!++;
          ia += sa[d]!;
          ib += sb[d]!;
          if (idx[d]! < shape[d]!) break;
          ia -= sa[d]! * shape[d]!;
          ib -= sb[d]! * shape[d]!;
          idx[d] = 0;
        }
      }
    }
    return backend.makeTensorInfo(shape, 'float32', out);
  };
}

/**
 * One input a contiguous tensor of the output's shape, the other a row of its last `inner` dimensions repeated
 * over the leading ones ([n, h, w, c] and [c], or [1, 1, 1, c]): computed in blocks of whole rows against the row
 * repeated to the block's length, so each loop call covers thousands of values instead of `inner` (a
 * [128, 28, 28, 8] x [8] multiply: 20 ms through the odometer, ~1 ms so). False for other shapes.
 */
function repeatedRow(loop: StridedLoop, out: Float32Array, shape: number[], av: Float32Array, aShape: number[], bv: Float32Array, bShape: number[]): boolean {
  const fullA = av.length === out.length;
  const [full, rowValues, rowShape] = fullA ? [av, bv, bShape] : [bv, av, aShape];
  if (full.length !== out.length || rowValues.length === 0) return false;
  // The row's shape, without leading 1s, must equal the output's trailing dimensions.
  const trimmed = rowShape.slice(rowShape.findIndex((d) => d !== 1) === -1 ? rowShape.length : rowShape.findIndex((d) => d !== 1));
  const tail = shape.slice(shape.length - trimmed.length);
  if (trimmed.length === 0 || !trimmed.every((d, i) => d === tail[i])) return false;
  const inner = rowValues.length;
  const rowsPerBlock = Math.max(1, Math.floor(4096 / inner));
  const block = new Float32Array(rowsPerBlock * inner);
  for (let r = 0; r < rowsPerBlock; r++) block.set(rowValues, r * inner);
  for (let o = 0; o < out.length; o += block.length) {
    const n = Math.min(block.length, out.length - o);
    if (fullA) loop(out, o, av, o, 1, block, 0, 1, n);
    else loop(out, o, block, 0, 1, bv, o, 1, n);
  }
  return true;
}

/** Relu: v for v > 0 and NaN, else +0 (the cpu kernel's values, -0 included), in one loop; the cpu kernel maps a callback per value. */
function reluKernel(): tf.KernelFunc {
  const fallback = cpuKernel(tf.Relu);
  return (args: KernelArgs) => {
    const backend = args.backend as MathBackendCPU;
    const x = args.inputs['x']!;
    const xv = floats(backend, x);
    if (!xv) return fallback(args);
    const out = new Float32Array(xv.length);
    for (let i = 0; i < out.length; i++) {
      const v = xv[i]!;
      out[i] = v > 0 || v !== v ? v : 0;
    }
    return backend.makeTensorInfo(x.shape, 'float32', out);
  };
}

/**
 * Tile by block copies: the input is repeated along each axis, last axis first, each repetition one
 * TypedArray.set (the cpu kernel computes an index per value: 70 ms to tile [1, 1, 1, 8] to [128, 28, 28, 8],
 * which a loaded model's BatchNorm gradient does every step).
 */
function tileKernel(): tf.KernelFunc {
  const fallback = cpuKernel(tf.Tile);
  return (args: KernelArgs) => {
    const backend = args.backend as MathBackendCPU;
    const x = args.inputs['x']!;
    const xv = floats(backend, x);
    const { reps } = args.attrs as unknown as tf.TileAttrs;
    if (!xv || reps.length !== x.shape.length) return fallback(args);
    const shape = x.shape.map((d, i) => d * reps[i]!);
    let current = xv;
    // After the axes after `a` are tiled, `current` has shape [x0 .. xa, tiled tail of `tail` values].
    let tail = 1;
    for (let a = x.shape.length - 1; a >= 0; a--) {
      const chunk = x.shape[a]! * tail;
      const groups = current.length / chunk;
      const r = reps[a]!;
      const next = r === 1 ? current : new Float32Array(current.length * r);
      if (r !== 1) {
        for (let g = 0; g < groups; g++) {
          const source = current.subarray(g * chunk, (g + 1) * chunk);
          for (let k = 0; k < r; k++) next.set(source, (g * r + k) * chunk);
        }
      }
      current = next;
      tail = chunk * r;
    }
    return backend.makeTensorInfo(shape, 'float32', current === xv ? xv.slice() : current);
  };
}

function stepKernel(addon: NativeAddon): tf.KernelFunc {
  const fallback = cpuKernel(tf.Step);
  return (args: KernelArgs) => {
    const backend = args.backend as MathBackendCPU;
    const x = args.inputs['x']!;
    const xv = floats(backend, x);
    if (!xv) return fallback(args);
    const alpha = (args.attrs as unknown as tf.StepAttrs).alpha ?? 0;
    const out = new Float32Array(xv.length);
    if (out.length >= ADDON_MIN_ELEMENTS) {
      addon.step(xv, out, alpha);
      return backend.makeTensorInfo(x.shape, 'float32', out);
    }
    // Branch-free: the signs behind a ReLU mask are random, and a branch per element mispredicts half the
    // time (measured 1.9 ms against 0.4 ms for 200k elements). NaN is rare, so its branch predicts well.
    for (let i = 0; i < out.length; i++) {
      const v = xv[i]!;
      const positive = +(v > 0);
      out[i] = positive + (1 - positive) * alpha;
      if (v !== v) out[i] = NaN;
    }
    return backend.makeTensorInfo(x.shape, 'float32', out);
  };
}

/**
 * Concat along an axis with nothing but size-1 dimensions before it (a model's flat gradients, rows of
 * matrices): the result is the inputs' values one after another. The cpu kernel copies element by element
 * through index arithmetic (0.13 ms for an MLP's 110k gradient values; a block copy is ~0.02 ms).
 */
function concatKernel(): tf.KernelFunc {
  const fallback = cpuKernel(tf.Concat);
  return (args: KernelArgs) => {
    const backend = args.backend as MathBackendCPU;
    const inputs = args.inputs as unknown as tf.TensorInfo[];
    const first = inputs[0];
    if (!first || inputs.length < 2) return fallback(args);
    const axis = tf.util.parseAxisParam((args.attrs as unknown as tf.ConcatAttrs).axis, first.shape)[0]!;
    const values: Float32Array[] = [];
    let total = 0;
    for (const t of inputs) {
      const v = floats(backend, t);
      const sameOtherDims = t.shape.length === first.shape.length && t.shape.every((d, i) => i === axis || d === first.shape[i]);
      if (!v || !sameOtherDims || size(t.shape.slice(0, axis)) !== 1) return fallback(args);
      values.push(v);
      total += v.length;
    }
    const out = new Float32Array(total);
    let offset = 0;
    for (const v of values) {
      out.set(v, offset);
      offset += v.length;
    }
    const shape = first.shape.map((d, i) => (i === axis ? inputs.reduce((n, t) => n + t.shape[axis]!, 0) : d));
    return backend.makeTensorInfo(shape, 'float32', out);
  };
}

function poolGeometry(x: tf.TensorInfo, attrs: tf.MaxPoolAttrs): { info: tf.backend_util.Conv2DInfo; args: PoolGeometryArgs } {
  const info = tf.backend_util.computePool2DInfo(x.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  const { batchSize, inHeight, inWidth, inChannels, filterHeight, filterWidth, strideHeight, strideWidth, padInfo, outHeight, outWidth } = info;
  return { info, args: [batchSize, inHeight, inWidth, inChannels, filterHeight, filterWidth, strideHeight, strideWidth, padInfo.top, padInfo.left, outHeight, outWidth] };
}

function maxPoolKernel(addon: NativeAddon): tf.KernelFunc {
  const fallback = cpuKernel(tf.MaxPool);
  return (args: KernelArgs) => {
    const backend = args.backend as MathBackendCPU;
    const x = args.inputs['x']!;
    const xv = floats(backend, x);
    if (!xv || x.shape.length !== 4) return fallback(args);
    const { info, args: g } = poolGeometry(x, args.attrs as unknown as tf.MaxPoolAttrs);
    const out = new Float32Array(size(info.outShape));
    addon.maxPool(xv, out, null, ...g);
    return backend.makeTensorInfo(info.outShape, 'float32', out);
  };
}

function maxPoolGradKernel(addon: NativeAddon): tf.KernelFunc {
  const fallback = cpuKernel(tf.MaxPoolGrad);
  return (args: KernelArgs) => {
    const backend = args.backend as MathBackendCPU;
    const { dy, input } = args.inputs;
    const xv = floats(backend, input!);
    const dyv = floats(backend, dy!);
    if (!xv || !dyv || input!.shape.length !== 4) return fallback(args);
    const { args: g } = poolGeometry(input!, args.attrs as unknown as tf.MaxPoolAttrs);
    const dx = new Float32Array(xv.length);
    addon.maxPoolGrad(xv, dyv, dx, ...g);
    return backend.makeTensorInfo(input!.shape, 'float32', dx);
  };
}

/**
 * Registers the 'native' backend once: the cpu backend's kernels, with the BLAS-backed ones above in place
 * of matmul and convolution. Idempotent.
 */
export function registerNativeBackend(addon: NativeAddon): void {
  if (tf.findBackendFactory(NATIVE_BACKEND)) return;
  const slots = new Im2colSlots();
  const own: tf.KernelConfig[] = [
    { kernelName: tf.BatchMatMul, backendName: NATIVE_BACKEND, kernelFunc: batchMatMulKernel(addon) },
    { kernelName: tf._FusedMatMul, backendName: NATIVE_BACKEND, kernelFunc: fusedMatMulKernel(addon) },
    { kernelName: tf.Conv2D, backendName: NATIVE_BACKEND, kernelFunc: conv2dKernel(addon, slots, tf.Conv2D, false) },
    { kernelName: tf.FusedConv2D, backendName: NATIVE_BACKEND, kernelFunc: conv2dKernel(addon, slots, tf.FusedConv2D, true) },
    { kernelName: tf.Conv2DBackpropFilter, backendName: NATIVE_BACKEND, kernelFunc: conv2dBackpropFilterKernel(addon, slots) },
    { kernelName: tf.Conv2DBackpropInput, backendName: NATIVE_BACKEND, kernelFunc: conv2dBackpropInputKernel(addon) },
    { kernelName: tf.Sum, backendName: NATIVE_BACKEND, kernelFunc: reduceKernel(addon, tf.Sum) },
    { kernelName: tf.Mean, backendName: NATIVE_BACKEND, kernelFunc: reduceKernel(addon, tf.Mean) },
    { kernelName: tf.Add, backendName: NATIVE_BACKEND, kernelFunc: binaryKernel(tf.Add, LOOPS.add) },
    { kernelName: tf.Sub, backendName: NATIVE_BACKEND, kernelFunc: binaryKernel(tf.Sub, LOOPS.sub) },
    { kernelName: tf.Multiply, backendName: NATIVE_BACKEND, kernelFunc: binaryKernel(tf.Multiply, LOOPS.mul, (a, b, out) => addon.mul(a, b, out)) },
    { kernelName: tf.RealDiv, backendName: NATIVE_BACKEND, kernelFunc: binaryKernel(tf.RealDiv, LOOPS.div) },
    { kernelName: tf.Step, backendName: NATIVE_BACKEND, kernelFunc: stepKernel(addon) },
    { kernelName: tf.Relu, backendName: NATIVE_BACKEND, kernelFunc: reluKernel() },
    { kernelName: tf.Tile, backendName: NATIVE_BACKEND, kernelFunc: tileKernel() },
    { kernelName: tf.Concat, backendName: NATIVE_BACKEND, kernelFunc: concatKernel() },
    { kernelName: tf.MaxPool, backendName: NATIVE_BACKEND, kernelFunc: maxPoolKernel(addon) },
    { kernelName: tf.MaxPoolGrad, backendName: NATIVE_BACKEND, kernelFunc: maxPoolGradKernel(addon) },
  ];
  const replaced = new Set(own.map((k) => k.kernelName));
  for (const k of tf.getKernelsForBackend('cpu')) if (!replaced.has(k.kernelName)) tf.registerKernel({ ...k, backendName: NATIVE_BACKEND });
  for (const k of own) tf.registerKernel(k);
  // Priority below cpu's: tfjs never picks it on its own; initBackend('native' | 'auto') does.
  tf.registerBackend(NATIVE_BACKEND, () => new MathBackendCPU(), 0);
}
