import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { resolve } from 'node:path';
import { createGunzip } from 'node:zlib';
import { DataError, FASHION_MNIST_CLASS_NAMES, FASHION_MNIST_DIR, MNIST_LAYOUT_FILES, findLayoutFile, isGzip, parseIdxHeader, readIdxFile } from '@shardlab/data';
import { ImportError } from '../errors';
import type { Sample } from './sample';

function layoutFile(dir: string, base: string): string {
  const path = findLayoutFile(dir, base);
  if (!path) throw new ImportError(`${dir}: no ${base}[.gz] (MNIST layout: train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte)`);
  return path;
}

/** Class names for a directory of IDX files: Fashion-MNIST's where the Debian package put them, else null (the label numbers). */
export function idxClassNames(dir: string): readonly string[] | null {
  return resolve(dir) === FASHION_MNIST_DIR ? FASHION_MNIST_CLASS_NAMES : null;
}

/** Whether the file at `path` is gzip (its first two bytes). */
function isGzipFile(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(2);
    return isGzip(head.subarray(0, readSync(fd, head, 0, 2, 0)));
  } finally {
    closeSync(fd);
  }
}

/**
 * The images of an IDX file of unsigned bytes, one row at a time, streamed (gunzipped on the way if it is gzip): a
 * file of any size converts in constant memory. Yields [dims, row] pairs; the row is valid until the next.
 */
async function* idxRows(path: string): AsyncGenerator<{ dims: number[]; row: Uint8Array }> {
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  const stream = isGzipFile(path) ? raw.pipe(createGunzip()) : raw;
  let pending: Buffer = Buffer.alloc(0);
  let dims: number[] | null = null;
  let rowBytes = 0;
  let rows = 0;
  let seen = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      if (!dims) {
        // The header is libs/data's to read (magic, unsigned bytes only, dimensions), once its bytes are here.
        if (pending.length < 4 || pending.length < 4 + 4 * pending[3]!) continue;
        const header = parseIdxHeader(pending, path);
        dims = header.dims;
        rowBytes = dims.slice(1).reduce((a, b) => a * b, 1);
        rows = dims[0]!;
        pending = pending.subarray(header.headerBytes);
      }
      let at = 0;
      while (pending.length - at >= rowBytes && seen < rows) {
        yield { dims, row: pending.subarray(at, at + rowBytes) };
        at += rowBytes;
        seen++;
      }
      pending = pending.subarray(at);
    }
  } catch (err) {
    if (err instanceof ImportError || err instanceof DataError) throw err;
    throw new ImportError(`${path}: cannot read (${(err as Error).message})`);
  }
  if (!dims || seen < rows) throw new ImportError(`${path}: ended after ${seen} of ${rows} images (truncated?)`);
  if (pending.length > 0) throw new ImportError(`${path}: ${pending.length} bytes after the last image`);
}

/** A directory in MNIST layout (gzipped or not): its train and test images and labels, uint8, streamed. */
export async function* idxSamples(dir: string, names: readonly string[] | null): AsyncGenerator<Sample> {
  for (const [split, images, labels] of [
    ['train', MNIST_LAYOUT_FILES.trainImages, MNIST_LAYOUT_FILES.trainLabels],
    ['test', MNIST_LAYOUT_FILES.testImages, MNIST_LAYOUT_FILES.testLabels],
  ] as const) {
    // Labels are one byte a sample: read whole (10M samples are 10 MB).
    const y = readIdxFile(layoutFile(dir, labels));
    let i = 0;
    for await (const { dims, row } of idxRows(layoutFile(dir, images))) {
      if (i === 0 && (y.dims.length !== 1 || y.dims[0] !== dims[0])) throw new ImportError(`${dir}: ${images} has ${dims[0]} images but ${labels} has ${y.dims.join('x')} labels`);
      const label = y.data[i]!;
      if (names && label >= names.length) throw new ImportError(`${dir}: ${labels} label ${label} of sample ${i} is outside 0..${names.length - 1}`);
      yield { features: row, shape: dims.slice(1), label: names ? names[label]! : String(label), where: `${images} sample ${i}`, split };
      i++;
    }
  }
}
