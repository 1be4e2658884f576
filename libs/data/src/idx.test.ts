import { describe, it, expect } from 'vitest';
import { closeSync, mkdtempSync, openSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DataError } from './errors';
import { parseIdx, readIdxFile, loadIdxDir } from './idx';
import { fashionMnistAvailable, FASHION_MNIST_DIR, loadDataset } from './load';

/** Bytes of an unsigned-byte IDX file. */
function idxBytes(dims: number[], data: number[], type = 0x08): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = type;
  header[3] = dims.length;
  dims.forEach((d, k) => header.writeUInt32BE(d, 4 + 4 * k));
  return Buffer.concat([header, Buffer.from(data)]);
}

/** A tiny MNIST-layout directory: 2x3 images, train labels 0,1,2,0,1,2 and test labels 2,1,0. */
function writeTinyDataset(opts: { gzip?: boolean; skip?: string; override?: Record<string, Buffer> } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'shardlab-idx-'));
  const trainPixels = Array.from({ length: 6 * 6 }, (_, i) => (i * 7) % 256);
  const testPixels = Array.from({ length: 3 * 6 }, (_, i) => 255 - i);
  const files: Record<string, Buffer> = {
    'train-images-idx3-ubyte': idxBytes([6, 2, 3], trainPixels),
    'train-labels-idx1-ubyte': idxBytes([6], [0, 1, 2, 0, 1, 2]),
    't10k-images-idx3-ubyte': idxBytes([3, 2, 3], testPixels),
    't10k-labels-idx1-ubyte': idxBytes([3], [2, 1, 0]),
    ...opts.override,
  };
  for (const [name, bytes] of Object.entries(files)) {
    if (name === opts.skip) continue;
    if (opts.gzip === false) writeFileSync(join(dir, name), bytes);
    else writeFileSync(join(dir, `${name}.gz`), gzipSync(bytes));
  }
  return dir;
}

function dataErrorOf(fn: () => unknown): DataError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).not.toContain('\n');
    return err as DataError;
  }
  throw new Error('expected a DataError');
}

describe('parseIdx', () => {
  it('reads dims and data of a valid file', () => {
    const idx = parseIdx(idxBytes([2, 2], [1, 2, 3, 4]), 'x');
    expect(idx.dims).toEqual([2, 2]);
    expect(Array.from(idx.data)).toEqual([1, 2, 3, 4]);
  });

  it('rejects a bad magic number, naming the file', () => {
    const bytes = idxBytes([2], [1, 2]);
    bytes[0] = 0x12;
    expect(dataErrorOf(() => parseIdx(bytes, '/d/f.idx')).message).toMatch(/^\/d\/f\.idx: not an IDX file/);
  });

  it('rejects data types other than unsigned byte', () => {
    expect(dataErrorOf(() => parseIdx(idxBytes([1], [0, 0, 0, 0], 0x0d), 'f')).message).toContain('0x0d (float32)');
  });

  it('rejects truncated headers and data', () => {
    expect(dataErrorOf(() => parseIdx(Buffer.from([0, 0, 8, 3, 0, 0]), 'f')).message).toContain('truncated IDX header');
    expect(dataErrorOf(() => parseIdx(idxBytes([2, 3], [1, 2, 3]), 'f')).message).toContain('2x3 = 6 bytes of data but the file has 3');
  });
});

describe('IDX datasets (idx:<dir>)', () => {
  it('loads gzipped MNIST-layout files', () => {
    const dir = writeTinyDataset();
    try {
      const { train, test, description } = loadDataset({ dataset: `idx:${dir}`, seed: 0 });
      expect(train.name).toBe(`idx:${dir}`);
      expect([train.split, test.split]).toEqual(['train', 'test']);
      expect([train.size, test.size]).toEqual([6, 3]);
      expect(train.numFeatures).toBe(6);
      expect(train.numClasses).toBe(3);
      expect(train.classNames).toEqual(['0', '1', '2']);
      expect(Array.from(train.labels)).toEqual([0, 1, 2, 0, 1, 2]);
      expect(Array.from(test.labels)).toEqual([2, 1, 0]);
      const row1 = Array.from({ length: 6 }, (_, j) => ((6 + j) * 7) % 256);
      expect(Array.from(train.features([1]))).toEqual(row1.map((v) => Math.fround(v / 255)));
      expect(Array.from(test.features([0]))).toEqual([255, 254, 253, 252, 251, 250].map((v) => Math.fround(v / 255)));
      expect(description).toContain('6 train / 3 test');
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('also accepts uncompressed files, read by row where they lie, with the bytes the gzip files give', () => {
    const plain = writeTinyDataset({ gzip: false });
    const packed = writeTinyDataset();
    try {
      const a = loadDataset({ dataset: `idx:${plain}`, seed: 0 });
      const b = loadDataset({ dataset: `idx:${packed}`, seed: 0 });
      expect(a.train.size).toBe(6);
      for (const split of ['train', 'test'] as const) {
        const ids = Array.from({ length: a[split].size }, (_, i) => a[split].size - 1 - i);
        expect(Array.from(a[split].features(ids))).toEqual(Array.from(b[split].features(ids)));
        expect(Array.from(a[split].labels)).toEqual(Array.from(b[split].labels));
      }
    } finally {
      rmSync(plain, { recursive: true });
      rmSync(packed, { recursive: true });
    }
  });

  it('reads the last image of an uncompressed file above 2 GiB (sparse), which readFileSync refuses', () => {
    const dir = writeTinyDataset({ gzip: false });
    try {
      // 2,800,000 images of 28 x 28 = 2.2 GB of pixels; only the last image is written (a sparse file).
      const count = 2_800_000;
      const header = Buffer.alloc(16);
      header.set([0, 0, 8, 3]);
      header.writeUInt32BE(count, 4);
      header.writeUInt32BE(28, 8);
      header.writeUInt32BE(28, 12);
      const path = join(dir, 'train-images-idx3-ubyte');
      writeFileSync(path, header);
      truncateSync(path, 16 + count * 784);
      const fd = openSync(path, 'r+');
      writeSync(fd, Uint8Array.from({ length: 784 }, (_, j) => j % 256), 0, 784, 16 + (count - 1) * 784);
      closeSync(fd);
      const labels = Buffer.concat([Buffer.from([0, 0, 8, 1, 0, 0, 0, 0]), Buffer.alloc(count)]);
      labels.writeUInt32BE(count, 4);
      writeFileSync(join(dir, 'train-labels-idx1-ubyte'), labels);
      writeFileSync(join(dir, 't10k-images-idx3-ubyte'), idxBytes([1, 28, 28], new Array(784).fill(0)));
      writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idxBytes([1], [0]));
      const { train } = loadDataset({ dataset: `idx:${dir}`, seed: 0 });
      expect(train.size).toBe(count);
      const last = train.features([count - 1]);
      expect(last[0]).toBe(0);
      expect(last[255]).toBe(Math.fround(255 / 255));
      expect(last[783]).toBe(Math.fround((783 % 256) / 255));
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('a missing file says the exact path it looked for and how to get it', () => {
    const dir = writeTinyDataset({ skip: 't10k-labels-idx1-ubyte' });
    try {
      const msg = dataErrorOf(() => loadDataset({ dataset: `idx:${dir}`, seed: 0 })).message;
      expect(msg).toContain(join(dir, 't10k-labels-idx1-ubyte.gz'));
      expect(msg).toContain('apt-get install dataset-fashion-mnist');
      expect(msg).toContain('--dataset idx:<dir>');
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('the fashion-mnist flavour of the missing-file message', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shardlab-empty-'));
    try {
      const msg = dataErrorOf(() =>
        loadIdxDir({
          name: 'fashion-mnist',
          dir,
          missingHint: 'install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or pass --dataset idx:<dir>',
        }),
      ).message;
      expect(msg).toMatch(/^fashion-mnist: missing /);
      expect(msg).toContain(join(dir, 'train-images-idx3-ubyte.gz'));
      expect(msg).toContain('install the Debian package dataset-fashion-mnist');
      expect(fashionMnistAvailable(dir)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('a corrupt header or file names the file', () => {
    const cases: [string, Buffer, RegExp][] = [
      ['train-labels-idx1-ubyte', Buffer.from('not an idx file at all'), /not an IDX file/],
      ['train-images-idx3-ubyte', idxBytes([6, 6], Array(36).fill(0)), /expected a 3-dimensional IDX image file/],
      ['train-labels-idx1-ubyte', idxBytes([5], [0, 1, 2, 0, 1]), /has 5 labels but .* has 6 images/],
      ['t10k-images-idx3-ubyte', idxBytes([3, 3, 2], Array(18).fill(0)), /images are 3x2 but the training images are 2x3/],
    ];
    for (const [file, bytes, pattern] of cases) {
      const dir = writeTinyDataset({ override: { [file]: bytes } });
      try {
        const msg = dataErrorOf(() => loadDataset({ dataset: `idx:${dir}`, seed: 0 })).message;
        expect(msg).toContain(join(dir, file));
        expect(msg).toMatch(pattern);
      } finally {
        rmSync(dir, { recursive: true });
      }
    }
  });

  it('corrupt gzip data names the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shardlab-gz-'));
    try {
      const path = join(dir, 'broken.gz');
      writeFileSync(path, Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.from('garbage')]));
      expect(dataErrorOf(() => readIdxFile(path)).message).toMatch(new RegExp(`^${path}: corrupt gzip data`));
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

const requireFashion = process.env.SHARDLAB_REQUIRE_FASHION_MNIST === '1';

describe('real Fashion-MNIST', () => {
  // Runs where the Debian package is installed; with SHARDLAB_REQUIRE_FASHION_MNIST=1 it must run
  // (and fails on a machine without the files instead of being skipped).
  it.runIf(requireFashion || fashionMnistAvailable())(`loads ${FASHION_MNIST_DIR}`, () => {
    const { train, test } = loadDataset({ dataset: 'fashion-mnist', seed: 0 });
    expect([train.size, test.size]).toEqual([60_000, 10_000]);
    expect(train.numFeatures).toBe(784);
    expect(train.numClasses).toBe(10);
    expect(train.classNames[0]).toBe('T-shirt/top');
    expect(train.classNames[9]).toBe('Ankle boot');
    const f = train.features([0, 59_999]);
    expect(Math.min(...f)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...f)).toBeLessThanOrEqual(1);
    expect(Math.max(...f)).toBeGreaterThan(0.5);

    const sub = loadDataset({ dataset: 'fashion-mnist', seed: 0, classes: [0, 1, 2, 3] });
    expect([sub.train.size, sub.test.size]).toEqual([24_000, 4_000]);
    expect(sub.train.classNames).toEqual(['T-shirt/top', 'Trouser', 'Pullover', 'Dress']);
    expect(Math.max(...sub.train.labels)).toBe(3);
  });
});
