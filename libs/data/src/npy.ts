/**
 * Datasets of NumPy `.npy` files, read by sample id.
 *
 * A `.npy` file (NumPy's format 1.0, 2.0 or 3.0) is a magic string, a version, a header length, a header that is
 * a Python dict literal ({'descr': '<f4', 'fortran_order': False, 'shape': (N, 28, 28), }), then the array's
 * bytes in C order. Rows are fixed-stride, so a batch is one positional read a row: a trainer touches only the
 * rows of its batches, memory does not grow with N, and files above 2 GiB (which readFileSync refuses) read like
 * any other. Labels (one integer a sample) are read whole, as the other datasets hold them.
 *
 * A dataset directory holds the files and `dataset.json`:
 *   {
 *     "name": "my-data",
 *     "classes": ["cat", "dog", "fox", "owl"],          class names; labels are 0..classes-1
 *     "train": { "features": "train-x.npy", "labels": "train-y.npy" },
 *     "test":  { "features": "test-x.npy",  "labels": "test-y.npy" },
 *     "scale": 255                                      uint8 features are divided by it (default 255)
 *   }
 * Features are float32 or uint8 of shape [N, ...] (every sample flattened); labels any integer type, shape [N].
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset } from './dataset';
import { checkSampleId } from './dataset';
import { DataError } from './errors';
import type { NativeAddon } from '@shardlab/native';
import { RowFile, nativeAddon } from './row-file';

/** The manifest's file name in a dataset directory. */
export const NPY_MANIFEST = 'dataset.json';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** The dtypes read: features float32 or uint8; labels any integer type. Little-endian (or one byte). */
const DTYPES: Record<string, { bytes: number; integer: boolean }> = {
  '<f4': { bytes: 4, integer: false },
  '|u1': { bytes: 1, integer: true },
  '<u1': { bytes: 1, integer: true },
  '|i1': { bytes: 1, integer: true },
  '<i1': { bytes: 1, integer: true },
  '<i2': { bytes: 2, integer: true },
  '<u2': { bytes: 2, integer: true },
  '<i4': { bytes: 4, integer: true },
  '<u4': { bytes: 4, integer: true },
  '<i8': { bytes: 8, integer: true },
  '<u8': { bytes: 8, integer: true },
};

export interface NpyHeader {
  descr: string;
  shape: number[];
  /** Where the array's bytes start. */
  dataOffset: number;
}

/**
 * Where a `.npy` file's array starts, from its first bytes: the header's length is a 2-byte field after the version
 * in format 1, a 4-byte one in formats 2 and 3. -1 when `head` is too short to say.
 */
function npyDataOffset(head: Uint8Array): number {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (head[6] === 1) return head.length >= 10 ? 10 + view.getUint16(8, true) : -1;
  return head.length >= 12 ? 12 + view.getUint32(8, true) : -1;
}

/** Parses the header at the start of a `.npy` file (`head` holds at least its first dataOffset bytes). */
export function parseNpyHeader(head: Uint8Array, file: string): NpyHeader {
  if (head.length < 10 || MAGIC.some((b, i) => head[i] !== b)) throw new DataError(`${file}: not a .npy file (it does not start with \\x93NUMPY)`);
  const major = head[6]!;
  if (major < 1 || major > 3) throw new DataError(`${file}: .npy format version ${major}.${head[7]} is not one this reader knows (1, 2, 3)`);
  const start = major === 1 ? 10 : 12;
  const dataOffset = npyDataOffset(head);
  if (dataOffset < 0 || head.length < dataOffset) throw new DataError(`${file}: truncated .npy header`);
  const text = Buffer.from(head.subarray(start, dataOffset)).toString(major === 3 ? 'utf8' : 'latin1');
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw new DataError(`${file}: the .npy header lacks descr, fortran_order or shape: ${text.trim()}`);
  if (fortran === 'True') throw new DataError(`${file}: the array is in Fortran order; save it in C order (numpy.ascontiguousarray)`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => Number(s.replace(/L$/, '')));
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new DataError(`${file}: bad shape (${shapeText}) in the .npy header`);
  return { descr, shape, dataOffset };
}

/**
 * The header NumPy would write for a C-order array of `descr` and `shape` (format 1.0, padded so the data starts
 * on a 64-byte boundary): what a writer of .npy files puts before the array's bytes. With `length` (a multiple of
 * 64), padded to exactly that many bytes: a writer that learns the row count last reserves it, then rewrites it.
 */
export function npyHeader(descr: string, shape: readonly number[], length?: number): Buffer {
  if (!DTYPES[descr]) throw new RangeError(`npyHeader: dtype ${descr} is not one this library reads`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const natural = dict.length + 1 + (63 - ((10 + dict.length) % 64));
  const padded = length === undefined ? natural : length - 10;
  if (padded < natural || padded % 64 !== 54) throw new RangeError(`npyHeader: ${length} bytes cannot hold the header of shape ${shapeText} on a 64-byte boundary`);
  dict += ' '.repeat(padded - dict.length - 1) + '\n';
  const head = Buffer.alloc(10 + dict.length);
  Buffer.from(MAGIC).copy(head);
  head[6] = 1;
  head.writeUInt16LE(dict.length, 8);
  head.write(dict, 10, 'latin1');
  return head;
}

/** One `.npy` file open for positional reads of its rows (the first dimension). */
export class NpyFile {
  readonly descr: string;
  readonly shape: readonly number[];
  /** Samples: the first dimension. */
  readonly rows: number;
  /** Values a row (the product of the other dimensions). */
  readonly rowValues: number;
  readonly rowBytes: number;
  private readonly file: RowFile;

  constructor(readonly path: string) {
    if (!existsSync(path)) throw new DataError(`${path}: no such file`);
    const size = statSync(path).size;
    // The header first, as rows of one byte; then the array's rows.
    const bytes = new RowFile(path, 0, 1);
    let header: NpyHeader;
    try {
      // The header's length is in its first 12 bytes; too few, and parseNpyHeader says what is wrong.
      const first = bytes.read(0, Math.min(size, 12));
      const headerEnd = npyDataOffset(first);
      if (headerEnd > 1 << 20) throw new DataError(`${path}: not a .npy file, or its header claims ${headerEnd} bytes`);
      header = parseNpyHeader(headerEnd < 0 ? first : bytes.read(0, Math.min(size, headerEnd)), path);
    } finally {
      bytes.close();
    }
    const dtype = DTYPES[header.descr];
    if (!dtype) throw new DataError(`${path}: dtype ${header.descr} is not read here (features: float32 <f4 or uint8 |u1; labels: little-endian integers)`);
    if (header.shape.length < 1) throw new DataError(`${path}: a 0-dimensional array; expected one row a sample`);
    this.descr = header.descr;
    this.shape = header.shape;
    this.rows = header.shape[0]!;
    this.rowValues = header.shape.slice(1).reduce((a, b) => a * b, 1);
    this.rowBytes = this.rowValues * dtype.bytes;
    const expected = header.dataOffset + this.rows * this.rowBytes;
    if (size !== expected) {
      throw new DataError(`${path}: ${size} bytes, but its header (shape (${header.shape.join(', ')}), ${header.descr}) says ${expected}${size < expected ? ': truncated' : ''}`);
    }
    this.file = new RowFile(path, header.dataOffset, this.rowBytes);
  }

  get integer(): boolean {
    return DTYPES[this.descr]!.integer;
  }

  /** The bytes of `count` rows from row `first` on. */
  readRows(first: number, count: number, into?: Uint8Array): Uint8Array {
    return this.file.readRows(first, count, into);
  }

  /** The rows `rows`, in that order, into `into` (RowFile.readRowsAt). */
  readRowsAt(rows: ArrayLike<number>, into: Uint8Array, native?: NativeAddon | null): Uint8Array {
    return this.file.readRowsAt(rows, into, native);
  }

  close(): void {
    this.file.close();
  }
}

/** Reads a labels file whole: one integer a sample, each in 0..classes-1. */
export function readNpyLabels(file: NpyFile, classes: number): Uint8Array {
  if (!file.integer) throw new DataError(`${file.path}: labels must be integers, got dtype ${file.descr}`);
  if (file.shape.length !== 1 && !(file.shape.length === 2 && file.shape[1] === 1)) {
    throw new DataError(`${file.path}: labels must have shape (N,), got (${file.shape.join(', ')})`);
  }
  const labels = new Uint8Array(file.rows);
  const bytes = file.rowBytes;
  const signed = file.descr.includes('i');
  // In chunks: a 10M-sample int64 file is 80 MB, read in pieces of 1M labels.
  const chunk = 1 << 20;
  for (let first = 0; first < file.rows; first += chunk) {
    const count = Math.min(chunk, file.rows - first);
    const raw = file.readRows(first, count);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let i = 0; i < count; i++) {
      const at = i * bytes;
      const v =
        bytes === 1 ? (signed ? view.getInt8(at) : raw[at]!)
        : bytes === 2 ? (signed ? view.getInt16(at, true) : view.getUint16(at, true))
        : bytes === 4 ? (signed ? view.getInt32(at, true) : view.getUint32(at, true))
        : Number(signed ? view.getBigInt64(at, true) : view.getBigUint64(at, true));
      if (!(v >= 0 && v < classes)) {
        throw new DataError(`${file.path}: label ${v} of sample ${first + i} is outside 0..${classes - 1} (${classes} classes in ${NPY_MANIFEST})`);
      }
      labels[first + i] = v;
    }
  }
  return labels;
}

/** One split of a `.npy` dataset directory: labels in memory, features read by row when asked for. */
export class NpyDataset implements Dataset {
  readonly size: number;
  readonly numFeatures: number;
  readonly numClasses: number;
  readonly labels: Uint8Array;
  /** uint8 features are multiplied by this (1 / scale); float32 ones are returned as stored. */
  private readonly unit: Float32Array | null;
  private scratch = new Uint8Array(0);
  /** The native addon's batch reads, when it loads (the same bytes as the JS reads). */
  private readonly native = nativeAddon();

  constructor(
    readonly name: string,
    readonly split: 'train' | 'test',
    readonly classNames: readonly string[],
    private readonly featuresFile: NpyFile,
    labelsFile: NpyFile,
    scale: number,
  ) {
    // int8 is one byte a value too, but signed: read as uint8 it would turn -1 into 255.
    if (!['<f4', '|u1', '<u1'].includes(featuresFile.descr)) {
      throw new DataError(`${featuresFile.path}: features must be float32 (<f4) or uint8 (|u1), got dtype ${featuresFile.descr}`);
    }
    if (featuresFile.shape.length < 2) throw new DataError(`${featuresFile.path}: features must have shape (N, ...) with at least one value a sample, got (${featuresFile.shape.join(', ')})`);
    if (featuresFile.rows !== labelsFile.rows) {
      throw new DataError(`${name} ${split}: ${featuresFile.path} has ${featuresFile.rows} samples but ${labelsFile.path} has ${labelsFile.rows} labels`);
    }
    if (featuresFile.rows === 0) throw new DataError(`${featuresFile.path}: no samples`);
    this.size = featuresFile.rows;
    this.numFeatures = featuresFile.rowValues;
    this.numClasses = classNames.length;
    this.labels = readNpyLabels(labelsFile, this.numClasses);
    labelsFile.close();
    this.unit = featuresFile.integer ? Float32Array.from({ length: 256 }, (_, k) => k / scale) : null;
  }

  features(ids: ArrayLike<number>): Float32Array {
    const d = this.numFeatures;
    const out = new Float32Array(ids.length * d);
    const where = `${this.name} ${this.split}`;
    for (let r = 0; r < ids.length; r++) checkSampleId(ids[r]!, this.size, where);
    const { unit, featuresFile, native } = this;
    if (!unit) {
      // float32 little-endian, as this host stores it: straight into the output. A NaN or an infinity would
      // surface steps later as a NaN loss; here it is named by its sample, and the run stops on it.
      featuresFile.readRowsAt(ids, new Uint8Array(out.buffer), native);
      for (let j = 0; j < out.length; j++) {
        if (!Number.isFinite(out[j]!)) {
          const r = Math.floor(j / d);
          throw new DataError(`${featuresFile.path}: sample ${ids[r]} has ${out[j]} at feature ${j - r * d}; features must be finite (fix or drop that row)`);
        }
      }
      return out;
    }
    const bytes = this.batchBytes(ids.length * d);
    featuresFile.readRowsAt(ids, bytes, native);
    if (native) native.lookupBytes(bytes, unit, out);
    else for (let j = 0; j < out.length; j++) out[j] = unit[bytes[j]!]!;
    return out;
  }

  /** A scratch buffer of at least `n` bytes for a batch's uint8 rows, kept between batches. */
  private batchBytes(n: number): Uint8Array {
    if (this.scratch.length < n) this.scratch = new Uint8Array(n);
    return this.scratch.subarray(0, n);
  }
}

/** dataset.json, checked: the name, the class names, each split's files, the uint8 scale (default filled in). */
export interface NpyManifest {
  name: string;
  classes: string[];
  train: { features: string; labels: string };
  test: { features: string; labels: string };
  scale: number;
}

function readManifest(dir: string): NpyManifest {
  const path = join(dir, NPY_MANIFEST);
  if (!existsSync(path)) throw new DataError(`--dataset npy:${dir}: no ${NPY_MANIFEST} there (name, classes, train and test files; see docs/usage.md)`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new DataError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  const at = (field: string) => `${path}: ${field}`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new DataError(`${path}: must be a JSON object`);
  const m = raw as Record<string, unknown>;
  const name = m['name'] ?? 'npy';
  if (typeof name !== 'string') throw new DataError(`${at('name')} must be a string`);
  const classes = m['classes'];
  if (!Array.isArray(classes) || classes.length < 2 || classes.length > 255 || !classes.every((c) => typeof c === 'string')) {
    throw new DataError(`${at('classes')} must be a list of 2 to 255 class names, e.g. ["cat", "dog"]`);
  }
  const split = (key: 'train' | 'test') => {
    const s = m[key];
    if (typeof s !== 'object' || s === null || typeof (s as Record<string, unknown>)['features'] !== 'string' || typeof (s as Record<string, unknown>)['labels'] !== 'string') {
      throw new DataError(`${at(key)} must be {"features": "<file>.npy", "labels": "<file>.npy"}`);
    }
    return s as { features: string; labels: string };
  };
  const scale = m['scale'] ?? 255;
  if (typeof scale !== 'number' || !(scale > 0) || !Number.isFinite(scale)) throw new DataError(`${at('scale')} must be a positive number (uint8 features are divided by it), got ${JSON.stringify(scale)}`);
  for (const key of Object.keys(m)) {
    if (!['name', 'classes', 'train', 'test', 'scale'].includes(key)) throw new DataError(`${at(key)}: unknown field (name, classes, train, test, scale)`);
  }
  return { name, classes: classes as string[], train: split('train'), test: split('test'), scale };
}

/** Opens a `.npy` dataset directory: both splits, checked before anything trains on them. */
export function loadNpyDir(dir: string, datasetName: string): { train: NpyDataset; test: NpyDataset; manifest: NpyManifest } {
  const manifest = readManifest(dir);
  const open = (file: string) => new NpyFile(join(dir, file));
  const split = (key: 'train' | 'test') => new NpyDataset(datasetName, key, manifest.classes, open(manifest[key].features), open(manifest[key].labels), manifest.scale);
  const train = split('train');
  const test = split('test');
  if (train.numFeatures !== test.numFeatures) {
    throw new DataError(`--dataset ${datasetName}: train samples have ${train.numFeatures} values, test samples ${test.numFeatures}`);
  }
  return { train, test, manifest };
}
