import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { MNIST_LAYOUT_FILES, deriveSeed } from '@shardlab/data';
import { DatasetWriter, type FeatureType, type Split, type WrittenDataset } from './dataset-writer';
import { ImportError } from './errors';
import { csvSamples } from './sources/csv';
import type { ImageShape } from './sources/image';
import { imageFolderLayout, imageFolderSamples } from './sources/image-folder';
import { idxClassNames, idxSamples } from './sources/idx';
import { parquetSamples, planParquet } from './sources/parquet';
import type { Sample } from './sources/sample';

export type ImportFormat = 'csv' | 'image-folder' | 'parquet' | 'idx';
export const IMPORT_FORMATS: readonly ImportFormat[] = ['csv', 'image-folder', 'parquet', 'idx'];

export interface ImportOptions {
  source: string;
  /** The dataset directory to write. */
  out: string;
  format: ImportFormat | 'auto';
  /** CSV, Parquet: the label column. */
  label: string;
  /** Parquet: the image column (null: a Hugging Face image struct if there is one, else the numeric columns). */
  image: string | null;
  /** Images: what each is resized and converted to. */
  imageShape: ImageShape;
  /** Sources without their own test split: the share of samples drawn for it (by a hash of the seed and the sample's position). */
  testFraction: number;
  seed: number;
  /** The dataset's name in dataset.json (default: the directory's name). */
  name: string | null;
  /** Replace `out` if it exists. */
  overwrite: boolean;
  /** Called now and then with the samples written so far. */
  progress?: (samples: number) => void;
  /** Stops the import (Ctrl-C): what was written is removed. */
  signal?: AbortSignal;
}

export interface ImportSummary extends WrittenDataset {
  format: ImportFormat;
  /** Source files left out (a Parquet validation split). */
  skipped: string[];
  seconds: number;
}

/** What SRC (which exists) is: a .csv or .parquet file, a directory of .parquet files, of IDX files, or of class folders. */
export function detectFormat(source: string): ImportFormat {
  if (statSync(source).isFile()) {
    const ext = extname(source).toLowerCase();
    if (ext === '.csv') return 'csv';
    if (ext === '.parquet') return 'parquet';
    throw new ImportError(`${source}: cannot tell the format from the name (.csv, .parquet; or a directory of images, Parquet or IDX files); say it with --format`);
  }
  const entries = readdirSync(source, { recursive: true }) as string[];
  if (entries.some((e) => e.endsWith('.parquet'))) return 'parquet';
  if (entries.some((e) => basename(e).startsWith(MNIST_LAYOUT_FILES.trainImages))) return 'idx';
  return 'image-folder';
}

/** A position's split when the source has none: the same for the same seed, whatever the run. */
export function drawnSplit(seed: number, position: number, testFraction: number): Split {
  return deriveSeed(seed, position) / 4294967296 < testFraction ? 'test' : 'train';
}

/**
 * Converts SRC into a dataset directory, once: every sample's features as one row of a .npy file (uint8 for
 * images and IDX, float32 for numbers), its label as a class index, and dataset.json. Nothing is left at `out`
 * unless the whole dataset was written.
 */
export async function importDataset(o: ImportOptions): Promise<ImportSummary> {
  const started = performance.now();
  if (!existsSync(o.source)) throw new ImportError(`${o.source}: no such file or directory`);
  const format = o.format === 'auto' ? detectFormat(o.source) : o.format;
  let samples: AsyncIterable<Sample> | Iterable<Sample>;
  let classNames: readonly string[] | null = null;
  let featureType: FeatureType = 'uint8';
  let skipped: string[] = [];
  if (format === 'csv') {
    samples = csvSamples(o.source, o.label);
    featureType = 'float32';
  } else if (format === 'image-folder') {
    const layout = imageFolderLayout(o.source);
    classNames = layout.classes;
    samples = imageFolderSamples(layout, o.imageShape);
  } else if (format === 'parquet') {
    const plan = await planParquet(o.source, o.label, o.image);
    classNames = plan.classNames;
    featureType = plan.imageColumn ? 'uint8' : 'float32';
    skipped = plan.skipped;
    samples = parquetSamples(plan, o.label, o.imageShape);
  } else {
    classNames = idxClassNames(o.source);
    samples = idxSamples(o.source, classNames);
  }
  // A Hugging Face ClassLabel stores indices: the label column's values are positions in its names.
  const named = format === 'parquet' && classNames;
  const writer = new DatasetWriter(o.out, featureType, classNames, o.overwrite);
  let position = 0;
  let lastProgress = performance.now();
  try {
    for await (const s of samples) {
      if (o.signal?.aborted) throw new ImportError(`interrupted after ${position} samples; nothing was left at ${o.out}`);
      const label = named ? (classNames![Number(s.label)] ?? s.label) : s.label;
      writer.add(s.split ?? drawnSplit(o.seed, position, o.testFraction), s.features, s.shape, label, s.where);
      position++;
      if (o.progress && performance.now() - lastProgress > 1000) {
        lastProgress = performance.now();
        o.progress(position);
      }
    }
    const written = writer.finish(o.name ?? basename(resolve(o.out)));
    return { ...written, format, skipped, seconds: (performance.now() - started) / 1000 };
  } catch (err) {
    writer.abort();
    throw err;
  }
}

