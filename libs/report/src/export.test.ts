import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { longTableLines } from './export';
import { writeFixtureSweep } from './fixtures';
import { readRun } from './results';

/** A CSV line's cells (RFC 4180 quoting). */
function cells(line: string): string[] {
  const out: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(cell);
      cell = '';
    } else cell += ch;
  }
  out.push(cell);
  return out;
}

describe('the long table', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shardlab-export-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has a row per run x measurement, every setting as a column, and a row for a run without measurements', () => {
    const { refs } = writeFixtureSweep(dir, { steps: 20, evalEvery: 10, failedRun: true });
    const runs = refs.map((r) => readRun(r));
    runs.push({ ...readRun({ arm: 'empty', seed: 0, dir: join(dir, 'nowhere') }) });
    const [header, ...rows] = [...longTableLines(runs)].map(cells);
    const col = (name: string) => header!.indexOf(name);
    for (const name of ['run', 'arm', 'seed', 'status', 'strategy', 'lr', 'batchSize', 'kind', 'step', 'metric', 'worker', 'class', 'value']) expect(col(name), name).toBeGreaterThanOrEqual(0);
    expect(col('classNames')).toBe(-1);
    const of = (arm: string, seed: string, metric: string) => rows.filter((r) => r[col('arm')] === arm && r[col('seed')] === seed && r[col('metric')] === metric);
    // 20 steps: one mean loss and 4 worker losses each; evaluations after 10 and 20 updates, 4 classes each.
    expect(of('iid', '1', 'loss').filter((r) => r[col('worker')] === '')).toHaveLength(20);
    expect(of('iid', '1', 'loss').filter((r) => r[col('worker')] !== '')).toHaveLength(80);
    expect(of('iid', '1', 'test_accuracy').map((r) => r[col('step')])).toEqual(['10', '20']);
    expect(of('iid', '1', 'class_accuracy').map((r) => r[col('class')])).toEqual(['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'T-shirt/top', 'Trouser', 'Pullover', 'Dress']);
    expect(of('label-per-node', '2', 'loss')[0]![col('strategy')]).toBe('label-per-node');
    expect(rows.filter((r) => r[col('arm')] === 'seq-cyclic' && r[col('seed')] === '2')[0]![col('status')]).toBe('failed');
    const empty = rows.filter((r) => r[col('arm')] === 'empty');
    expect(empty).toHaveLength(1);
    expect(empty[0]![col('status')]).toBe('broken');
    expect(empty[0]![col('kind')]).toBe('run');
    expect(rows.every((r) => r.length === header!.length)).toBe(true);
  });
});
