import * as tf from '@tensorflow/tfjs';
import { describe, it, expect } from 'vitest';
import { BackendError, describeBackend, initBackend, nativeUnavailableReason, setBlasThreads } from './backend';

// A machine without the addon. Vitest runs each file in its own worker, and the addon is only looked up on
// first use, so disabling it here, before any test runs, affects this file alone.
process.env['SHARDLAB_NATIVE'] = '0';

describe('initBackend where the native backend is unavailable', () => {
  it("'native' fails with a one-line BackendError that says why", async () => {
    const err = await initBackend('native').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BackendError);
    expect((err as Error).message).toBe('native backend unavailable: disabled by SHARDLAB_NATIVE=0');
    expect(() => setBlasThreads(1)).toThrow('native backend unavailable');
  });

  it("'auto' falls back to wasm, and the log line for it names the reason", async () => {
    const chosen = await initBackend('auto');
    expect(['tensorflow', 'wasm']).toContain(chosen);
    expect(tf.getBackend()).toBe(chosen);
    expect(nativeUnavailableReason()).toBe('disabled by SHARDLAB_NATIVE=0');
    expect(describeBackend('wasm')).toBe('wasm (native backend unavailable: disabled by SHARDLAB_NATIVE=0)');
    // Said once per process: a sweep's later runs just name the backend.
    expect(describeBackend('wasm')).toBe('wasm');
  });
});
