import type * as tf from '@tensorflow/tfjs';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

/*
 * The native backend's memory: a small caching allocator for the large float32 arrays its kernels make, like
 * PyTorch's. A training step makes the same arrays every step (a CNN's activations and their gradients, 0.1-1 MB
 * each); a fresh one must be zeroed and written into cold memory (a 800 KB conv output: 0.65 ms fresh, 0.49 ms
 * reused), so the arrays of disposed tensors are kept and handed to the next kernel that needs that length.
 *
 * An array is recycled only when all of these hold, so that no value anybody can still see ever changes:
 *   - a kernel of this backend made it (ArrayPool.take): arrays handed in by tf.tensor(values) are the caller's;
 *   - no tensor holds it any more (the backend counts the dataIds that store it);
 *   - it was never read out: the cpu backend's readSync (dataSync, data, arraySync...) returns the array itself,
 *     so whoever read it may keep it after the tensor is gone;
 *   - it is large (>= 64 KiB); small ones cost nothing to make.
 * The pool holds at most 64 MiB and 8 arrays of one length; beyond that, arrays are left to the GC as before.
 * Kernels that take arrays from the pool must write every element (they are not zeroed).
 */

const MIN_POOLED_ELEMENTS = 16 * 1024;
const MAX_POOLED_BYTES = 64 << 20;
const MAX_PER_LENGTH = 8;

export class ArrayPool {
  private readonly made = new WeakSet<Float32Array>();
  private readonly exposed = new WeakSet<object>();
  private readonly holders = new WeakMap<object, number>();
  private readonly free = new Map<number, Float32Array[]>();
  private bytes = 0;

  /** An array of n elements with unspecified contents: the caller writes every element. */
  take(n: number): Float32Array {
    const reused = this.free.get(n)?.pop();
    if (reused) {
      this.bytes -= reused.byteLength;
      return reused;
    }
    const fresh = new Float32Array(n);
    if (n >= MIN_POOLED_ELEMENTS) this.made.add(fresh);
    return fresh;
  }

  /** A tensor now stores `values`. */
  hold(values: unknown): void {
    if (values instanceof Float32Array) this.holders.set(values, (this.holders.get(values) ?? 0) + 1);
  }

  /** `values` left the backend (read by a caller): it is never recycled. */
  expose(values: unknown): void {
    if (values instanceof Float32Array) this.exposed.add(values);
  }

  /** A tensor that stored `values` is gone; recycles the array when nothing holds it and it is the pool's to reuse. */
  release(values: unknown): void {
    if (!(values instanceof Float32Array)) return;
    const left = (this.holders.get(values) ?? 1) - 1;
    if (left > 0) {
      this.holders.set(values, left);
      return;
    }
    this.holders.delete(values);
    if (!this.made.has(values) || this.exposed.has(values) || this.bytes + values.byteLength > MAX_POOLED_BYTES) return;
    const list = this.free.get(values.length) ?? [];
    if (list.length >= MAX_PER_LENGTH) return;
    list.push(values);
    this.free.set(values.length, list);
    this.bytes += values.byteLength;
  }

  /** Bytes held for reuse (tests). */
  get pooledBytes(): number {
    return this.bytes;
  }
}

type DataId = object;

/** tfjs's cpu backend, telling its ArrayPool which arrays tensors store, read out and give up. */
export class PooledCpuBackend extends MathBackendCPU {
  readonly pool = new ArrayPool();

  override write(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType): DataId {
    const id = super.write(values, shape, dtype);
    this.pool.hold(values);
    return id;
  }

  override move(dataId: DataId, values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType, refCount: number): void {
    const before = this.data.has(dataId) ? this.data.get(dataId)!.values : undefined;
    super.move(dataId, values, shape, dtype, refCount);
    if (before !== values) {
      this.pool.hold(values);
      // Nothing is recycled here: the replaced array may have been read through the old entry.
      this.pool.expose(before);
    }
  }

  override readSync(dataId: DataId): tf.backend_util.BackendValues {
    this.pool.expose(this.data.get(dataId)?.values);
    return super.readSync(dataId);
  }

  override disposeData(dataId: DataId, force?: boolean): boolean {
    const values = this.data.has(dataId) ? this.data.get(dataId)!.values : undefined;
    const result = super.disposeData(dataId, force);
    if (values !== undefined && !this.data.has(dataId)) this.pool.release(values);
    return result;
  }
}
