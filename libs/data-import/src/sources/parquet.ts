import { readdirSync, statSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { ImportError } from '../errors';
import { allInOrder, decodeImage, imageSampleShape, type ImageShape } from './image';
import type { Sample } from './sample';

/** Rows read at once: a row group's slice, so memory stays bounded for files of any size. */
const ROWS_PER_READ = 1024;

/** hyparquet and its codecs are ES modules: loaded on first use from this CommonJS build. */
async function hyparquet() {
  const [reader, codecs] = await Promise.all([import('hyparquet'), import('hyparquet-compressors')]);
  return { ...reader, compressors: codecs.compressors };
}

/** The split a Parquet file's path names (Hugging Face exports: data/train-00000-of-00001.parquet, test-...), if any. */
export function splitOfPath(path: string): 'train' | 'test' | 'other' | undefined {
  const parts = path.split(sep).map((p) => p.toLowerCase());
  const name = basename(path).toLowerCase();
  if (name.startsWith('train') || parts.includes('train')) return 'train';
  if (name.startsWith('test') || parts.includes('test')) return 'test';
  if (/^(valid|validation|val|dev)\b/.test(name) || parts.some((p) => ['valid', 'validation', 'val', 'dev'].includes(p))) return 'other';
  return undefined;
}

/** The .parquet files of SRC: the file itself, or every one under the directory, sorted. */
export function parquetFiles(source: string): string[] {
  if (statSync(source).isFile()) return [source];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.name.startsWith('.')) continue;
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith('.parquet')) out.push(join(d, e.name));
    }
  };
  walk(source);
  if (out.length === 0) throw new ImportError(`${source}: no .parquet files there`);
  return out;
}

/** The class names a Hugging Face export records for `label` (its ClassLabel feature), if it does. */
function huggingFaceClassNames(kv: readonly { key: string; value?: string }[] | undefined, label: string): string[] | null {
  const hf = kv?.find((k) => k.key === 'huggingface')?.value;
  if (!hf) return null;
  try {
    const feature = (JSON.parse(hf) as { info?: { features?: Record<string, { names?: unknown }> } }).info?.features?.[label];
    const names = feature?.names;
    return Array.isArray(names) && names.every((n) => typeof n === 'string') ? (names as string[]) : null;
  } catch {
    return null;
  }
}

export interface ParquetPlan {
  files: { path: string; split?: 'train' | 'test' }[];
  /** Skipped files (a validation split), for the summary. */
  skipped: string[];
  /** From a Hugging Face ClassLabel, when the export records it. */
  classNames: string[] | null;
  /** The image column (a struct with `bytes`, as Hugging Face writes images, or raw bytes), or null: numeric columns. */
  imageColumn: string | null;
  /** Numeric feature columns (when there is no image column). */
  featureColumns: string[];
}

/**
 * What to read: the files, their splits, the label column's class names, and which columns are features. A file
 * named train*, or under train/, is the train split; test* or test/ the test split; validation files are skipped;
 * when no file names a split, --test-fraction draws one.
 */
export async function planParquet(source: string, label: string, imageColumn: string | null): Promise<ParquetPlan> {
  const { asyncBufferFromFile, parquetMetadataAsync, parquetSchema } = await hyparquet();
  const all = parquetFiles(source);
  const named = all.map((path) => ({ path, split: splitOfPath(relative(source, path) || path) }));
  const anySplit = named.some((f) => f.split === 'train' || f.split === 'test');
  const files = named.filter((f) => f.split !== 'other').map((f) => ({ path: f.path, ...(anySplit ? { split: f.split === 'test' ? ('test' as const) : ('train' as const) } : {}) }));
  const skipped = named.filter((f) => f.split === 'other').map((f) => f.path);
  const first = files[0]!.path;
  const meta = await parquetMetadataAsync(await asyncBufferFromFile(first));
  const columns = parquetSchema(meta).children.map((c) => ({ name: c.element.name, type: c.element.type, children: c.children.map((k) => k.element.name), list: c.element.converted_type === 'LIST' || c.element.logical_type?.type === 'LIST' }));
  const names = columns.map((c) => c.name);
  if (!names.includes(label)) throw new ImportError(`${first}: no column ${JSON.stringify(label)} for the label (columns: ${names.join(', ')}); name it with --label`);
  let image = imageColumn;
  if (image !== null && !names.includes(image)) throw new ImportError(`${first}: no column ${JSON.stringify(image)} for --image (columns: ${names.join(', ')})`);
  // Hugging Face's Image feature: a struct of bytes and path.
  image ??= columns.find((c) => c.name !== label && c.children.includes('bytes'))?.name ?? null;
  const featureColumns = image ? [] : columns.filter((c) => c.name !== label && (c.list || ['INT32', 'INT64', 'FLOAT', 'DOUBLE', 'BOOLEAN'].includes(c.type ?? ''))).map((c) => c.name);
  if (!image && featureColumns.length === 0) throw new ImportError(`${first}: no image column and no numeric feature columns besides ${JSON.stringify(label)} (columns: ${names.join(', ')})`);
  return { files, skipped, classNames: huggingFaceClassNames(meta.key_value_metadata, label), imageColumn: image, featureColumns };
}

/** Every row of the plan's files as a sample: an image column decoded to `shape`, or the numeric columns as float32. */
export async function* parquetSamples(plan: ParquetPlan, label: string, shape: ImageShape): AsyncGenerator<Sample> {
  const { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, compressors } = await hyparquet();
  const columns = [label, ...(plan.imageColumn ? [plan.imageColumn] : plan.featureColumns)];
  for (const { path, split } of plan.files) {
    const file = await asyncBufferFromFile(path);
    const rows = Number((await parquetMetadataAsync(file)).num_rows);
    for (let rowStart = 0; rowStart < rows; rowStart += ROWS_PER_READ) {
      const rowEnd = Math.min(rows, rowStart + ROWS_PER_READ);
      let records: Record<string, unknown>[];
      try {
        // utf8: false keeps unannotated byte arrays (encoded images) as bytes; string columns stay strings.
        records = await parquetReadObjects({ file, columns, rowStart, rowEnd, compressors, utf8: false });
      } catch (err) {
        throw new ImportError(`${path}: cannot read rows ${rowStart}..${rowEnd - 1} (${(err as Error).message})`);
      }
      const images = plan.imageColumn
        ? await allInOrder(records.map((r, i) => decodeImage(imageBytes(r[plan.imageColumn!], `${path} row ${rowStart + i}`), shape, `${path} row ${rowStart + i}, column ${plan.imageColumn}`)))
        : null;
      for (let i = 0; i < records.length; i++) {
        const where = `${path} row ${rowStart + i}`;
        const r = records[i]!;
        const cls = r[label];
        if (cls === null || cls === undefined || cls === '') throw new ImportError(`${where}, column ${JSON.stringify(label)}: no label`);
        const features = images ? images[i]! : numericRow(r, plan.featureColumns, where);
        yield { features, shape: images ? imageSampleShape(shape) : [features.length], label: String(cls), where, ...(split ? { split } : {}) };
      }
    }
  }
}

function imageBytes(value: unknown, where: string): Uint8Array {
  const bytes = value instanceof Uint8Array ? value : (value as { bytes?: unknown } | null)?.bytes;
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw new ImportError(`${where}: the image column holds no encoded image bytes`);
  return bytes;
}

function numericRow(r: Record<string, unknown>, columns: readonly string[], where: string): Float32Array {
  const values: number[] = [];
  for (const c of columns) {
    const v = r[c];
    const list = Array.isArray(v) || ArrayBuffer.isView(v) ? Array.from(v as ArrayLike<unknown>) : [v];
    for (const x of list) {
      const n = typeof x === 'bigint' ? Number(x) : typeof x === 'boolean' ? Number(x) : x;
      if (typeof n !== 'number' || !Number.isFinite(n)) throw new ImportError(`${where}, column ${JSON.stringify(c)}: ${String(x)} is not a finite number`);
      values.push(n);
    }
  }
  return Float32Array.from(values);
}
