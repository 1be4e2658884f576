import { join } from 'node:path';
import { NpyFile, loadNpyDir } from '@shardlab/data';

/** Digits grouped by thousands: 54,000 (what import and inspect print). */
export const count = (n: number): string => n.toLocaleString('en-US');

/**
 * What a dataset directory holds, checked as a run would check it (every file against dataset.json, every label
 * in range): per split the samples, the features' shape and dtype, the labels' dtype, the samples of each class,
 * and the first sample's statistics after scaling (what the model sees).
 */
export function inspectDataset(dir: string): string {
  const { train, test, manifest: files } = loadNpyDir(dir, `npy:${dir}`);
  const lines = [`${dir}: dataset "${files.name}", ${files.classes.length} classes, uint8 features divided by ${files.scale}`];
  for (const [split, data] of [
    ['train', train],
    ['test', test],
  ] as const) {
    const x = new NpyFile(join(dir, files[split].features));
    const y = new NpyFile(join(dir, files[split].labels));
    lines.push(`  ${split}: ${count(data.size)} samples; features (${x.shape.slice(1).join(', ')}) ${x.descr} in ${files[split].features}; labels ${y.descr} in ${files[split].labels}`);
    x.close();
    y.close();
    const perClass = new Array<number>(files.classes.length).fill(0);
    for (const l of data.labels) perClass[l]!++;
    lines.push(`    per class: ${files.classes.map((c, k) => `${c} ${count(perClass[k]!)}`).join(', ')}`);
    const missing = files.classes.filter((_, k) => perClass[k] === 0);
    if (missing.length) lines.push(`    no samples of: ${missing.join(', ')}`);
  }
  const first = train.features([0]);
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let squares = 0;
  for (const v of first) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
    squares += v * v;
  }
  const mean = sum / first.length;
  const std = Math.sqrt(Math.max(0, squares / first.length - mean * mean));
  lines.push(`  train sample 0 (${files.classes[train.labels[0]!]}): ${first.length} values, min ${min.toPrecision(4)}, max ${max.toPrecision(4)}, mean ${mean.toPrecision(4)}, std ${std.toPrecision(4)}`);
  return lines.join('\n');
}
