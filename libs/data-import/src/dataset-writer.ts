import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { NPY_MANIFEST, npyHeader } from '@shardlab/data';
import { ImportError } from './errors';

/*
 * Writes a shardlab dataset directory (docs/usage.md, "Your own data"): dataset.json beside train-x.npy,
 * train-y.npy, test-x.npy and test-y.npy, row by row, so memory does not grow with the samples (labels aside: one
 * byte a sample). Everything goes into a hidden directory beside the target, renamed to it only when the last
 * file is whole, so an interrupted import leaves no directory that looks complete.
 */

export type Split = 'train' | 'test';
/** Features as stored: uint8 (images; divided by `scale` when read) or float32 (anything else). */
export type FeatureType = 'uint8' | 'float32';

/** Bytes reserved for a features file's header: the sample count is known only at the end, when it is rewritten in place. */
const HEADER_BYTES = 128;

/** The most classes a dataset has (labels are stored in one byte). */
export const MAX_CLASSES = 255;

export interface WrittenSplit {
  samples: number;
  /** Per class (in the final order), the samples of this split. */
  classCounts: number[];
}

export interface WrittenDataset {
  dir: string;
  name: string;
  classes: string[];
  /** One sample's shape, e.g. [28, 28] or [784]. */
  sampleShape: number[];
  featureType: FeatureType;
  train: WrittenSplit;
  test: WrittenSplit;
}

/** Rows are gathered into writes of this many bytes (one system call a row cost more than parsing it). */
const WRITE_BYTES = 1 << 20;

class SplitFile {
  private fd: number;
  samples = 0;
  /** Labels as provisional class indices (order of first appearance), remapped at the end. */
  private labels = new Uint8Array(1024);
  private readonly pending = Buffer.alloc(WRITE_BYTES);
  private used = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
    writeSync(this.fd, Buffer.alloc(HEADER_BYTES));
  }

  add(bytes: Uint8Array, label: number): void {
    if (this.used + bytes.length > WRITE_BYTES) this.flush();
    if (bytes.length > WRITE_BYTES) writeSync(this.fd, bytes);
    else {
      this.pending.set(bytes, this.used);
      this.used += bytes.length;
    }
    if (this.samples === this.labels.length) {
      const grown = new Uint8Array(this.labels.length * 2);
      grown.set(this.labels);
      this.labels = grown;
    }
    this.labels[this.samples++] = label;
  }

  flush(): void {
    if (this.used > 0) writeSync(this.fd, this.pending, 0, this.used);
    this.used = 0;
  }

  /**
   * Writes the header for the rows written (reserved at the start of the file) and closes the file. Idempotent,
   * so that an abort after a finish that failed half-way closes nothing twice.
   */
  close(header?: Buffer): void {
    if (this.fd < 0) return;
    try {
      if (header) {
        this.flush();
        writeSync(this.fd, header, 0, header.length, 0);
      }
    } finally {
      closeSync(this.fd);
      this.fd = -1;
    }
  }

  /** The labels, remapped from provisional to final class indices. */
  finalLabels(remap: readonly number[]): Uint8Array {
    return this.labels.subarray(0, this.samples).map((l) => remap[l]!);
  }
}

export class DatasetWriter {
  /** The directory being written: hidden, beside the target. */
  private readonly partial: string;
  private readonly files: Record<Split, SplitFile>;
  /** Class labels as the source names them, in order of first appearance (provisional indices). */
  private readonly seen: string[] = [];
  private readonly index = new Map<string, number>();
  private sampleShape: number[] | null = null;
  private rowValues = 0;
  private finished = false;

  /**
   * @param dir the dataset directory to write; refused if it exists, unless `overwrite`
   * @param featureType uint8 or float32 features
   * @param classNames the classes in their final order when the source says them (image sub-folders, a Hugging
   *   Face ClassLabel); otherwise (null) the labels found, sorted as numbers when they all are integers, else as text
   */
  constructor(
    readonly dir: string,
    readonly featureType: FeatureType,
    private readonly classNames: readonly string[] | null,
    overwrite = false,
  ) {
    const target = resolve(dir);
    if (existsSync(target) && !overwrite) throw new ImportError(`${dir} exists already; choose a new directory (or --force to replace it)`);
    mkdirSync(dirname(target), { recursive: true });
    this.partial = join(dirname(target), `.${basename(target)}.partial-${process.pid}`);
    rmSync(this.partial, { recursive: true, force: true });
    mkdirSync(this.partial);
    this.files = { train: new SplitFile(join(this.partial, 'train-x.npy')), test: new SplitFile(join(this.partial, 'test-x.npy')) };
    if (classNames) classNames.forEach((c) => this.classIndex(c));
  }

  /** Adds one sample: its features (one row, `shape` values) and its class as the source names it. */
  add(split: Split, features: Uint8Array | Float32Array, shape: readonly number[], label: string, where: string): void {
    if (!this.sampleShape) {
      this.sampleShape = [...shape];
      this.rowValues = shape.reduce((a, b) => a * b, 1);
    } else if (shape.length !== this.sampleShape.length || shape.some((d, i) => d !== this.sampleShape![i])) {
      throw new ImportError(`${where}: a sample of shape (${shape.join(', ')}), but the first one was (${this.sampleShape.join(', ')}); every sample must have the same shape`);
    }
    if (features.length !== this.rowValues) throw new ImportError(`${where}: ${features.length} values, expected ${this.rowValues}`);
    if ((this.featureType === 'uint8') !== features instanceof Uint8Array) throw new ImportError(`${where}: ${this.featureType} features expected`);
    if (features instanceof Float32Array) {
      for (let j = 0; j < features.length; j++) {
        if (!Number.isFinite(features[j]!)) throw new ImportError(`${where}: value ${j} is ${features[j]}; features must be finite`);
      }
    }
    const known = this.index.get(label);
    if (known === undefined && this.classNames) throw new ImportError(`${where}: class ${JSON.stringify(label)} is not one of the ${this.classNames.length} classes (${this.classNames.join(', ')})`);
    const provisional = known ?? this.classIndex(label);
    if (provisional >= MAX_CLASSES) throw new ImportError(`${where}: more than ${MAX_CLASSES} distinct labels; is the label column the right one?`);
    this.files[split].add(new Uint8Array(features.buffer, features.byteOffset, features.byteLength), provisional);
  }

  /**
   * Writes the labels, the headers and dataset.json, then renames the directory into place. A refusal (no
   * samples, one class) or a failed write leaves the writer to abort(), which removes what was written.
   */
  finish(name: string): WrittenDataset {
    if (this.finished) throw new Error('DatasetWriter: finished already');
    const shape = this.sampleShape;
    if (!shape) throw new ImportError('no samples found');
    for (const split of ['train', 'test'] as const) {
      if (this.files[split].samples === 0) throw new ImportError(`the ${split} split has no samples${split === 'test' ? ' (raise --test-fraction, or give the source a test split)' : ''}`);
    }
    const classes = this.classNames ? [...this.classNames] : sortedClasses(this.seen);
    if (classes.length < 2) throw new ImportError(`one class only (${classes.join(', ')}): a dataset needs at least 2`);
    const remap = this.seen.map((c) => classes.indexOf(c));
    const descr = this.featureType === 'uint8' ? '|u1' : '<f4';
    const written = {} as Record<Split, WrittenSplit>;
    for (const split of ['train', 'test'] as const) {
      const f = this.files[split];
      f.close(npyHeader(descr, [f.samples, ...shape], HEADER_BYTES));
      const labels = f.finalLabels(remap);
      writeFileSync(join(this.partial, `${split}-y.npy`), Buffer.concat([npyHeader('|u1', [labels.length]), labels]));
      const classCounts = new Array<number>(classes.length).fill(0);
      for (const l of labels) classCounts[l]!++;
      written[split] = { samples: f.samples, classCounts };
    }
    const manifest = {
      name,
      classes,
      train: { features: 'train-x.npy', labels: 'train-y.npy' },
      test: { features: 'test-x.npy', labels: 'test-y.npy' },
      scale: 255,
    };
    writeFileSync(join(this.partial, NPY_MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
    const target = resolve(this.dir);
    rmSync(target, { recursive: true, force: true });
    renameSync(this.partial, target);
    this.finished = true;
    return { dir: this.dir, name, classes, sampleShape: shape, featureType: this.featureType, ...written };
  }

  /** Removes what was written (an import that failed or was interrupted). */
  abort(): void {
    if (this.finished) return;
    this.finished = true;
    for (const f of Object.values(this.files)) f.close();
    rmSync(this.partial, { recursive: true, force: true });
  }

  private classIndex(label: string): number {
    const i = this.seen.length;
    this.seen.push(label);
    this.index.set(label, i);
    return i;
  }
}

/** Labels found in the data, as classes: in numeric order when every one is an integer ("0".."9"), else sorted as text. */
export function sortedClasses(labels: readonly string[]): string[] {
  const numeric = labels.every((l) => /^-?\d+$/.test(l));
  return [...labels].sort(numeric ? (a, b) => Number(a) - Number(b) : (a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
