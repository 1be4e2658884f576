import { nativeAvailable } from '@shardlab/native';

export { nativeAvailable };

/** The backends the model tests run on: cpu and wasm everywhere, native where it was built. */
export function testBackends(): ('cpu' | 'wasm' | 'native')[] {
  return nativeAvailable() ? ['cpu', 'wasm', 'native'] : ['cpu', 'wasm'];
}
