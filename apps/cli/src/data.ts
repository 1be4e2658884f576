import { FlagError, formatOptionHelp, parseFlags, resolveOptions, type OptionSpec } from '@shardlab/experiment';
import { IMPORT_FORMATS, count, importDataset, inspectDataset, parseSize, type ImportSummary } from '@shardlab/data-import';

const IMPORT_OPTIONS: readonly OptionSpec[] = [
  { key: 'format', type: 'enum', default: 'auto', choices: ['auto', ...IMPORT_FORMATS], help: 'what SRC is; auto: a .csv or .parquet file, or a directory of Parquet files, IDX files (MNIST layout) or class folders (ImageFolder layout)' },
  { key: 'label', type: 'string', default: 'label', valueHint: 'COLUMN', help: 'csv, parquet: the column that holds each sample\'s class' },
  { key: 'image', type: 'string', valueHint: 'COLUMN', help: 'parquet: the column of encoded images (default: a Hugging Face image column if there is one, else every numeric column is a feature)' },
  { key: 'size', type: 'string', default: '28x28', valueHint: 'WxH', help: 'image-folder, parquet images: every image is resized to WIDTHxHEIGHT (stretched)' },
  { key: 'channels', type: 'int', default: 1, min: 1, max: 3, help: 'image-folder, parquet images: 1 = greyscale, 3 = RGB' },
  { key: 'testFraction', type: 'number', default: 0.1, min: 0, max: 0.9, help: 'sources without a test split of their own (one CSV or Parquet file, class folders without train/ and test/): the share of samples drawn for the test split' },
  { key: 'seed', type: 'int', default: 1, min: 0, max: 2 ** 31 - 1, help: 'seed of that draw' },
  { key: 'name', type: 'string', valueHint: 'NAME', help: "the dataset's name in dataset.json (default: DIR's name)" },
  { key: 'force', type: 'bool', default: false, help: 'replace DIR if it exists' },
  { key: 'quiet', type: 'bool', default: false, help: 'no progress output' },
];

export const DATA_USAGE = `Usage: shardlab data import SRC DIR [options]
       shardlab data inspect DIR

import   converts, once, what you have into a dataset directory that every command reads with
         --dataset npy:DIR: .npy files read by sample id (any size) and dataset.json (docs/usage.md).
           SRC a .csv file         a header row; --label names the class column, every other
                                   column is a number (float32 features)
           SRC a folder of folders torchvision's ImageFolder: SRC/<class>/<image>, classes in sorted
                                   order; SRC/train/<class>/ and SRC/test/<class>/ give the splits;
                                   decoded and resized with sharp (uint8 features)
           SRC .parquet file(s)    a file, or a directory of them (Hugging Face exports: train-*,
                                   test-*; validation files are skipped); an image column is decoded,
                                   else numeric and list columns are the features; a ClassLabel's
                                   names become the classes
           SRC a folder of IDX     MNIST layout (train-images-idx3-ubyte[.gz], ...)
         The directory appears only when it is whole: an interrupted import leaves nothing at DIR.
inspect  checks DIR as a run would and prints its splits: samples, shapes, dtypes, samples per class,
         and the first sample's statistics.

Options of import:
${formatOptionHelp(IMPORT_OPTIONS)}
  -h, --help`;

function describeImport(s: ImportSummary): string {
  const split = (name: 'train' | 'test') => `${name} ${count(s[name].samples)}`;
  return [
    `${s.dir}: ${s.format} -> ${count(s.train.samples + s.test.samples)} samples (${split('train')}, ${split('test')}) of shape (${s.sampleShape.join(', ')}) ${s.featureType}, in ${s.seconds.toFixed(1)} s`,
    `  ${s.classes.length} classes: ${s.classes.map((c, k) => `${c} ${count(s.train.classCounts[k]! + s.test.classCounts[k]!)}`).join(', ')}`,
    ...(s.skipped.length ? [`  skipped (not train or test): ${s.skipped.join(', ')}`] : []),
    `  train with: shardlab run --dataset npy:${s.dir}`,
  ].join('\n');
}

export async function dataCommand(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h') {
    process.stdout.write(DATA_USAGE + '\n');
    return sub ? 0 : 2;
  }
  if (sub === 'inspect') {
    const flags = parseFlags(rest, []);
    if (flags.help) {
      process.stdout.write(DATA_USAGE + '\n');
      return 0;
    }
    if (flags.positionals.length !== 1) throw new FlagError('name one dataset directory: shardlab data inspect DIR');
    process.stdout.write(inspectDataset(flags.positionals[0]!) + '\n');
    return 0;
  }
  if (sub !== 'import') throw new FlagError(`unknown data command ${JSON.stringify(sub)}; data commands: import, inspect (see shardlab data --help)`);
  const flags = parseFlags(rest, IMPORT_OPTIONS);
  if (flags.help) {
    process.stdout.write(DATA_USAGE + '\n');
    return 0;
  }
  if (flags.positionals.length !== 2) throw new FlagError('name the source and the dataset directory to write: shardlab data import SRC DIR');
  const [source, out] = flags.positionals as [string, string];
  const o = resolveOptions(flags.values, IMPORT_OPTIONS);
  const size = parseSize(o.size as string);
  if (o.channels === 2) throw new FlagError('--channels: 1 (greyscale) or 3 (RGB)');
  const abort = new AbortController();
  const interrupt = () => abort.abort();
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  const started = performance.now();
  try {
    const summary = await importDataset({
      source,
      out,
      format: o.format as 'auto',
      label: o.label as string,
      image: (o.image as string | undefined) ?? null,
      imageShape: { ...size, channels: o.channels as 1 | 3 },
      testFraction: o.testFraction as number,
      seed: o.seed as number,
      name: (o.name as string | undefined) ?? null,
      overwrite: o.force as boolean,
      signal: abort.signal,
      progress: o.quiet ? undefined : (n) => process.stderr.write(`import: ${count(n)} samples, ${count(Math.round(n / ((performance.now() - started) / 1000)))} samples/s\n`),
    });
    process.stdout.write(describeImport(summary) + '\n');
    return 0;
  } catch (err) {
    if (!abort.signal.aborted) throw err;
    // Ctrl-C: said as a stop, with the shell's code for it, like an interrupted run.
    process.stderr.write(`shardlab data import: ${(err as Error).message}\n`);
    return 130;
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  }
}
