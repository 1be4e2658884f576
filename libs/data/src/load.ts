/**
 * loadDataset: turns a DatasetSpec (what the CLI flags say) into train/test Datasets plus a one
 * line description for logs. All user mistakes surface here as one-line DataErrors that name the
 * flag or file at fault.
 */
import type { Dataset, DatasetSpec } from './dataset';
import { DATASET_NAMES } from './dataset';
import { DataError } from './errors';
import { findLayoutFile, loadIdxDir, MNIST_LAYOUT_FILES } from './idx';
import { ClassSubset } from './subset';
import { createSynthetic, SYNTHETIC_DEFAULTS, SYNTHETIC_MAX_SAMPLES, SUBCLUSTERS } from './synthetic';

/** Where the Debian package dataset-fashion-mnist installs the files. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export const FASHION_MNIST_CLASS_NAMES: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

const GET_FASHION_MNIST =
  'install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or pass --dataset idx:<dir>';

/** True when all four MNIST-layout files (gzipped or not) are in `dir`. */
export function fashionMnistAvailable(dir: string = FASHION_MNIST_DIR): boolean {
  return Object.values(MNIST_LAYOUT_FILES).every((base) => findLayoutFile(dir, base) !== undefined);
}

export function loadDataset(spec: DatasetSpec): { train: Dataset; test: Dataset; description: string } {
  const { train, test, description } = loadWhole(spec);
  if (spec.classes === undefined) return { train, test, description };

  const subTrain = new ClassSubset(train, spec.classes);
  const subTest = new ClassSubset(test, spec.classes);
  const kept = spec.classes.map((c) => `${c} ${train.classNames[c]}`).join(', ');
  return {
    train: subTrain,
    test: subTest,
    description: `${description}; kept classes [${kept}] as 0..${spec.classes.length - 1}: ${subTrain.size} train / ${subTest.size} test`,
  };
}

function loadWhole(spec: DatasetSpec): { train: Dataset; test: Dataset; description: string } {
  const name = spec.dataset;
  if (name === 'synthetic') return loadSynthetic(spec);

  rejectSyntheticOnlyFields(spec);
  if (name === 'fashion-mnist') {
    const { train, test } = loadIdxDir({
      name,
      dir: FASHION_MNIST_DIR,
      classNames: FASHION_MNIST_CLASS_NAMES,
      missingHint: GET_FASHION_MNIST,
    });
    return { train, test, description: describeLoaded(`fashion-mnist (${FASHION_MNIST_DIR})`, train, test) };
  }
  if (typeof name === 'string' && name.startsWith('idx:')) {
    const dir = name.slice('idx:'.length);
    if (dir === '') throw new DataError(`--dataset: idx: needs a directory, e.g. idx:${FASHION_MNIST_DIR}`);
    const { train, test } = loadIdxDir({
      name,
      dir,
      missingHint: `expected MNIST-layout IDX files there (${Object.values(MNIST_LAYOUT_FILES).join(', ')}, .gz or not); for Fashion-MNIST ${GET_FASHION_MNIST}`,
    });
    return { train, test, description: describeLoaded(name, train, test) };
  }
  throw new DataError(`--dataset: unknown dataset ${JSON.stringify(name)}; allowed: ${DATASET_NAMES.join(', ')}`);
}

function describeLoaded(what: string, train: Dataset, test: Dataset): string {
  return `${what}: ${train.size} train / ${test.size} test, ${train.numFeatures} features, ${train.numClasses} classes`;
}

function loadSynthetic(spec: DatasetSpec) {
  const seed = spec.seed;
  if (!Number.isSafeInteger(seed)) throw new DataError(`--seed: must be an integer, got ${seed}`);
  const numClasses = intOption(spec.numClasses, SYNTHETIC_DEFAULTS.numClasses, '--num-classes', 2, 256);
  const samples = intOption(spec.samples, SYNTHETIC_DEFAULTS.samples, '--samples', numClasses, SYNTHETIC_MAX_SAMPLES);
  const testSamples = intOption(spec.testSamples, SYNTHETIC_DEFAULTS.testSamples, '--test-samples', 1, SYNTHETIC_MAX_SAMPLES);
  const features = intOption(spec.features, SYNTHETIC_DEFAULTS.features, '--features', 1, 100_000);
  const { train, test } = createSynthetic({ seed, samples, testSamples, features, numClasses });
  const description =
    `synthetic (seed ${seed}): ${numClasses} classes of ${SUBCLUSTERS} overlapping Gaussian sub-clusters ` +
    `in ${features} features, ${samples} train / ${testSamples} test`;
  return { train, test, description };
}

function intOption(value: number | undefined, fallback: number, flag: string, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new DataError(`${flag}: must be an integer in ${min}..${max}, got ${value}`);
  }
  return value;
}

/**
 * The size/shape fields only mean something for synthetic data. A CLI that fills in defaults
 * everywhere is fine; a value that asks for something different would be silently ignored, so
 * it is an error instead.
 */
function rejectSyntheticOnlyFields(spec: DatasetSpec): void {
  const fields = [
    ['samples', '--samples'],
    ['testSamples', '--test-samples'],
    ['features', '--features'],
    ['numClasses', '--num-classes'],
  ] as const;
  for (const [field, flag] of fields) {
    const value = spec[field];
    if (value !== undefined && value !== SYNTHETIC_DEFAULTS[field]) {
      throw new DataError(`${flag}: only applies to --dataset synthetic, not ${spec.dataset} (use --classes to pick classes)`);
    }
  }
}
