import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describe, it, expect } from 'vitest';
import { BACKEND_CHOICES, BackendError, describeBackend, initBackend, setBlasThreads } from './backend';
import { nativeAvailable } from './testing/native';

/** Whether @tensorflow/tfjs-node can be loaded here (it cannot on our machines, but CI images may have it). */
function tfjsNodeLoadable(): boolean {
  try {
    createRequire(path.join(process.cwd(), 'index.js'))('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
}

describe('initBackend', () => {
  const hasTfjsNode = tfjsNodeLoadable();
  const hasNative = nativeAvailable();
  const auto = hasTfjsNode ? 'tensorflow' : hasNative ? 'native' : 'wasm';

  it('lists the choices', () => {
    expect([...BACKEND_CHOICES].sort()).toEqual(['auto', 'cpu', 'native', 'tensorflow', 'wasm']);
  });

  it("'auto' picks tensorflow when tfjs-node loads, else native when the OpenBLAS addon is built, else wasm", async () => {
    const chosen = await initBackend('auto');
    expect(chosen).toBe(auto);
    expect(tf.getBackend()).toBe(chosen);
    expect(describeBackend(chosen)).toBe(chosen);
  });

  it.runIf(hasNative)('native: BLAS threads can be set, and a bad count is refused', async () => {
    expect(await initBackend('native')).toBe('native');
    setBlasThreads(2);
    setBlasThreads(1);
    expect(() => setBlasThreads(0)).toThrow(BackendError);
  });

  it("'tensorflow' fails with a one-line BackendError when tfjs-node is not loadable", async () => {
    if (hasTfjsNode) {
      await expect(initBackend('tensorflow')).resolves.toBe('tensorflow');
      return;
    }
    const err = await initBackend('tensorflow').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BackendError);
    const message = (err as Error).message;
    expect(message).toMatch(/@tensorflow\/tfjs-node is (not installed|installed but failed to load)/);
    expect(message).not.toContain('\n');
  });

  it('rejects an unknown choice', async () => {
    await expect(initBackend('gpu' as never)).rejects.toBeInstanceOf(BackendError);
  });

  it('is idempotent and can switch back and forth between wasm and cpu', async () => {
    expect(await initBackend('wasm')).toBe('wasm');
    expect(await initBackend('wasm')).toBe('wasm');
    const t = tf.tensor1d([1, 2, 3]);
    expect(await initBackend('cpu')).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    // A tensor created on wasm is still usable after the switch (tfjs moves its data).
    expect(Array.from(tf.mul(t, 2).dataSync())).toEqual([2, 4, 6]);
    expect(await initBackend('wasm')).toBe('wasm');
    expect(await initBackend('auto')).toBe(auto);
    t.dispose();
  });

  it('serialises concurrent calls', async () => {
    const results = await Promise.all([initBackend('cpu'), initBackend('wasm'), initBackend('cpu')]);
    expect(results).toEqual(['cpu', 'wasm', 'cpu']);
    expect(tf.getBackend()).toBe('cpu');
  });
});
