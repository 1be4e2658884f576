/**
 * The synthetic dataset: Gaussian class clusters that never exist in memory.
 *
 * Sample i of a split is a pure function of (seed, split, i): its label is i mod C (so classes
 * are exactly balanced), its sub-cluster and its noise come from hashing (split key, i, j).
 * Only the labels array is stored, so N = 10^7 costs 10 MB; features(ids) regenerates rows on
 * demand with a counter-based hash plus Box–Muller.
 *
 * Shape of the task (why it is not trivial):
 *  - each class c has SUBCLUSTERS prototype vectors mu[c][k] = m[c] + u[c][k], where m[c] is a
 *    class centre at distance CLASS_RADIUS from the origin and u[c][k] a sub-cluster offset of
 *    length SUBCLUSTER_RADIUS, all in random directions drawn from the seed;
 *  - x = mu[c][k] + N(0, I): unit-variance noise in every feature, like standardised pixels;
 *  - the radii are lengths in feature space, independent of the feature count, so the difficulty
 *    stays roughly the same for any --features; they are tuned so that the class clouds overlap:
 *    a nearest-class-mean classifier gets ~85% on 4 classes and a 784-128-64-4 MLP trained with
 *    plain SGD lands in the 80-90% range, never 100%, leaving room to see what a bad batch plan costs.
 * Train and test share the prototypes (it is one task) but draw from disjoint streams: each
 * split hashes its sample index with its own derived key.
 */
import type { Dataset } from './dataset';
import { checkSampleId } from './dataset';
import { deriveSeed, mix32, SplitMix32 } from './prng';

export const SYNTHETIC_DEFAULTS = {
  samples: 60_000,
  testSamples: 4_000,
  features: 784,
  numClasses: 4,
} as const;
export const SYNTHETIC_MAX_SAMPLES = 10_000_000;

/**
 * Rows generated once are kept when the whole split fits in this many bytes (float32): 60,000 x 784 is
 * 188 MB, 10,000,000 x 784 (31 GB) is never kept. Generating a row costs ~30 ns a value (a log and two
 * hashes), which at 128 x 784 values a step was a trainer's largest cost after the gradient itself; a kept
 * row is a 3 KB copy. Pass 0 as `cacheBytes` to always regenerate.
 */
export const SYNTHETIC_CACHE_BYTES = 256 * 1024 * 1024;

export const SUBCLUSTERS = 2;
export const CLASS_RADIUS = 2.2;
export const SUBCLUSTER_RADIUS = 1.5;

// Tags that keep the derived seeds of the different uses apart.
const TAG_PROTOTYPES = 1;
const TAG_SPLIT = { train: 2, test: 3 } as const;
const TAG_COLUMNS = 4;
const TAG_SUBCLUSTER = 5;

const INV_2_POW_32 = 1 / 4294967296;
const TWO_PI = 2 * Math.PI;

// Box–Muller's cos/sin cost more than everything else in features(); a 2^16-entry table of the
// angle (resolution 1e-4 rad, invisible at float32 noise scale) halves the time of a batch.
const ANGLE_BITS = 16;
const COS_TABLE = new Float64Array(1 << ANGLE_BITS);
const SIN_TABLE = new Float64Array(1 << ANGLE_BITS);
for (let k = 0; k < COS_TABLE.length; k++) {
  const angle = (TWO_PI * (k + 0.5)) / COS_TABLE.length;
  COS_TABLE[k] = Math.cos(angle);
  SIN_TABLE[k] = Math.sin(angle);
}

export interface SyntheticOptions {
  seed: number;
  samples: number;
  testSamples: number;
  features: number;
  numClasses: number;
  /** Keep generated rows when a split fits in this many bytes (default SYNTHETIC_CACHE_BYTES). */
  cacheBytes?: number;
}

export function createSynthetic(opts: SyntheticOptions): { train: Dataset; test: Dataset } {
  const prototypes = makePrototypes(opts.seed, opts.numClasses, opts.features);
  const columnKeys = makeColumnKeys(opts.seed, opts.features);
  const subclusterKey = deriveSeed(opts.seed, TAG_SUBCLUSTER);
  const make = (split: 'train' | 'test', size: number) =>
    new SyntheticDataset(
      split,
      size,
      opts.numClasses,
      opts.features,
      prototypes,
      columnKeys,
      subclusterKey,
      deriveSeed(opts.seed, TAG_SPLIT[split]),
      size * opts.features * 4 <= (opts.cacheBytes ?? SYNTHETIC_CACHE_BYTES),
    );
  return { train: make('train', opts.samples), test: make('test', opts.testSamples) };
}

export class SyntheticDataset implements Dataset {
  readonly name = 'synthetic';
  readonly labels: Uint8Array;
  readonly classNames: readonly string[];
  /** Kept rows (allocated on first use, when `keepRows`), and which of them have been generated. */
  private kept: { rows: Float32Array; made: Uint8Array } | null = null;

  constructor(
    readonly split: 'train' | 'test',
    readonly size: number,
    readonly numClasses: number,
    readonly numFeatures: number,
    /** [numClasses * SUBCLUSTERS, numFeatures], row (c * SUBCLUSTERS + k) is mu[c][k]. */
    private readonly prototypes: Float32Array,
    /** One random key per feature column (plus a pad so Box–Muller may read column j + 1 past an odd end). */
    private readonly columnKeys: Uint32Array,
    /** Key of the sub-cluster draw, kept apart from every column key. */
    private readonly subclusterKey: number,
    private readonly splitKey: number,
    /** Keep every generated row (the split fits in the cache budget); the values are the same either way. */
    private readonly keepRows = false,
  ) {
    this.labels = new Uint8Array(size);
    for (let i = 0; i < size; i++) this.labels[i] = i % numClasses;
    this.classNames = Array.from({ length: numClasses }, (_, c) => `class ${c}`);
  }

  features(ids: ArrayLike<number>): Float32Array {
    const d = this.numFeatures;
    const out = new Float32Array(ids.length * d);
    if (this.keepRows) this.kept ??= { rows: new Float32Array(this.size * d), made: new Uint8Array(this.size) };
    const kept = this.kept;
    const where = `${this.name} ${this.split}`;
    for (let r = 0; r < ids.length; r++) {
      const id = ids[r];
      checkSampleId(id, this.size, where);
      if (!kept) {
        this.writeSample(id, out, r * d);
        continue;
      }
      if (!kept.made[id]) {
        this.writeSample(id, kept.rows, id * d);
        kept.made[id] = 1;
      }
      out.set(kept.rows.subarray(id * d, (id + 1) * d), r * d);
    }
    return out;
  }

  private writeSample(id: number, out: Float32Array, offset: number): void {
    const d = this.numFeatures;
    const keys = this.columnKeys;
    // Row key: a bijection of the index, so distinct samples never share a key. Each value is
    // then hash(rowKey + columnKey[j]); random column keys (rather than j * constant) keep the
    // streams of two samples from being shifted copies of each other.
    const rowKey = mix32((this.splitKey + Math.imul(id, 0x9e3779b9)) >>> 0);
    const sub = mix32((rowKey + this.subclusterKey) >>> 0) % SUBCLUSTERS;
    const proto = (this.labels[id] * SUBCLUSTERS + sub) * d;
    const p = this.prototypes;
    for (let j = 0; j < d; j += 2) {
      // Box–Muller: two uniforms give two independent standard normals.
      const u1 = (mix32((rowKey + keys[j]) >>> 0) + 1) * INV_2_POW_32; // (0, 1], log-safe
      const angle = mix32((rowKey + keys[j + 1]) >>> 0) >>> (32 - ANGLE_BITS);
      const radius = Math.sqrt(-2 * Math.log(u1));
      out[offset + j] = p[proto + j] + radius * COS_TABLE[angle];
      if (j + 1 < d) out[offset + j + 1] = p[proto + j + 1] + radius * SIN_TABLE[angle];
    }
  }
}

/** mu[c][k] = CLASS_RADIUS * dir(c) + SUBCLUSTER_RADIUS * dir(c, k), directions drawn from the seed. */
function makePrototypes(seed: number, numClasses: number, d: number): Float32Array {
  const rng = new SplitMix32(deriveSeed(seed, TAG_PROTOTYPES));
  const protos = new Float32Array(numClasses * SUBCLUSTERS * d);
  for (let c = 0; c < numClasses; c++) {
    const centre = randomDirection(rng, d, CLASS_RADIUS);
    for (let k = 0; k < SUBCLUSTERS; k++) {
      const offset = randomDirection(rng, d, SUBCLUSTER_RADIUS);
      const row = (c * SUBCLUSTERS + k) * d;
      for (let j = 0; j < d; j++) protos[row + j] = centre[j] + offset[j];
    }
  }
  return protos;
}

/** A uniformly random direction (normalised Gaussian vector) scaled to `length`. */
function randomDirection(rng: SplitMix32, d: number, length: number): Float64Array {
  const v = new Float64Array(d);
  let norm2 = 0;
  for (let j = 0; j < d; j++) {
    const u1 = 1 - rng.nextFloat();
    const u2 = rng.nextFloat();
    v[j] = Math.sqrt(-2 * Math.log(u1)) * Math.cos(TWO_PI * u2);
    norm2 += v[j] * v[j];
  }
  const scale = length / Math.sqrt(norm2);
  for (let j = 0; j < d; j++) v[j] *= scale;
  return v;
}

/** One key per column, plus a spare so Box–Muller can read column j + 1 past an odd end. */
function makeColumnKeys(seed: number, d: number): Uint32Array {
  const rng = new SplitMix32(deriveSeed(seed, TAG_COLUMNS));
  const keys = new Uint32Array(d + 1);
  for (let j = 0; j < keys.length; j++) keys[j] = rng.nextUint32();
  return keys;
}
