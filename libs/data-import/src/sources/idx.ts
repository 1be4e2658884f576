import { FASHION_MNIST_CLASS_NAMES, FASHION_MNIST_DIR, MNIST_LAYOUT_FILES, readIdxFile } from '@shardlab/data';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ImportError } from '../errors';
import type { Sample } from './sample';

function layoutFile(dir: string, base: string): string {
  for (const candidate of [`${base}.gz`, base]) if (existsSync(join(dir, candidate))) return join(dir, candidate);
  throw new ImportError(`${dir}: no ${base}[.gz] (MNIST layout: train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte)`);
}

/** Class names for a directory of IDX files: Fashion-MNIST's where the Debian package put them, else null (the label numbers). */
export function idxClassNames(dir: string): readonly string[] | null {
  return resolve(dir) === FASHION_MNIST_DIR ? FASHION_MNIST_CLASS_NAMES : null;
}

/** A directory in MNIST layout (gzipped or not): its train and test images and labels, uint8. */
export function* idxSamples(dir: string, names: readonly string[] | null): Generator<Sample> {
  for (const [split, images, labels] of [
    ['train', MNIST_LAYOUT_FILES.trainImages, MNIST_LAYOUT_FILES.trainLabels],
    ['test', MNIST_LAYOUT_FILES.testImages, MNIST_LAYOUT_FILES.testLabels],
  ] as const) {
    const x = readIdxFile(layoutFile(dir, images));
    const y = readIdxFile(layoutFile(dir, labels));
    const n = x.dims[0]!;
    if (y.dims.length !== 1 || y.dims[0] !== n) throw new ImportError(`${dir}: ${images} has ${n} images but ${labels} has ${y.dims.join('x')} labels`);
    const shape = x.dims.slice(1);
    const row = shape.reduce((a, b) => a * b, 1);
    for (let i = 0; i < n; i++) {
      const label = y.data[i]!;
      if (names && label >= names.length) throw new ImportError(`${dir}: ${labels} label ${label} of sample ${i} is outside 0..${names.length - 1}`);
      yield { features: x.data.subarray(i * row, (i + 1) * row), shape, label: names ? names[label]! : String(label), where: `${images} sample ${i}`, split };
    }
  }
}
