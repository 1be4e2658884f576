import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nativeAvailable } from '@shardlab/native';
import { DeformedDataset, DEFORMATION, smoothedFieldBank } from './deformed';
import { DataError } from './errors';
import { dataFingerprint } from './fingerprint';
import { IdxDataset } from './idx';
import { fashionMnistAvailable, loadDataset } from './load';

/** `n` blob images, 28 x 28 bytes each: a bright disc at a place that depends on i. (Self-contained: a child process runs it too.) */
function blobPixels(n: number): Uint8Array {
  const pixels = new Uint8Array(n * 784);
  for (let i = 0; i < n; i++) {
    const cx = 8 + ((i * 5) % 12);
    const cy = 8 + ((i * 7) % 12);
    for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) pixels[i * 784 + y * 28 + x] = Math.max(0, 255 - 12 * ((x - cx) ** 2 + (y - cy) ** 2));
  }
  return pixels;
}

/** A base set of `n` blob images, labels i mod 3. */
const blobs = (n: number) => new IdxDataset('blobs', 'train', blobPixels(n), 784, Uint8Array.from({ length: n }, (_, i) => i % 3), ['a', 'b', 'c']);
const min = (x: Float32Array) => x.reduce((m, v) => Math.min(m, v), Infinity);
const max = (x: Float32Array) => x.reduce((m, v) => Math.max(m, v), -Infinity);

const sha = (x: Float32Array) => createHash('sha256').update(Buffer.from(x.buffer, x.byteOffset, x.byteLength)).digest('hex');

describe('DeformedDataset', () => {
  it('strength 0 gives every base image exactly, bit for bit', () => {
    const base = blobs(10);
    const ds = new DeformedDataset({ base, size: 35, seed: 3, strength: 0, name: 'x' });
    const ids = Array.from({ length: 35 }, (_, i) => i);
    expect(ds.features(ids)).toEqual(base.features(ids.map((i) => i % 10)));
    // Every byte value scales as the base set scales it (the deformation multiplies by 1/255).
    for (let k = 0; k < 256; k++) expect(Math.fround(k * (1 / 255))).toBe(Math.fround(k / 255));
  });

  it('keeps labels (sample i is base image i mod B), the shape and the [0, 1] range; deforms visibly but mildly', () => {
    const base = blobs(10);
    const ds = new DeformedDataset({ base, size: 1000, seed: 3, strength: 1, name: 'x' });
    expect(ds.size).toBe(1000);
    expect(ds.numFeatures).toBe(784);
    expect(Array.from(ds.labels.subarray(0, 12))).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 0, 1]);
    for (let i = 0; i < 1000; i++) expect(ds.labels[i]).toBe(base.labels[i % 10]);
    const ids = Array.from({ length: 200 }, (_, i) => 800 + i);
    const x = ds.features(ids);
    expect(x.length).toBe(200 * 784);
    expect(min(x)).toBeGreaterThanOrEqual(0);
    expect(max(x)).toBeLessThanOrEqual(1);
    // Each deformation differs from its base image, yet stays closer to it than to the other base images (a blob
    // of radius ~4.6 px moved by a few pixels keeps part of its overlap).
    const b = base.features(ids.map((i) => i % 10));
    let own = 0;
    let others = 0;
    for (let r = 0; r < 200; r++) {
      const u = x.subarray(r * 784, (r + 1) * 784);
      expect(u).not.toEqual(b.subarray(r * 784, (r + 1) * 784));
      own += correlation(u, b.subarray(r * 784, (r + 1) * 784)) / 200;
      const o = (r + 3) % 200;
      if ((ids[o]! - ids[r]!) % 10 !== 0) others += correlation(u, b.subarray(o * 784, (o + 1) * 784)) / 200;
    }
    expect(own).toBeGreaterThan(0.5);
    expect(own).toBeGreaterThan(others + 0.3);
  });

  it('same (seed, id), same bytes, in any order and any batch; another seed or id, other bytes', () => {
    const base = blobs(10);
    const a = new DeformedDataset({ base, size: 10_000_000, seed: 5, strength: 1, name: 'x' });
    const b = new DeformedDataset({ base, size: 10_000_000, seed: 5, strength: 1, name: 'x' });
    const one = a.features([9_999_999, 12, 4_000_000]);
    expect(b.features([4_000_000]).every((v, i) => v === one[2 * 784 + i])).toBe(true);
    expect(b.features([12, 9_999_999])).toEqual(Float32Array.from([...one.subarray(784, 1568), ...one.subarray(0, 784)]));
    const other = new DeformedDataset({ base, size: 10_000_000, seed: 6, strength: 1, name: 'x' });
    expect(other.features([12])).not.toEqual(a.features([12]));
    // Ids 12 and 22 deform the same base image, differently.
    expect(a.features([22])).not.toEqual(a.features([12]));
  });

  it('gives the same bytes in another process', () => {
    const base = blobs(10);
    const ids = [0, 1, 77, 123_456, 9_999_999];
    const here = sha(new DeformedDataset({ base, size: 10_000_000, seed: 11, strength: 1.5, name: 'x' }).features(ids));
    // A fresh Node process, running this library's source through the same loader vitest uses.
    const script = `
      const { DeformedDataset } = require(${JSON.stringify(join(__dirname, 'deformed.ts'))});
      const { IdxDataset } = require(${JSON.stringify(join(__dirname, 'idx.ts'))});
      ${blobPixels.toString()}
      const base = new IdxDataset('blobs', 'train', blobPixels(10), 784, Uint8Array.from({ length: 10 }, (_, i) => i % 3), ['a', 'b', 'c']);
      const x = new DeformedDataset({ base, size: 10_000_000, seed: 11, strength: 1.5, name: 'x' }).features(${JSON.stringify(ids)});
      process.stdout.write(require('node:crypto').createHash('sha256').update(Buffer.from(x.buffer)).digest('hex'));`;
    const r = spawnSync(process.execPath, ['--require', '@swc-node/register', '-e', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(here);
  });

  it.runIf(nativeAvailable())('the native kernel makes the same bytes as the TypeScript, at every strength, for every id', () => {
    const base = blobs(10);
    const ids = Array.from({ length: 300 }, (_, i) => i * 33_331);
    for (const strength of [0, 0.5, 1, 3]) {
      const ts = new DeformedDataset({ base, size: 10_000_000, seed: 9, strength, name: 'x', native: false }).features(ids);
      const cc = new DeformedDataset({ base, size: 10_000_000, seed: 9, strength, name: 'x' }).features(ids);
      expect(sha(cc)).toBe(sha(ts));
    }
  });

  it('the elastic fields have unit RMS and are smooth (neighbouring pixels move together)', () => {
    const bank = smoothedFieldBank(1, 28, 16, DEFORMATION.elasticSigma);
    expect(bank.length).toBe(16 * 784);
    for (let j = 0; j < 16; j++) {
      const f = bank.subarray(j * 784, (j + 1) * 784);
      const rms = Math.sqrt(f.reduce((s, v) => s + v * v, 0) / f.length);
      expect(rms).toBeCloseTo(1, 5);
      const right = Float32Array.from({ length: 27 * 28 }, (_, k) => f[Math.floor(k / 27) * 28 + (k % 27)]!);
      const next = Float32Array.from({ length: 27 * 28 }, (_, k) => f[Math.floor(k / 27) * 28 + (k % 27) + 1]!);
      expect(correlation(right, next)).toBeGreaterThan(0.9);
    }
  });

  it('refuses a size or strength out of range, and non-square images, in one line naming the flag', () => {
    const base = blobs(4);
    expect(() => new DeformedDataset({ base, size: 0, seed: 1, strength: 1, name: 'x' })).toThrow(new DataError('--samples: must be a positive integer, got 0'));
    expect(() => new DeformedDataset({ base, size: 10, seed: 1, strength: 4, name: 'x' })).toThrow(/^--deformation: must be in 0..3, got 4$/);
    const flat = new IdxDataset('flat', 'train', new Uint8Array(4 * 30), 30, new Uint8Array(4), ['a']);
    expect(() => new DeformedDataset({ base: flat, size: 10, seed: 1, strength: 1, name: 'x' })).toThrow(/the base images must be square, got 30 features/);
    expect(() => new DeformedDataset({ base, size: 10, seed: 1, strength: 1, name: 'x' }).features([10])).toThrow(/sample id 10 is outside 0..9/);
  });
});

const requireFashion = process.env.SHARDLAB_REQUIRE_FASHION_MNIST === '1';

describe('--dataset fashion-mnist-deformed', () => {
  it.runIf(requireFashion || fashionMnistAvailable())('deforms the Fashion-MNIST training images of --classes; tests on the real test set; the fingerprint covers seed and strength', () => {
    const { train, test, description } = loadDataset({ dataset: 'fashion-mnist-deformed', classes: [0, 1, 2, 3], seed: 1, samples: 10_000_000 });
    const real = loadDataset({ dataset: 'fashion-mnist', classes: [0, 1, 2, 3], seed: 1 });
    expect(train.size).toBe(10_000_000);
    expect(train.classNames).toEqual(['T-shirt/top', 'Trouser', 'Pullover', 'Dress']);
    // 24,000 base images of classes 0-3; labels repeat theirs.
    expect(train.labels[24_000 + 17]).toBe(real.train.labels[17]);
    expect(train.labels[9_999_999]).toBe(real.train.labels[9_999_999 % 24_000]);
    expect(test.features([0, 3999])).toEqual(real.test.features([0, 3999]));
    expect(description).toMatch(/10000000 deformations of the 24000 Fashion-MNIST training images of classes 0,1,2,3/);
    const spec = { dataset: 'fashion-mnist-deformed', classes: [0, 1, 2, 3], seed: 1, samples: 100_000 };
    const fp = dataFingerprint(loadDataset(spec).train);
    expect(dataFingerprint(loadDataset(spec).train)).toEqual(fp);
    expect(dataFingerprint(loadDataset({ ...spec, seed: 2 }).train).featuresSha256).not.toBe(fp.featuresSha256);
    expect(dataFingerprint(loadDataset({ ...spec, deformation: 0.5 }).train).featuresSha256).not.toBe(fp.featuresSha256);
    expect(loadDataset({ ...spec, samples: 100, deformation: 0 }).train.features([5, 24_005 % 100])).toEqual(real.train.features([5, 5]));
  });

  it.runIf(requireFashion || fashionMnistAvailable())('wrong settings get a one-line error naming the flag', () => {
    const err = (spec: Parameters<typeof loadDataset>[0]) => {
      try {
        loadDataset(spec);
      } catch (e) {
        expect(e).toBeInstanceOf(DataError);
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(err({ dataset: 'fashion-mnist-deformed', seed: 1, samples: 0 })).toBe('--samples: must be an integer in 1..100000000, got 0');
    expect(err({ dataset: 'fashion-mnist-deformed', seed: 1, classes: [3, 10] })).toBe('--classes: 10 is out of range for fashion-mnist (valid: 0-9)');
    expect(err({ dataset: 'fashion-mnist-deformed', seed: 1, testSamples: 99 })).toMatch(/^--test-samples: only applies to --dataset synthetic, not fashion-mnist-deformed/);
    expect(err({ dataset: 'fashion-mnist-deformed', seed: 1, deformation: -1 })).toBe('--deformation: must be in 0..3, got -1');
    expect(err({ dataset: 'fashion-mnist', seed: 1, deformation: 2 })).toBe('--deformation: only applies to --dataset fashion-mnist-deformed, not fashion-mnist');
  });
});

function correlation(u: ArrayLike<number>, v: ArrayLike<number>): number {
  const n = u.length;
  let mu = 0;
  let mv = 0;
  for (let i = 0; i < n; i++) {
    mu += u[i]!;
    mv += v[i]!;
  }
  mu /= n;
  mv /= n;
  let uv = 0;
  let uu = 0;
  let vv = 0;
  for (let i = 0; i < n; i++) {
    const a = u[i]! - mu;
    const b = v[i]! - mv;
    uv += a * b;
    uu += a * a;
    vv += b * b;
  }
  return uv / Math.sqrt(uu * vv);
}
