import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { NPY_MANIFEST, SplitMix32, loadDataset, npyHeader, type Dataset } from '@shardlab/data';
import { importDataset, type ImportOptions } from '@shardlab/data-import';
import { resolveConfig } from '@shardlab/experiment';
import { parseMetrics } from '@shardlab/report';
import { runEmbedded } from './embedded';

/** CSV rows of 784 features for the figure: ~70 MB of text. */
export const IMPORT_CSV_ROWS = 20_000;
/** 28 x 28 grey PNG files for the figure, in 4 class folders. */
export const IMPORT_IMAGES = 4_000;

/**
 * Section 9: `shardlab data import` throughput, from sources written here (the page cache holds them): a CSV of
 * IMPORT_CSV_ROWS x 784 numbers, and an image folder of IMPORT_IMAGES PNG files (decoded by sharp).
 */
export async function importThroughput(): Promise<string[][]> {
  const dir = mkdtempSync(join(tmpdir(), 'shardlab-bench-import-'));
  const rand = new SplitMix32(11);
  try {
    const lines = ['label,' + Array.from({ length: 784 }, (_, j) => `p${j}`).join(',')];
    for (let i = 0; i < IMPORT_CSV_ROWS; i++) lines.push(`${i % 4},` + Array.from({ length: 784 }, () => rand.nextInt(256) / 255).map((v) => v.toFixed(4)).join(','));
    writeFileSync(join(dir, 'data.csv'), lines.join('\n') + '\n');
    for (let i = 0; i < IMPORT_IMAGES; i++) {
      const cls = join(dir, 'images', `class-${i % 4}`);
      mkdirSync(cls, { recursive: true });
      const pixels = Buffer.alloc(784);
      for (let j = 0; j < 784; j++) pixels[j] = rand.nextInt(256);
      await sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(join(cls, `${i}.png`));
    }
    const base = (source: string, out: string): ImportOptions => ({
      source: join(dir, source),
      out: join(dir, out),
      format: 'auto',
      label: 'label',
      image: null,
      imageShape: { width: 28, height: 28, channels: 1 },
      testFraction: 0.1,
      seed: 1,
      name: null,
      overwrite: false,
    });
    const rows: string[][] = [];
    for (const [what, source, out] of [
      [`CSV, ${IMPORT_CSV_ROWS} rows x 784 numbers`, 'data.csv', 'csv-out'],
      [`image folder, ${IMPORT_IMAGES} PNG 28 x 28 grey`, 'images', 'images-out'],
    ] as const) {
      const s = await importDataset(base(source, out));
      const n = s.train.samples + s.test.samples;
      rows.push([what, s.seconds.toFixed(2), (n / s.seconds).toFixed(0)]);
    }
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes `d` as a .npy split (float32 features as the generator gives them, uint8 labels) into `dir`. */
function writeSplit(dir: string, prefix: string, d: Dataset): void {
  const fd = openSync(join(dir, `${prefix}-x.npy`), 'w');
  writeSync(fd, npyHeader('<f4', [d.size, d.numFeatures]));
  for (let first = 0; first < d.size; first += 1024) {
    const ids = Array.from({ length: Math.min(1024, d.size - first) }, (_, i) => first + i);
    const x = d.features(ids);
    writeSync(fd, new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
  }
  closeSync(fd);
  writeFileSync(join(dir, `${prefix}-y.npy`), Buffer.concat([npyHeader('|u1', [d.size]), Buffer.from(d.labels.subarray(0, d.size))]));
}

/**
 * Section 10: 4 trainers on a .npy copy of the synthetic set against the synthetic set itself, the same run
 * otherwise: what reading rows by sample id from files costs end to end, beside generating them.
 */
export async function ownDataEndToEnd(samples: number, batch: number, steps: number, warmup: number): Promise<string[][]> {
  const dir = mkdtempSync(join(tmpdir(), 'shardlab-bench-own-'));
  try {
    const { train, test } = loadDataset({ dataset: 'synthetic', seed: 7, samples, testSamples: 500 });
    mkdirSync(join(dir, 'data'));
    writeSplit(join(dir, 'data'), 'train', train);
    writeSplit(join(dir, 'data'), 'test', test);
    const classes = Array.from({ length: train.numClasses }, (_, k) => `class-${k}`);
    writeFileSync(join(dir, 'data', NPY_MANIFEST), JSON.stringify({ name: 'synthetic-copy', classes, train: { features: 'train-x.npy', labels: 'train-y.npy' }, test: { features: 'test-x.npy', labels: 'test-y.npy' } }));
    const rows: string[][] = [];
    let synthetic = NaN;
    for (const dataset of ['synthetic', `npy:${join(dir, 'data')}`]) {
      const out = join(dir, `run-${rows.length}`);
      const data = dataset === 'synthetic' ? { samples, testSamples: 500 } : {};
      const config = resolveConfig({ dataset, ...data, strategy: 'iid', workers: 4, batchSize: batch, steps, evalEvery: steps, gradientMetricsEvery: steps, seed: 7 });
      const { summary } = await runEmbedded(config, { out, port: 0, quiet: true });
      if (summary.status !== 'completed') throw new Error(summary.error ?? 'run failed');
      const { steps: records } = parseMetrics(readFileSync(join(out, 'metrics.jsonl'), 'utf8'));
      const seconds = (records.at(-1)!.elapsedSeconds - records[warmup]!.elapsedSeconds) / (records.length - 1 - warmup);
      const samplesPerSecond = (4 * batch) / seconds;
      if (dataset === 'synthetic') synthetic = samplesPerSecond;
      rows.push([dataset === 'synthetic' ? `synthetic, ${samples} x 784 (generated)` : `npy:<dir>, the same ${samples} x 784 float32`, summary.collective ?? '-', samplesPerSecond.toFixed(0), `${((100 * samplesPerSecond) / synthetic).toFixed(0)}%`]);
    }
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
