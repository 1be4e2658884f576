import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

/**
 * The addon's functions (csrc/native.cc). Matrices are row-major float32, images NHWC, filters HWIO.
 * Every function writes only into the output array it is given and throws a TypeError on a wrong argument.
 */
export interface NativeAddon {
  /** c[m, n] = op(a) op(b) (+ c when accumulate); op(a) is [m, k], op(b) is [k, n]. */
  sgemm(transA: boolean, transB: boolean, m: number, n: number, k: number, a: Float32Array, b: Float32Array, c: Float32Array, accumulate: boolean): void;
  /**
   * out[n, oh, ow, f] = conv(x[n, h, w, c], filter[kh, kw, c, f]), then + bias[f] (if given) and ReLU (if relu).
   * With a slot (0..IM2COL_SLOTS-1), the im2col matrix of x stays there for conv2dBackpropFilter (only convolutions
   * too wide for the direct loops build one: more than 32 output channels, or a CPU without AVX2 and FMA).
   */
  conv2d(x: Float32Array, filter: Float32Array, out: Float32Array, ...geometryBiasReluSlot: [...ConvGeometryArgs, Float32Array | null, boolean, number?]): void;
  /**
   * dw[kh, kw, c, f] from x and dy[n, oh, ow, f]. With a slot and reuse = true, the slot must hold im2col(x) for
   * this geometry (left by conv2d with that slot, x unchanged since): it is used instead of being rebuilt.
   */
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, ...geometrySlotReuse: [...ConvGeometryArgs, number?, boolean?]): void;
  /** dx[n, h, w, c] from dy[n, oh, ow, f] and the filter. */
  conv2dBackpropInput(dy: Float32Array, filter: Float32Array, dx: Float32Array, ...geometry: ConvGeometryArgs): void;
  /** out[n, oh, ow, c] = the maximum of each window (-Infinity for a window without a number); NaN never wins. */
  maxPool(x: Float32Array, out: Float32Array, unused: null, ...geometry: PoolGeometryArgs): void;
  /** dx = 0, then each dy[o] is added where its window's first strict maximum (row-major) is. */
  maxPoolGrad(x: Float32Array, dy: Float32Array, dx: Float32Array, ...geometry: PoolGeometryArgs): void;
  /** out[i] = a[i] * b[i] over out's length (a, b at least as long). */
  mul(a: Float32Array, b: Float32Array, out: Float32Array): void;
  /** out[i] = 1 where x[i] > 0, alpha elsewhere, NaN where x[i] is NaN. */
  step(x: Float32Array, out: Float32Array, alpha: number): void;
  /** out[c] = sum of column c of x[rows, cols], accumulated in double (row order). */
  sumRows(x: Float32Array, rows: number, cols: number, out: Float32Array): void;
  /** out[r] = sum of row r of x[rows, cols], accumulated in double. */
  sumWithinRows(x: Float32Array, rows: number, cols: number, out: Float32Array): void;
  /**
   * Deformed images (libs/data deformed.ts, bit for bit): per image, 11 values of draws (from, a, b, c, d, tx, ty,
   * ju, cu, jv, cv); out[r] is src's side x side bytes at `from` sampled at the deformation, times 1/255.
   * Four pixels at a time with AVX2 where the CPU has it; simd false forces the scalar loop (the same bytes).
   */
  deformImages(src: Uint8Array, bank: Float32Array, side: number, draws: Float64Array, out: Float32Array, simd?: boolean): void;
  /** Row i of out (rowBytes bytes) is read at byte positions[i] of the file `fd` (pread); returns the rows read whole. */
  readRows(fd: number, positions: Float64Array, rowBytes: number, out: Uint8Array): number;
  /** out[i] = table[src[i]] over out's length (table: 256 float32 values). */
  lookupBytes(src: Uint8Array, table: Float32Array, out: Float32Array): void;
  setThreads(threads: number): void;
  getThreads(): number;
  /** OpenBLAS's build description, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64". */
  config(): string;
}

/** How many im2col matrices the addon keeps for conv2dBackpropFilter (slots 0..IM2COL_SLOTS-1). */
export const IM2COL_SLOTS = 4;

/** n h w c kh kw f strideH strideW dilationH dilationW padTop padLeft outH outW. */
export type ConvGeometryArgs = [number, number, number, number, number, number, number, number, number, number, number, number, number, number, number];

/** n h w c windowH windowW strideH strideW padTop padLeft outH outW. */
export type PoolGeometryArgs = [number, number, number, number, number, number, number, number, number, number, number, number];

export type NativeStatus = { ok: true; addon: NativeAddon; path: string } | { ok: false; reason: string };

// A require that works both from dist/ (CommonJS) and under vitest, where a bare `require` may be missing.
const nodeRequire: NodeJS.Require = typeof require === 'function' ? require : createRequire(path.join(process.cwd(), 'index.js'));

let status: NativeStatus | undefined;

/** This package's folder (the addon lands in build/Release/ below it). */
function packageRoot(): string {
  return path.dirname(nodeRequire.resolve('@shardlab/native/package.json'));
}

/** Why the install script did not build the addon, as it recorded it. */
function recordedReason(root: string): string {
  try {
    const s = JSON.parse(fs.readFileSync(path.join(root, 'build', 'status.json'), 'utf8')) as { built?: boolean; reason?: string };
    if (s.reason) return s.reason;
  } catch {
    // No record: the install script never ran here (e.g. node_modules copied without scripts).
  }
  return 'the addon was never built here: install the Debian package libopenblas-dev, then run npm ci (or npm rebuild @shardlab/native)';
}

/**
 * Loads the addon once. Never throws: a machine without OpenBLAS gets { ok: false } with a one-line reason
 * that names what to install.
 */
export function loadNative(): NativeStatus {
  if (status) return status;
  if (process.env['SHARDLAB_NATIVE'] === '0') return (status = { ok: false, reason: 'disabled by SHARDLAB_NATIVE=0' });
  let root: string;
  try {
    root = packageRoot();
  } catch (err) {
    return (status = { ok: false, reason: `@shardlab/native is not installed: ${(err as Error).message.split('\n')[0]}` });
  }
  return (status = loadNativeFrom(root));
}

/** Loads build/Release/shardlab_native.node below `root` (this package's folder), or says why it cannot. */
export function loadNativeFrom(root: string): NativeStatus {
  const file = path.join(root, 'build', 'Release', 'shardlab_native.node');
  if (!fs.existsSync(file)) return { ok: false, reason: recordedReason(root) };
  try {
    return { ok: true, addon: nodeRequire(file) as NativeAddon, path: file };
  } catch (err) {
    // Typically the shared library is gone (libopenblas0 removed after the build).
    return { ok: false, reason: `${file} failed to load: ${(err as Error).message.split('\n')[0]}` };
  }
}

/**
 * Whether the native backend's tests can run here: the addon loads. Where SHARDLAB_REQUIRE_NATIVE=1 (CI, which
 * installs libopenblas-dev before npm ci) a missing addon throws, so those tests fail rather than skip.
 */
export function nativeAvailable(): boolean {
  const native = loadNative();
  if (!native.ok && process.env['SHARDLAB_REQUIRE_NATIVE'] === '1') {
    throw new Error(`SHARDLAB_REQUIRE_NATIVE=1 but the native backend is unavailable: ${native.reason}`);
  }
  return native.ok;
}
