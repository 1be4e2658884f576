/** What every dataset looks like to the rest of shardlab: labels in memory, features on demand. */

export interface Dataset {
  /** e.g. 'synthetic', 'fashion-mnist', 'idx:/some/dir'. */
  readonly name: string;
  readonly split: 'train' | 'test';
  readonly size: number;
  readonly numFeatures: number;
  readonly numClasses: number;
  readonly classNames: readonly string[];
  /** labels[i] in [0, numClasses). */
  readonly labels: Uint8Array;
  /** Row-major [ids.length, numFeatures] float32 features of the given sample ids. */
  features(ids: ArrayLike<number>): Float32Array;
}

export interface DatasetSpec {
  /** 'synthetic' | 'fashion-mnist' | 'fashion-mnist-deformed' | 'idx:<dir>' | 'npy:<dir>' */
  dataset: string;
  /** Keep only these original classes, relabelled 0..k-1 in the given order. */
  classes?: number[];
  /** Synthetic only. */
  seed: number;
  /** Synthetic and fashion-mnist-deformed train size, default 60000, up to 10_000_000. */
  samples?: number;
  /** fashion-mnist-deformed: the strength of the deformations (0: the base images; default 1). */
  deformation?: number;
  /** Synthetic test size, default 4000. */
  testSamples?: number;
  /** Synthetic feature count, default 784. */
  features?: number;
  /** Synthetic class count, default 4. */
  numClasses?: number;
}

/** The accepted spellings of DatasetSpec.dataset, for error messages and --help. */
export const DATASET_NAMES: readonly string[] = ['synthetic', 'fashion-mnist', 'fashion-mnist-deformed', 'idx:<dir>', 'npy:<dir>'];

/** Throws a RangeError unless `id` is a valid sample index of a dataset of `size` samples. */
export function checkSampleId(id: number, size: number, name: string): void {
  if (!Number.isInteger(id) || id < 0 || id >= size) {
    throw new RangeError(`${name}: sample id ${id} is outside 0..${size - 1}`);
  }
}
