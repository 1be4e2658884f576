import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NpyFile, loadNpyDir, readNpyLabels } from '@shardlab/data';
import { DEBIAN_PYTHON } from '@shardlab/testing';
import { drawnSplit, importDataset, type ImportOptions } from './import';
import { inspectDataset } from './inspect';

/*
 * Imports against independent writers: NumPy writes the arrays and the CSV, Pillow the images, hyparquet-writer
 * the Parquet files. Each import must give the very values written (float32 from the CSV's shortest repr, uint8
 * pixels of images kept at their size), split as the source splits them, or as --test-fraction draws.
 */
const dir = mkdtempSync(join(tmpdir(), 'shardlab-import-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function python(script: string): void {
  execFileSync(DEBIAN_PYTHON, ['-c', `import numpy as np, os\nos.chdir(${JSON.stringify(dir)})\n${script}`], { stdio: 'pipe' });
}

const options = (source: string, out: string, over: Partial<ImportOptions> = {}): ImportOptions => ({
  source: join(dir, source),
  out: join(dir, out),
  format: 'auto',
  label: 'label',
  image: null,
  imageShape: { width: 8, height: 6, channels: 1 },
  testFraction: 0.25,
  seed: 3,
  name: null,
  overwrite: false,
  ...over,
});

/** Features (scaled back to the stored values) and labels of one split of an imported directory. */
function split(out: string, which: 'train' | 'test', scale = 255) {
  const { train, test } = loadNpyDir(join(dir, out), out);
  const d = which === 'train' ? train : test;
  const ids = Array.from({ length: d.size }, (_, i) => i);
  const x = d.features(ids);
  return { x: scale === 1 ? x : x.map((v) => Math.round(v * scale)), y: Array.from(d.labels), size: d.size, classes: d.classNames };
}

describe('shardlab data import', () => {
  it('CSV: float32 features and the label column, split by the seeded draw, classes in numeric order', async () => {
    python(`
rng = np.random.default_rng(5)
x = (rng.standard_normal((200, 7)) * 3).astype(np.float32)
y = rng.integers(0, 4, 200) * 10   # labels 0, 10, 20, 30: classes "0" "10" "20" "30" in numeric order
np.save('csv-x.npy', x); np.save('csv-y.npy', y)
with open('data.csv', 'w') as f:
    f.write('a,b,label,c,d,e,f,g\\n')
    for row, label in zip(x, y):
        v = [repr(float(t)) for t in row]
        f.write(','.join(v[:2] + [str(label)] + v[2:]) + '\\n')
`);
    const s = await importDataset(options('data.csv', 'csv-out'));
    expect(s).toMatchObject({ format: 'csv', featureType: 'float32', sampleShape: [7], classes: ['0', '10', '20', '30'] });
    python(`
x = np.load('csv-x.npy'); y = np.load('csv-y.npy')
np.save('csv-expected-x.npy', x); np.save('csv-expected-y.npy', y // 10)
`);
    const xs = new NpyFile(join(dir, 'csv-expected-x.npy'));
    const all = new Float32Array(xs.readRows(0, 200).slice().buffer);
    const labels = readNpyLabels(new NpyFile(join(dir, 'csv-expected-y.npy')), 4);
    for (const which of ['train', 'test'] as const) {
      const rows = Array.from({ length: 200 }, (_, i) => i).filter((i) => drawnSplit(3, i, 0.25) === which);
      const got = split('csv-out', which, 1);
      expect(got.size).toBe(rows.length);
      expect(Array.from(got.x)).toEqual(rows.flatMap((i) => Array.from(all.subarray(i * 7, i * 7 + 7))));
      expect(got.y).toEqual(rows.map((i) => labels[i]));
    }
    expect(inspectDataset(join(dir, 'csv-out'))).toMatch(/train: \d+ samples; features \(7\) <f4/);
  });

  it("an image folder in ImageFolder layout with train/ and test/: Pillow's pixels, classes in sorted folder order, grey and RGB", async () => {
    python(`
from PIL import Image
rng = np.random.default_rng(9)
for split, n in (('train', 5), ('test', 2)):
    for cls in ('owl', 'cat', 'dog'):
        os.makedirs(f'images/{split}/{cls}', exist_ok=True)
        for i in range(n):
            rgb = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
            Image.fromarray(rgb, 'RGB').save(f'images/{split}/{cls}/{i:03d}.png')
os.makedirs('images/train/cat/notes', exist_ok=True)
open('images/train/cat/readme.txt', 'w').write('not an image')
`);
    const rgb = await importDataset(options('images', 'rgb-out', { imageShape: { width: 8, height: 6, channels: 3 } }));
    expect(rgb).toMatchObject({ format: 'image-folder', featureType: 'uint8', sampleShape: [6, 8, 3], classes: ['cat', 'dog', 'owl'] });
    expect([rgb.train.samples, rgb.test.samples]).toEqual([15, 6]);
    python(`
from PIL import Image
rows = [np.asarray(Image.open(f'images/{s}/{c}/{i:03d}.png')) for s, n in (('train', 5), ('test', 2)) for c in ('cat', 'dog', 'owl') for i in range(n)]
np.save('rgb-expected.npy', np.stack(rows))
grey = [np.asarray(Image.open(f'images/{s}/{c}/{i:03d}.png').convert('L')) for s, n in (('train', 5), ('test', 2)) for c in ('cat', 'dog', 'owl') for i in range(n)]
np.save('grey-expected.npy', np.stack(grey))
`);
    const expected = new NpyFile(join(dir, 'rgb-expected.npy')).readRows(0, 21);
    const train = split('rgb-out', 'train');
    const test = split('rgb-out', 'test');
    expect(Array.from(train.x)).toEqual(Array.from(expected.subarray(0, 15 * 144)));
    expect(Array.from(test.x)).toEqual(Array.from(expected.subarray(15 * 144)));
    expect(train.y).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2]);
    expect(test.classes).toEqual(['cat', 'dog', 'owl']);

    // Greyscale is Pillow's convert('L'), as torchvision's Grayscale: the same bytes.
    await importDataset(options('images', 'grey-out'));
    const grey = new NpyFile(join(dir, 'grey-expected.npy')).readRows(0, 21);
    expect(Array.from(split('grey-out', 'train').x)).toEqual(Array.from(grey.subarray(0, 15 * 48)));
  });

  it("Parquet: numeric columns, or a Hugging Face export's image column and ClassLabel names, its train-/test- files as the splits", async () => {
    const { parquetWriteFile } = await import('hyparquet-writer');
    mkdirSync(join(dir, 'parquet'));
    const n = 40;
    const a = Float64Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i) * 5));
    const b = Int32Array.from({ length: n }, (_, i) => i * 3 - 20);
    const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
    await parquetWriteFile({
      filename: join(dir, 'parquet', 'numbers.parquet'),
      columnData: [
        { name: 'a', data: a, type: 'DOUBLE' },
        { name: 'label', data: labels, type: 'INT32' },
        { name: 'b', data: b, type: 'INT32' },
      ],
    });
    const s = await importDataset(options('parquet/numbers.parquet', 'pq-out'));
    expect(s).toMatchObject({ format: 'parquet', featureType: 'float32', sampleShape: [2], classes: ['0', '1', '2'] });
    const rows = Array.from({ length: n }, (_, i) => i).filter((i) => drawnSplit(3, i, 0.25) === 'train');
    const got = split('pq-out', 'train', 1);
    expect(Array.from(got.x)).toEqual(rows.flatMap((i) => [a[i]!, b[i]!]));
    expect(got.y).toEqual(rows.map((i) => labels[i]!));

    // A Hugging Face layout: data/train-*.parquet, data/test-*.parquet, images as PNG bytes, ClassLabel names.
    python(`
from PIL import Image
import io, json
rng = np.random.default_rng(2)
os.makedirs('hf/data', exist_ok=True)
for split, n in (('train', 6), ('test', 3)):
    pixels = rng.integers(0, 256, (n, 6, 8), dtype=np.uint8)
    np.save(f'hf-{split}.npy', pixels)
    blobs = []
    for p in pixels:
        buf = io.BytesIO(); Image.fromarray(p, 'L').save(buf, 'PNG'); blobs.append(buf.getvalue().hex())
    json.dump(blobs, open(f'hf-{split}.json', 'w'))
`);
    const meta = JSON.stringify({ info: { features: { image: { _type: 'Image' }, label: { names: ['ant', 'bee'], _type: 'ClassLabel' } } } });
    for (const [which, count] of [
      ['train', 6],
      ['test', 3],
    ] as const) {
      const blobs = (JSON.parse(readFileSync(join(dir, `hf-${which}.json`), 'utf8')) as string[]).map((h) => Uint8Array.from(Buffer.from(h, 'hex')));
      // As the datasets library writes an Image feature: a struct of the encoded bytes and the file's path.
      await parquetWriteFile({
        filename: join(dir, 'hf', 'data', `${which}-00000-of-00001.parquet`),
        columnData: [
          { name: 'image', data: blobs.map((bytes, i) => ({ bytes, path: `${which}-${i}.png` })) },
          { name: 'label', data: Array.from({ length: count }, (_, i) => BigInt(i % 2)) },
        ],
        schema: [
          { name: 'schema', num_children: 2 },
          { name: 'image', repetition_type: 'OPTIONAL', num_children: 2 },
          { name: 'bytes', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL' },
          { name: 'path', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
          { name: 'label', type: 'INT64', repetition_type: 'OPTIONAL' },
        ],
        kvMetadata: [{ key: 'huggingface', value: meta }],
      });
    }
    // No --image: the struct with `bytes` is found as the image column.
    const hf = await importDataset(options('hf', 'hf-out'));
    expect(hf).toMatchObject({ format: 'parquet', featureType: 'uint8', sampleShape: [6, 8], classes: ['ant', 'bee'] });
    expect([hf.train.samples, hf.test.samples]).toEqual([6, 3]);
    expect(Array.from(split('hf-out', 'test').x)).toEqual(Array.from(new NpyFile(join(dir, 'hf-test.npy')).readRows(0, 3)));
    expect(split('hf-out', 'train').y).toEqual([0, 1, 0, 1, 0, 1]);
  });

  it('IDX files in MNIST layout, gzipped or not, streamed: the bytes NumPy wrote, labels as classes', async () => {
    python(`
import gzip, struct
rng = np.random.default_rng(4)
os.makedirs('idx', exist_ok=True)
for prefix, n, opener in (('train', 300, gzip.open), ('t10k', 40, open)):
    x = rng.integers(0, 256, (n, 5, 3), dtype=np.uint8); y = (np.arange(n) % 3).astype(np.uint8)
    np.save(f'idx-{prefix}-x.npy', x); np.save(f'idx-{prefix}-y.npy', y)
    suffix = '.gz' if opener is gzip.open else ''
    with opener(f'idx/{prefix}-images-idx3-ubyte{suffix}', 'wb') as f: f.write(struct.pack('>BBBBIII', 0, 0, 8, 3, n, 5, 3) + x.tobytes())
    with opener(f'idx/{prefix}-labels-idx1-ubyte{suffix}', 'wb') as f: f.write(struct.pack('>BBBBI', 0, 0, 8, 1, n) + y.tobytes())
`);
    const s = await importDataset(options('idx', 'idx-out'));
    expect(s).toMatchObject({ format: 'idx', featureType: 'uint8', sampleShape: [5, 3], classes: ['0', '1', '2'] });
    for (const [which, prefix, n] of [
      ['train', 'train', 300],
      ['test', 't10k', 40],
    ] as const) {
      const got = split('idx-out', which);
      expect(Array.from(got.x)).toEqual(Array.from(new NpyFile(join(dir, `idx-${prefix}-x.npy`)).readRows(0, n)));
      expect(got.y).toEqual(Array.from({ length: n }, (_, i) => i % 3));
    }
    // A truncated image file is named, and nothing is written.
    writeFileSync(join(dir, 'idx', 't10k-images-idx3-ubyte'), readFileSync(join(dir, 'idx', 't10k-images-idx3-ubyte')).subarray(0, 100));
    await expect(importDataset(options('idx', 'idx-bad'))).rejects.toThrow(/t10k-images-idx3-ubyte: ended after 5 of 40 images \(truncated\?\)/);
    expect(existsSync(join(dir, 'idx-bad'))).toBe(false);
  });

  it('refuses bad sources with one line naming the file and row or column, and leaves nothing at DIR', async () => {
    writeFileSync(join(dir, 'bad.csv'), 'x,y,label\n1,2,cat\n3,oops,dog\n');
    await expect(importDataset(options('bad.csv', 'bad-out'))).rejects.toThrow(/bad\.csv line 3, column "y": "oops" is not a finite number/);
    writeFileSync(join(dir, 'ragged.csv'), 'x,y,label\n1,2,cat\n3,dog\n');
    await expect(importDataset(options('ragged.csv', 'bad-out'))).rejects.toThrow(/ragged\.csv: .*(Record Length|record length).*line 3/i);
    await expect(importDataset(options('bad.csv', 'bad-out', { label: 'class' }))).rejects.toThrow('no column "class" for the label (columns: x, y, label); name it with --label');
    writeFileSync(join(dir, 'one-class.csv'), 'x,label\n1,cat\n2,cat\n3,cat\n4,cat\n5,cat\n6,cat\n7,cat\n8,cat\n');
    await expect(importDataset(options('one-class.csv', 'bad-out', { testFraction: 0.5 }))).rejects.toThrow('one class only (cat)');
    // Refused at the end, in finish(): what was written is gone all the same.
    expect(readdirSync(dir).filter((f) => f.includes('partial'))).toEqual([]);
    mkdirSync(join(dir, 'broken-images', 'a'), { recursive: true });
    mkdirSync(join(dir, 'broken-images', 'b'), { recursive: true });
    writeFileSync(join(dir, 'broken-images', 'a', '1.png'), 'not a png');
    writeFileSync(join(dir, 'broken-images', 'b', '1.png'), 'not a png either');
    await expect(importDataset(options('broken-images', 'bad-out'))).rejects.toThrow(/broken-images\/a\/1\.png: cannot decode the image/);
    expect(existsSync(join(dir, 'bad-out'))).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('partial'))).toEqual([]);
    await expect(importDataset(options('data.csv', 'csv-out'))).rejects.toThrow('csv-out exists already; choose a new directory (or --force to replace it)');
  });

  it('an interrupted import leaves nothing that looks like a dataset', async () => {
    const abort = new AbortController();
    abort.abort();
    await expect(importDataset(options('data.csv', 'aborted-out', { signal: abort.signal }))).rejects.toThrow('interrupted after 0 samples');
    expect(existsSync(join(dir, 'aborted-out'))).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('partial'))).toEqual([]);
  });
});
