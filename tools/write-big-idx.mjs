#!/usr/bin/env node
/*
 * A large IDX source for the 10M-sample figure of docs/findings.md ("Your own data at 10M samples"): N training
 * images of Fashion-MNIST classes 0-3 deformed by id (--dataset fashion-mnist-deformed, rounded back to bytes),
 * and the 4,000 real test images of those classes, as four uncompressed IDX files in MNIST layout. What
 * `shardlab data import DIR OUT` then converts like anyone's IDX files. Uses the built libs (npm run prepare).
 *
 *   node tools/write-big-idx.mjs DIR [N]        (default N = 10,000,000: 7.3 GiB)
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const { loadDataset } = require('../libs/data/dist/index.js');

const [dir, n = '10000000'] = process.argv.slice(2);
if (!dir) {
  process.stderr.write('usage: node tools/write-big-idx.mjs DIR [N]\n');
  process.exit(2);
}
const samples = Number(n);
mkdirSync(dir, { recursive: true });
const { train, test } = loadDataset({ dataset: 'fashion-mnist-deformed', classes: [0, 1, 2, 3], samples, seed: 1 });

/** Writes `d`'s first `count` samples as IDX images (bytes: round(255 x value)) and labels. */
function write(prefix, d, count) {
  const images = openSync(join(dir, `${prefix}-images-idx3-ubyte`), 'w');
  const header = Buffer.alloc(16);
  header.writeUInt32BE(0x00000803, 0);
  header.writeUInt32BE(count, 4);
  header.writeUInt32BE(28, 8);
  header.writeUInt32BE(28, 12);
  writeSync(images, header);
  const started = Date.now();
  for (let first = 0; first < count; first += 4096) {
    const ids = Array.from({ length: Math.min(4096, count - first) }, (_, i) => first + i);
    const x = d.features(ids);
    const bytes = Buffer.alloc(x.length);
    for (let i = 0; i < x.length; i++) bytes[i] = Math.round(255 * x[i]);
    writeSync(images, bytes);
    if (first % (4096 * 250) === 0) process.stderr.write(`${prefix}: ${first} of ${count} images, ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  }
  closeSync(images);
  const labels = openSync(join(dir, `${prefix}-labels-idx1-ubyte`), 'w');
  const lh = Buffer.alloc(8);
  lh.writeUInt32BE(0x00000801, 0);
  lh.writeUInt32BE(count, 4);
  writeSync(labels, lh);
  writeSync(labels, Buffer.from(d.labels.subarray(0, count)));
  closeSync(labels);
}
write('train', train, samples);
write('t10k', test, test.size);
process.stderr.write(`wrote ${samples} training and ${test.size} test images to ${dir}\n`);
