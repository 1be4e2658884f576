#!/usr/bin/env node
/*
 * The contact sheet of --dataset fashion-mnist-deformed (docs/img/deformed-fashion-mnist.png): one row per
 * Fashion-MNIST class, its first training image on the left, then deformations of it at strength 1 (the
 * default; ids base + k x 60,000, so each is what a run would train on) and, after a gap, at strength 2.
 * Uses the built libs (npm run prepare) and Fashion-MNIST (the Debian package dataset-fashion-mnist).
 *
 *   node tools/contact-sheet.mjs [OUT.png] [--seed N]
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { crc32, deflateSync } from 'node:zlib';

const require = createRequire(import.meta.url);
const { loadDataset } = require('../libs/data/dist/index.js');

const args = process.argv.slice(2);
const seedAt = args.indexOf('--seed');
const seed = seedAt >= 0 ? Number(args.splice(seedAt, 2)[1]) : 1;
const out = args[0] ?? 'docs/img/deformed-fashion-mnist.png';

const ZOOM = 3;
const GAP = 4;
const PER_STRENGTH = 6;
const STRENGTHS = [1, 2];
const SIDE = 28 * ZOOM;

const real = loadDataset({ dataset: 'fashion-mnist', seed }).train;
const sets = STRENGTHS.map((deformation) => loadDataset({ dataset: 'fashion-mnist-deformed', seed, samples: 60_000 * (PER_STRENGTH + 1), deformation }).train);
const rows = real.numClasses;
const cols = 1 + STRENGTHS.length * PER_STRENGTH;
const width = cols * SIDE + (cols - 1) * GAP + (STRENGTHS.length) * 3 * GAP;
const height = rows * SIDE + (rows - 1) * GAP;
const gray = new Uint8Array(width * height).fill(200);

function blit(row, x0, features) {
  const y0 = row * (SIDE + GAP);
  for (let y = 0; y < SIDE; y++)
    for (let x = 0; x < SIDE; x++) gray[(y0 + y) * width + x0 + x] = 255 - Math.round(255 * features[Math.floor(y / ZOOM) * 28 + Math.floor(x / ZOOM)]);
}

for (let c = 0; c < rows; c++) {
  const base = real.labels.indexOf(c);
  let x = 0;
  blit(c, x, real.features([base]));
  x += SIDE + GAP;
  STRENGTHS.forEach((_, s) => {
    x += 3 * GAP;
    for (let k = 1; k <= PER_STRENGTH; k++) {
      blit(c, x, sets[s].features([base + k * 60_000]));
      x += SIDE + GAP;
    }
  });
}

/** A grayscale PNG: signature, IHDR, one IDAT of filter-0 rows, IEND. */
function png(w, h, pixels) {
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 0, 0, 0, 0], 8); // 8-bit grayscale, no interlace
  const raw = Buffer.alloc(h * (w + 1));
  for (let y = 0; y < h; y++) raw.set(pixels.subarray(y * w, (y + 1) * w), y * (w + 1) + 1);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

writeFileSync(out, png(width, height, gray));
process.stderr.write(`wrote ${out}: ${rows} classes x (1 base + ${PER_STRENGTH} deformations at strength ${STRENGTHS.join(' and ')}), seed ${seed}\n`);
