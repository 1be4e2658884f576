/**
 * IDX files (the MNIST container format) and datasets read from a directory in MNIST layout.
 *
 * An IDX file is: two zero bytes, a type byte (0x08 = unsigned byte, the only one image
 * datasets use), a byte with the number of dimensions, one big-endian uint32 per dimension,
 * then the data, row-major. Files may be gzip-compressed (detected by content, not by name).
 * Images stay as the uint8 bytes they are on disk (47 MB for Fashion-MNIST train); features(ids)
 * scales the requested rows to [0, 1] float32. An uncompressed image file is not read into memory: its rows are
 * read by id with positional reads (RowFile), so it may be of any size; a gzip file is decompressed whole.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Dataset } from './dataset';
import { checkSampleId } from './dataset';
import { DataError } from './errors';
import { RowFile } from './row-file';

export interface IdxArray {
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

const IDX_UBYTE = 0x08;
const IDX_TYPE_NAMES: Record<number, string> = {
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
};

/** The header at the start of an IDX buffer (magic, type, dimensions); the data after it is not looked at. */
export function parseIdxHeader(buf: Uint8Array, file: string): { dims: number[]; headerBytes: number; count: number } {
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0) {
    throw new DataError(`${file}: not an IDX file (bad magic number; expected 00 00 <type> <ndims>)`);
  }
  const type = buf[2];
  if (type !== IDX_UBYTE) {
    const known = IDX_TYPE_NAMES[type];
    throw new DataError(
      `${file}: IDX data type 0x${hex(type)}${known ? ` (${known})` : ''} is not supported; only unsigned byte (0x08) is`,
    );
  }
  const ndims = buf[3];
  if (ndims < 1) throw new DataError(`${file}: IDX header declares 0 dimensions`);
  const headerBytes = 4 + 4 * ndims;
  if (buf.length < headerBytes) {
    throw new DataError(`${file}: truncated IDX header (${ndims} dimensions need ${headerBytes} bytes, file has ${buf.length})`);
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let k = 0; k < ndims; k++) {
    const dim = view.getUint32(4 + 4 * k, false);
    dims.push(dim);
    count *= dim;
  }
  return { dims, headerBytes, count };
}

function checkDataLength(file: string, dims: readonly number[], count: number, actual: number): void {
  if (actual !== count) {
    throw new DataError(
      `${file}: IDX header says ${dims.join('x')} = ${count} bytes of data but the file has ${actual}` +
        (actual < count ? ' (truncated?)' : ''),
    );
  }
}

/** Parses an (uncompressed) IDX buffer of unsigned bytes. `file` only names it in errors. */
export function parseIdx(buf: Uint8Array, file: string): IdxArray {
  const { dims, headerBytes, count } = parseIdxHeader(buf, file);
  checkDataLength(file, dims, count, buf.length - headerBytes);
  // A plain Uint8Array view (not a Buffer slice): callers keep it as dataset storage.
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + headerBytes, count) };
}

/** Whether bytes start with the gzip magic number. */
export const isGzip = (head: Uint8Array) => head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;

/**
 * An uncompressed IDX file's header, read without the data: its dimensions and where the data starts; the file's
 * size must be the header's plus the data's. Null for a gzip file (which must be decompressed whole).
 */
export function readIdxHeader(path: string): { dims: number[]; dataOffset: number } | null {
  const probe = new RowFile(path, 0, 1);
  try {
    const size = statSync(path).size;
    const first = probe.read(0, Math.min(size, 4));
    if (isGzip(first)) return null;
    const ndims = first.length === 4 ? first[3]! : 0;
    const { dims, headerBytes, count } = parseIdxHeader(probe.read(0, Math.min(size, 4 + 4 * ndims)), path);
    checkDataLength(path, dims, count, size - headerBytes);
    return { dims, dataOffset: headerBytes };
  } finally {
    probe.close();
  }
}

/** Reads an IDX file, gunzipping it if it starts with the gzip magic bytes. */
export function readIdxFile(path: string): IdxArray {
  let buf: Uint8Array;
  try {
    buf = readFileSync(path);
  } catch (err) {
    throw new DataError(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  if (isGzip(buf)) {
    try {
      buf = gunzipSync(buf);
    } catch (err) {
      throw new DataError(`${path}: corrupt gzip data (${(err as Error).message})`);
    }
  }
  return parseIdx(buf, path);
}

function hex(b: number): string {
  return b.toString(16).padStart(2, '0');
}

/** Base names of the four files of a directory in MNIST layout; each may also carry a .gz suffix. */
export const MNIST_LAYOUT_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** The path of `base` in `dir`, preferring the .gz file the Debian package ships; undefined if neither exists. */
export function findLayoutFile(dir: string, base: string): string | undefined {
  for (const candidate of [`${base}.gz`, base]) {
    const path = join(dir, candidate);
    if (existsSync(path)) return path;
  }
  return undefined;
}

export interface IdxDirOptions {
  /** Dataset name, e.g. 'fashion-mnist' or 'idx:/some/dir'. */
  name: string;
  dir: string;
  /** Fixed class names; when absent the classes are "0".."max label". */
  classNames?: readonly string[];
  /** Appended to the "missing file" message: how to get the files. */
  missingHint: string;
}

/** Loads the train and test splits of a directory in MNIST layout. */
export function loadIdxDir(opts: IdxDirOptions): { train: Dataset; test: Dataset } {
  const read = (base: string): { path: string; idx: IdxArray } => {
    const path = findLayoutFile(opts.dir, base);
    if (!path) {
      throw new DataError(`${opts.name}: missing ${join(opts.dir, `${base}.gz`)} (or uncompressed ${base}); ${opts.missingHint}`);
    }
    return { path, idx: readIdxFile(path) };
  };
  /** Images: an uncompressed file's rows are read by id where they lie; a gzip file's decompressed whole. */
  const images = (base: string): Images => {
    const path = findLayoutFile(opts.dir, base);
    const header = path ? readIdxHeader(path) : null;
    if (!path || !header) return expectImages(read(base));
    const [, rows = 0, cols = 0] = header.dims;
    return expectImages({ path, idx: { dims: header.dims, data: new Uint8Array(0) } }, new RowFile(path, header.dataOffset, rows * cols));
  };
  const f = MNIST_LAYOUT_FILES;
  const trainImages = images(f.trainImages);
  const trainLabels = expectLabels(read(f.trainLabels), trainImages);
  const testImages = images(f.testImages);
  const testLabels = expectLabels(read(f.testLabels), testImages);
  if (testImages.shape !== trainImages.shape) {
    throw new DataError(
      `${testImages.path}: images are ${testImages.shape} but the training images are ${trainImages.shape}`,
    );
  }

  let classNames = opts.classNames;
  if (classNames) {
    for (const l of [trainLabels, testLabels]) {
      const max = maxOf(l.labels);
      if (max >= classNames.length) {
        throw new DataError(`${l.path}: label ${max} is outside 0..${classNames.length - 1} for ${opts.name}`);
      }
    }
  } else {
    const numClasses = Math.max(maxOf(trainLabels.labels), maxOf(testLabels.labels)) + 1;
    classNames = Array.from({ length: numClasses }, (_, c) => String(c));
  }
  return {
    train: new IdxDataset(opts.name, 'train', trainImages.pixels, trainImages.numFeatures, trainLabels.labels, classNames),
    test: new IdxDataset(opts.name, 'test', testImages.pixels, testImages.numFeatures, testLabels.labels, classNames),
  };
}

interface Images {
  path: string;
  count: number;
  numFeatures: number;
  shape: string;
  pixels: Uint8Array | RowFile;
}

function expectImages({ path, idx }: { path: string; idx: IdxArray }, fileRows?: RowFile): Images {
  if (idx.dims.length !== 3) {
    throw new DataError(`${path}: expected a 3-dimensional IDX image file [count, rows, cols], got ${idx.dims.length} dimensions`);
  }
  const [count, rows, cols] = idx.dims;
  if (count === 0 || rows * cols === 0) throw new DataError(`${path}: holds no images (${idx.dims.join('x')})`);
  return { path, count, numFeatures: rows * cols, shape: `${rows}x${cols}`, pixels: fileRows ?? idx.data };
}

function expectLabels({ path, idx }: { path: string; idx: IdxArray }, images: Images): { path: string; labels: Uint8Array } {
  if (idx.dims.length !== 1) {
    throw new DataError(`${path}: expected a 1-dimensional IDX label file, got ${idx.dims.length} dimensions`);
  }
  if (idx.dims[0] !== images.count) {
    throw new DataError(`${path}: has ${idx.dims[0]} labels but ${images.path} has ${images.count} images`);
  }
  return { path, labels: idx.data };
}

function maxOf(a: Uint8Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) if (a[i] > max) max = a[i];
  return max;
}

/** k / 255 for every byte value, so scaling a row is a table lookup. */
const BYTE_TO_UNIT = Float32Array.from({ length: 256 }, (_, k) => k / 255);

export class IdxDataset implements Dataset {
  readonly numClasses: number;
  readonly size: number;

  constructor(
    readonly name: string,
    readonly split: 'train' | 'test',
    /** [size, numFeatures] raw bytes: in memory, or rows of an uncompressed file read by id. */
    private readonly pixels: Uint8Array | RowFile,
    readonly numFeatures: number,
    readonly labels: Uint8Array,
    readonly classNames: readonly string[],
  ) {
    this.numClasses = classNames.length;
    this.size = labels.length;
  }

  features(ids: ArrayLike<number>): Float32Array {
    const d = this.numFeatures;
    const out = new Float32Array(ids.length * d);
    const { pixels } = this;
    const scratch = new Uint8Array(d);
    const rowOf = (id: number): Uint8Array => (pixels instanceof RowFile ? pixels.readRows(id, 1, scratch) : pixels.subarray(id * d, (id + 1) * d));
    for (let r = 0; r < ids.length; r++) {
      const id = ids[r];
      checkSampleId(id, this.size, `${this.name} ${this.split}`);
      const row = rowOf(id);
      const dst = r * d;
      for (let j = 0; j < d; j++) out[dst + j] = BYTE_TO_UNIT[row[j]!]!;
    }
    return out;
  }
}
