import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dataFingerprint } from './fingerprint';
import { loadDataset } from './load';
import { NpyFile, npyHeader, parseNpyHeader } from './npy';
import { DEBIAN_PYTHON } from '@shardlab/testing';

/*
 * The reference writer is NumPy itself (Debian's python3-numpy, which .ci/run installs): the files are what a
 * user's `numpy.save` makes. A small writer of our own makes what NumPy would take long to write (a sparse file
 * above 2 GiB) and the malformed files.
 */
const dir = mkdtempSync(join(tmpdir(), 'shardlab-npy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function numpy(script: string): void {
  execFileSync(DEBIAN_PYTHON, ['-c', `import numpy as np, json, os\nos.chdir(${JSON.stringify(dir)})\n${script}`], { stdio: 'pipe' });
}

/** A .npy file of our own: header version 1 (or 2, 3), C order, `data` after it (or nothing: sparse). */
function writeNpy(path: string, descr: string, shape: number[], data: Uint8Array | null, opts: { version?: 1 | 2 | 3; fortran?: boolean; bytes?: number } = {}): void {
  const version = opts.version ?? 1;
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': ${opts.fortran ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  const pre = version === 1 ? 10 : 12;
  header += ' '.repeat(64 - ((pre + header.length + 1) % 64)) + '\n';
  const head = Buffer.alloc(pre + header.length);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]).copy(head);
  if (version === 1) head.writeUInt16LE(header.length, 8);
  else head.writeUInt32LE(header.length, 8);
  head.write(header, pre, 'latin1');
  const fd = openSync(path, 'w');
  writeSync(fd, head);
  if (data) writeSync(fd, data);
  if (opts.bytes !== undefined) ftruncateSync(fd, opts.bytes);
  closeSync(fd);
}

function manifest(sub: string, m: Record<string, unknown>): string {
  writeFileSync(join(dir, sub, 'dataset.json'), JSON.stringify(m));
  return `npy:${join(dir, sub)}`;
}

const CLASSES = ['a', 'b', 'c', 'd'];
const files = { train: { features: 'train-x.npy', labels: 'train-y.npy' }, test: { features: 'test-x.npy', labels: 'test-y.npy' } };

describe('npy datasets, written by NumPy', () => {
  // x[i, j] as NumPy computes it, and as we expect to read it.
  const u8 = (i: number, j: number) => (i * 31 + j * 7) % 251;
  const f32 = (i: number, j: number) => Math.fround((i - j) / 7);

  it('reads uint8 features (scaled by 1/255) and int64 labels by sample id, the last row included', () => {
    numpy(`
os.makedirs('u8', exist_ok=True)
i, j = np.meshgrid(np.arange(1000), np.arange(28 * 28), indexing='ij')
np.save('u8/train-x.npy', ((i * 31 + j * 7) % 251).astype(np.uint8).reshape(1000, 28, 28))
np.save('u8/train-y.npy', (np.arange(1000) % 4).astype(np.int64))
np.save('u8/test-x.npy', ((i[:50] * 31 + j[:50] * 7) % 251).astype(np.uint8).reshape(50, 28, 28))
np.save('u8/test-y.npy', (np.arange(50) % 4).astype(np.int32))`);
    const { train, test, description } = loadDataset({ dataset: manifest('u8', { name: 'digits', classes: CLASSES, ...files }), seed: 1 });
    expect(description).toContain('(digits): 1000 train / 50 test, 784 features, 4 classes');
    expect(train.size).toBe(1000);
    expect(train.numFeatures).toBe(784);
    expect(Array.from(train.labels.subarray(0, 6))).toEqual([0, 1, 2, 3, 0, 1]);
    expect(Array.from(test.labels.subarray(0, 5))).toEqual([0, 1, 2, 3, 0]);
    const ids = [999, 0, 517];
    const x = train.features(ids);
    ids.forEach((id, r) => {
      for (const j of [0, 1, 400, 783]) expect(x[r * 784 + j]).toBe(Math.fround(u8(id, j) / 255));
    });
    expect(() => train.features([1000])).toThrow('sample id 1000 is outside 0..999');
  });

  it('reads float32 features as stored and uint8 labels; the fingerprint of two loads agrees', () => {
    numpy(`
os.makedirs('f32', exist_ok=True)
i, j = np.meshgrid(np.arange(300), np.arange(10), indexing='ij')
np.save('f32/train-x.npy', ((i - j) / 7).astype(np.float32))
np.save('f32/train-y.npy', (np.arange(300) % 3).astype(np.uint8))
np.save('f32/test-x.npy', ((i[:20] - j[:20]) / 7).astype(np.float32))
np.save('f32/test-y.npy', (np.arange(20) % 3).astype(np.uint8))`);
    const name = manifest('f32', { classes: ['x', 'y', 'z'], ...files });
    const { train } = loadDataset({ dataset: name, seed: 1 });
    const x = train.features([299, 3]);
    for (let j = 0; j < 10; j++) {
      expect(x[j]).toBe(f32(299, j));
      expect(x[10 + j]).toBe(f32(3, j));
    }
    expect(dataFingerprint(loadDataset({ dataset: name, seed: 1 }).train)).toEqual(dataFingerprint(train));
    // --classes keeps a subset, relabelled, as for every dataset.
    const sub = loadDataset({ dataset: name, seed: 1, classes: [2, 0] }).train;
    expect(sub.size).toBe(200);
    expect(sub.labels[0]).toBe(1); // sample 0 has class 0, which is now 1
  });

  it('stops on a NaN or an infinity in a batch, naming the file, the sample and the feature', () => {
    numpy(`
os.makedirs('nan', exist_ok=True)
x = np.ones((50, 4), dtype=np.float32); x[17, 2] = np.nan; x[30, 0] = np.inf
np.save('nan/train-x.npy', x); np.save('nan/train-y.npy', (np.arange(50) % 2).astype(np.uint8))
np.save('nan/test-x.npy', np.ones((5, 4), dtype=np.float32)); np.save('nan/test-y.npy', (np.arange(5) % 2).astype(np.uint8))`);
    const { train } = loadDataset({ dataset: manifest('nan', { classes: ['a', 'b'], ...files }), seed: 1 });
    expect(() => train.features([3, 17])).toThrow(/nan\/train-x\.npy: sample 17 has NaN at feature 2; features must be finite/);
    expect(() => train.features([30])).toThrow(/sample 30 has Infinity at feature 0/);
    expect(Array.from(train.features([16, 18]))).toEqual(new Array(8).fill(1));
  });
});

describe('npy files of our own writer', () => {
  it('writes the header NumPy writes (numpy.lib.format reads it back), and reads its own', () => {
    const path = join(dir, 'ours.npy');
    writeFileSync(path, Buffer.concat([npyHeader('<i2', [3, 2]), Buffer.from(Int16Array.of(1, -2, 3, -4, 5, -6).buffer)]));
    expect(npyHeader('<i2', [3, 2]).length % 64).toBe(0);
    numpy(`a = np.load('ours.npy')\nassert a.dtype == np.int16 and a.shape == (3, 2) and a.tolist() == [[1, -2], [3, -4], [5, -6]], a`);
    const f = new NpyFile(path);
    expect([f.descr, f.rows, f.rowValues]).toEqual(['<i2', 3, 2]);
    f.close();
  });

  it('reads header versions 2 and 3', () => {
    for (const version of [2, 3] as const) {
      const path = join(dir, `v${version}.npy`);
      writeNpy(path, '<f4', [2, 3], new Uint8Array(Float32Array.of(1, 2, 3, 4, 5, 6).buffer), { version });
      const f = new NpyFile(path);
      expect([f.rows, f.rowValues]).toEqual([2, 3]);
      expect(Array.from(new Float32Array(f.readRows(1, 1).slice().buffer))).toEqual([4, 5, 6]);
      f.close();
    }
  });

  it('reads the last row of a file above 2 GiB (sparse) with a positional read', () => {
    const rows = 700_000; // x 784 float32 = 2.2 GB
    const path = join(dir, 'big.npy');
    writeNpy(path, '<f4', [rows, 784], null);
    const f0 = openSync(path, 'r+');
    const headerBytes = 128;
    const last = Float32Array.from({ length: 784 }, (_, j) => j + 0.5);
    writeSync(f0, new Uint8Array(last.buffer), 0, last.byteLength, headerBytes + (rows - 1) * 784 * 4);
    closeSync(f0);
    const f = new NpyFile(path);
    expect(f.rows).toBe(rows);
    expect(Array.from(new Float32Array(f.readRows(rows - 1, 1).slice().buffer))).toEqual(Array.from(last));
    expect(new Float32Array(f.readRows(0, 1).slice().buffer).every((v) => v === 0)).toBe(true);
    f.close();
    rmSync(path);
  });
});

describe('bad npy data gets one line naming the file and what is wrong', () => {
  const u8 = (n: number) => new Uint8Array(n);
  const make = (sub: string, parts: { trainX?: [string, number[], Uint8Array | null, object?]; trainY?: [string, number[], Uint8Array | null, object?] }, m: Record<string, unknown> = {}) => {
    const d = join(dir, sub);
    rmSync(d, { recursive: true, force: true });
    execFileSync('mkdir', ['-p', d]);
    const [xd, xs, xb, xo] = parts.trainX ?? ['|u1', [4, 3], u8(12)];
    const [yd, ys, yb, yo] = parts.trainY ?? ['|u1', [4], Uint8Array.of(0, 1, 0, 1)];
    writeNpy(join(d, 'train-x.npy'), xd, xs, xb, xo);
    writeNpy(join(d, 'train-y.npy'), yd, ys, yb, yo);
    writeNpy(join(d, 'test-x.npy'), '|u1', [1, 3], u8(3));
    writeNpy(join(d, 'test-y.npy'), '|u1', [1], u8(1));
    return () => loadDataset({ dataset: manifest(sub, { classes: ['a', 'b'], ...files, ...m }), seed: 1 });
  };

  it('refuses wrong dtypes, shapes, lengths, labels and files', () => {
    expect(make('f64', { trainX: ['<f8', [4, 3], u8(96)] })).toThrow(/train-x\.npy: dtype <f8 is not read here/);
    expect(make('i4x', { trainX: ['<i4', [4, 3], u8(48)] })).toThrow(/train-x\.npy: features must be float32 \(<f4\) or uint8/);
    expect(make('i1x', { trainX: ['|i1', [4, 3], u8(12)] })).toThrow(/train-x\.npy: features must be float32 \(<f4\) or uint8 \(\|u1\), got dtype \|i1/);
    expect(make('lengths', { trainY: ['|u1', [3], Uint8Array.of(0, 1, 0)] })).toThrow(/train-x\.npy has 4 samples but .*train-y\.npy has 3 labels/);
    expect(make('range', { trainY: ['|u1', [4], Uint8Array.of(0, 1, 2, 1)] })).toThrow(/train-y\.npy: label 2 of sample 2 is outside 0\.\.1 \(2 classes in dataset\.json\)/);
    expect(make('negative', { trainY: ['|i1', [4], Uint8Array.of(0, 255, 0, 1)] })).toThrow(/label -1 of sample 1/);
    expect(make('float-labels', { trainY: ['<f4', [4], u8(16)] })).toThrow(/train-y\.npy: labels must be integers, got dtype <f4/);
    expect(make('fortran', { trainX: ['|u1', [4, 3], u8(12), { fortran: true }] })).toThrow(/train-x\.npy: the array is in Fortran order/);
    expect(make('short', { trainX: ['|u1', [4, 3], u8(10)] })).toThrow(/train-x\.npy: 138 bytes, but its header .* says 140: truncated/);
    expect(make('scale', {}, { scale: 0 })).toThrow(/dataset\.json: scale must be a positive number/);
    expect(make('classes', {}, { classes: ['only'] })).toThrow(/dataset\.json: classes must be a list of 2 to 255 class names/);
    expect(make('unknown', {}, { shape: 3 })).toThrow(/dataset\.json: shape: unknown field/);
    expect(make('missing', {}, { train: { features: 'nope.npy', labels: 'train-y.npy' } })).toThrow(/nope\.npy: no such file/);
    writeFileSync(join(dir, 'missing', 'not.npy'), 'hello, world');
    expect(make('magic', {}, { train: { features: 'not.npy', labels: 'train-y.npy' } })).toThrow(/no such file|not a \.npy file/);
    expect(() => parseNpyHeader(Buffer.from('PK\u0003\u0004 a zip file'), 'x.npz')).toThrow('x.npz: not a .npy file');
    expect(() => loadDataset({ dataset: `npy:${join(dir, 'absent')}`, seed: 1 })).toThrow(/npy:.*absent: no dataset\.json there/);
  });
});
