import { describe, it, expect } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DATASET_NAMES } from './dataset';
import { DataError } from './errors';
import { loadDataset } from './load';

function idxBytes(dims: number[], data: number[]): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, k) => header.writeUInt32BE(d, 4 + 4 * k));
  return Buffer.concat([header, Buffer.from(data)]);
}

/** 1-pixel images whose pixel value is 10 * id + label, so rows can be traced back. */
function withIdxDir(trainLabels: number[], testLabels: number[], fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'shardlab-load-'));
  const write = (name: string, bytes: Buffer) => writeFileSync(join(dir, `${name}.gz`), gzipSync(bytes));
  write('train-images-idx3-ubyte', idxBytes([trainLabels.length, 1, 1], trainLabels.map((l, i) => 10 * i + l)));
  write('train-labels-idx1-ubyte', idxBytes([trainLabels.length], trainLabels));
  write('t10k-images-idx3-ubyte', idxBytes([testLabels.length, 1, 1], testLabels.map((l, i) => 10 * i + l)));
  write('t10k-labels-idx1-ubyte', idxBytes([testLabels.length], testLabels));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true });
  }
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DataError);
    return (err as Error).message;
  }
  throw new Error('expected a DataError');
}

describe('loadDataset', () => {
  it('an unknown dataset lists the allowed names', () => {
    const msg = messageOf(() => loadDataset({ dataset: 'cifar', seed: 0 }));
    expect(msg).toMatch(/^--dataset: unknown dataset "cifar"/);
    for (const name of DATASET_NAMES) expect(msg).toContain(name);
  });

  it('idx: without a directory is an error', () => {
    expect(messageOf(() => loadDataset({ dataset: 'idx:', seed: 0 }))).toMatch(/^--dataset: idx: needs a directory/);
  });

  it('synthetic defaults: 60000 / 4000, 784 features, 4 classes', () => {
    const { train, test, description } = loadDataset({ dataset: 'synthetic', seed: 3 });
    expect([train.size, test.size, train.numFeatures, train.numClasses]).toEqual([60_000, 4_000, 784, 4]);
    expect(description).toMatch(/^synthetic \(seed 3\)/);
  });

  it('validates the synthetic fields, naming the flag', () => {
    expect(messageOf(() => loadDataset({ dataset: 'synthetic', seed: 0, samples: 10_000_001 }))).toMatch(/^--samples:/);
    expect(messageOf(() => loadDataset({ dataset: 'synthetic', seed: 0, samples: 3 }))).toMatch(/^--samples:/);
    expect(messageOf(() => loadDataset({ dataset: 'synthetic', seed: 0, testSamples: 0 }))).toMatch(/^--test-samples:/);
    expect(messageOf(() => loadDataset({ dataset: 'synthetic', seed: 0, features: 0 }))).toMatch(/^--features:/);
    expect(messageOf(() => loadDataset({ dataset: 'synthetic', seed: 0, numClasses: 1 }))).toMatch(/^--num-classes:/);
    expect(messageOf(() => loadDataset({ dataset: 'synthetic', seed: 0.5 }))).toMatch(/^--seed:/);
  });

  it('synthetic-only fields with other datasets are errors unless they are the defaults', () => {
    withIdxDir([0, 1], [0, 1], (dir) => {
      expect(loadDataset({ dataset: `idx:${dir}`, seed: 0, samples: 60_000 }).train.size).toBe(2);
      expect(messageOf(() => loadDataset({ dataset: `idx:${dir}`, seed: 0, samples: 1000 }))).toMatch(
        /^--samples: only applies to --dataset synthetic/,
      );
    });
  });
});

describe('--classes subset', () => {
  it('keeps the listed classes and relabels them by position, on train and test alike', () => {
    withIdxDir([0, 1, 2, 3, 2, 0, 3], [3, 2, 1, 0], (dir) => {
      const { train, test, description } = loadDataset({ dataset: `idx:${dir}`, seed: 0, classes: [3, 0] });
      expect(train.numClasses).toBe(2);
      expect(train.classNames).toEqual(['3', '0']);
      // Train ids 0, 3, 5, 6 have original labels 0, 3, 0, 3 -> new labels 1, 0, 1, 0.
      expect(Array.from(train.labels)).toEqual([1, 0, 1, 0]);
      expect(Array.from(train.features([0, 1, 2, 3])).map((v) => Math.round(v * 255))).toEqual([0, 33, 50, 63]);
      expect(Array.from(test.labels)).toEqual([0, 1]);
      expect(Array.from(test.features([0, 1])).map((v) => Math.round(v * 255))).toEqual([3, 30]);
      expect(description).toContain('kept classes [3 3, 0 0] as 0..1: 4 train / 2 test');
    });
  });

  it('works on synthetic data', () => {
    const whole = loadDataset({ dataset: 'synthetic', seed: 1, samples: 1000, testSamples: 100 });
    const sub = loadDataset({ dataset: 'synthetic', seed: 1, samples: 1000, testSamples: 100, classes: [2, 1] });
    expect(sub.train.size).toBe(500);
    expect(sub.test.size).toBe(50);
    expect(Array.from(sub.train.labels.subarray(0, 4))).toEqual([1, 0, 1, 0]);
    // New sample 0 is original sample 1 (label 1), new sample 1 is original 2 (label 2).
    expect(sub.train.features([0, 1])).toEqual(whole.train.features([1, 2]));
  });

  it('rejects duplicates, out-of-range classes (saying the valid range) and fewer than 2', () => {
    const spec = { dataset: 'synthetic', seed: 0, samples: 100, testSamples: 10 };
    expect(messageOf(() => loadDataset({ ...spec, classes: [0, 1, 0] }))).toBe('--classes: class 0 is listed twice');
    expect(messageOf(() => loadDataset({ ...spec, classes: [0, 4] }))).toBe(
      '--classes: 4 is out of range for synthetic (valid: 0-3)',
    );
    expect(messageOf(() => loadDataset({ ...spec, classes: [-1, 2] }))).toMatch(/^--classes: -1 is out of range/);
    expect(messageOf(() => loadDataset({ ...spec, classes: [1] }))).toMatch(/^--classes: need at least 2 classes/);
    expect(messageOf(() => loadDataset({ ...spec, classes: [] }))).toMatch(/^--classes: need at least 2 classes/);
  });
});
