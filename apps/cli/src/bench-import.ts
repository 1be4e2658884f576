import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { SplitMix32 } from '@shardlab/data';
import { importDataset, type ImportOptions } from '@shardlab/data-import';

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
