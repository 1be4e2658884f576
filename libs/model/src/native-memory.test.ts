import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend';
import { ArrayPool, PooledCpuBackend } from './native-memory';
import { nativeAvailable } from './testing/native';

const N = 200 * 128; // above the pool's 64 KiB floor

describe('ArrayPool', () => {
  it('recycles only arrays it made, once nothing holds them and nobody read them', () => {
    const pool = new ArrayPool();
    const a = pool.take(N);
    pool.hold(a);
    pool.release(a);
    expect(pool.take(N)).toBe(a);

    const shared = pool.take(N);
    pool.hold(shared);
    pool.hold(shared); // two tensors store the same array
    pool.release(shared);
    expect(pool.take(N)).not.toBe(shared);
    pool.release(shared);
    expect(pool.take(N)).toBe(shared);

    const read = pool.take(N);
    pool.hold(read);
    pool.expose(read);
    pool.release(read);
    expect(pool.take(N)).not.toBe(read);

    const callers = new Float32Array(N); // from tf.tensor(values): the caller's
    pool.hold(callers);
    pool.release(callers);
    expect(pool.take(N)).not.toBe(callers);

    const small = pool.take(100);
    pool.hold(small);
    pool.release(small);
    expect(pool.take(100)).not.toBe(small);
  });
});

describe.runIf(nativeAvailable())('the native backend recycles kernel outputs safely', () => {
  beforeAll(async () => {
    expect(await initBackend('native')).toBe('native');
    expect(tf.backend()).toBeInstanceOf(PooledCpuBackend);
  });

  it('values read with dataSync never change after their tensor is disposed', () => {
    const x = tf.randomUniform([200, 128]);
    const y = tf.mul(x, x);
    const seen = y.dataSync() as Float32Array;
    const copy = seen.slice();
    y.dispose();
    // Many more outputs of the same length: none may land in the array read above.
    for (let i = 0; i < 20; i++) tf.tidy(() => tf.mul(tf.add(x, i), 2).dataSync());
    expect(Array.from(seen)).toEqual(Array.from(copy));
    x.dispose();
  });

  it('an unread output is reused for the next output of its length, and results stay right', () => {
    const backend = tf.backend() as PooledCpuBackend;
    const x = tf.randomUniform([200, 128]);
    const values = (t: tf.Tensor) => backend.data.get(t.dataId)!.values;
    const first = tf.mul(x, x);
    const array = values(first);
    first.dispose();
    expect(backend.pool.pooledBytes).toBeGreaterThanOrEqual(N * 4);
    const second = tf.mul(x, 3);
    expect(values(second)).toBe(array);
    const expected = (x.dataSync() as Float32Array).map((v) => Math.fround(v * 3));
    expect(Array.from(second.dataSync())).toEqual(Array.from(expected));
    second.dispose();
    x.dispose();
  });

  it('an array two tensors share is kept while one of them lives', () => {
    const backend = tf.backend() as PooledCpuBackend;
    const x = tf.randomUniform([200, 128]);
    const y = tf.mul(x, x);
    const alias = tf.reshape(y, [-1]); // same dataId, one more reference
    const array = backend.data.get(y.dataId)!.values;
    y.dispose();
    const other = tf.mul(x, 5);
    expect(backend.data.get(other.dataId)!.values).not.toBe(array);
    tf.dispose([alias, other, x]);
  });
});
