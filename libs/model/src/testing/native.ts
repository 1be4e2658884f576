import { loadNative } from '@shardlab/native';

/**
 * Whether tests of the native backend can run here. Where SHARDLAB_REQUIRE_NATIVE=1 (CI, which installs
 * libopenblas-dev before npm ci) a missing addon is an error rather than a skipped test.
 */
export function nativeAvailable(): boolean {
  const native = loadNative();
  if (!native.ok && process.env['SHARDLAB_REQUIRE_NATIVE'] === '1') {
    throw new Error(`SHARDLAB_REQUIRE_NATIVE=1 but the native backend is unavailable: ${native.reason}`);
  }
  return native.ok;
}

/** The backends the model tests run on: cpu and wasm everywhere, native where it was built. */
export function testBackends(): ('cpu' | 'wasm' | 'native')[] {
  return nativeAvailable() ? ['cpu', 'wasm', 'native'] : ['cpu', 'wasm'];
}
