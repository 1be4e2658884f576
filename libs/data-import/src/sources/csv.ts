import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import { ImportError } from '../errors';
import type { Sample } from './sample';

/**
 * A CSV file with a header row: one column (`label`) names each sample's class, every other column is a feature
 * (a number). Streamed, so a file of any size converts in constant memory. Parsing is csv-parse's (quotes,
 * embedded separators and line breaks, a byte-order mark).
 */
export async function* csvSamples(path: string, label: string): AsyncGenerator<Sample> {
  const parser = createReadStream(path).pipe(parse({ bom: true, skip_empty_lines: true, info: true }));
  let header: string[] | null = null;
  let labelAt = -1;
  let line = 1;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      line = info.lines;
      if (!header) {
        header = record;
        labelAt = header.indexOf(label);
        if (labelAt < 0) throw new ImportError(`${path}: no column ${JSON.stringify(label)} for the label (columns: ${header.slice(0, 20).join(', ')}${header.length > 20 ? ', ...' : ''}); name it with --label`);
        if (header.length < 2) throw new ImportError(`${path}: only the label column; a sample needs at least one feature column`);
        continue;
      }
      const features = new Float32Array(header.length - 1);
      let k = 0;
      for (let c = 0; c < record.length; c++) {
        if (c === labelAt) continue;
        // Number() allows the spaces around a value (csv-parse's trim option would cost a third of the parse).
        const text = record[c]!;
        const v = text.trim() === '' ? NaN : Number(text);
        if (!Number.isFinite(v)) throw new ImportError(`${path} line ${line}, column ${JSON.stringify(header[c])}: ${JSON.stringify(text)} is not a finite number`);
        features[k++] = v;
      }
      const cls = record[labelAt]!.trim();
      if (cls === '') throw new ImportError(`${path} line ${line}, column ${JSON.stringify(label)}: the label is empty`);
      yield { features, shape: [features.length], label: cls, where: `${path} line ${line}` };
    }
  } catch (err) {
    if (err instanceof ImportError) throw err;
    // csv-parse's own errors name the line: "Invalid Record Length: expect 5, got 4 on line 7".
    throw new ImportError(`${path}: ${(err as Error).message}`);
  }
  if (!header) throw new ImportError(`${path}: empty; expected a header row and one row a sample`);
}
