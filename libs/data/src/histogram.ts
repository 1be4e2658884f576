/** Label mix of a strategy's batches, for reports and tests. */
import type { Strategy } from './strategy';

/** Per worker, the number of samples of each class it was handed over steps 0..steps-1. */
export function labelHistogram(
  strategy: Strategy,
  labels: Uint8Array,
  numClasses: number,
  workers: number,
  steps: number,
): number[][] {
  const hist = Array.from({ length: workers }, () => new Array<number>(numClasses).fill(0));
  for (let step = 0; step < steps; step++) {
    for (let w = 0; w < workers; w++) {
      for (const id of strategy.batch(step, w)) hist[w][labels[id]]++;
    }
  }
  return hist;
}

/**
 * What each worker's batch holds, step by step, for the first `steps` steps: [step][worker][class] counts. Over a
 * whole run every strategy hands every worker every class; which classes share one step is what tells them apart.
 */
export function stepClassMix(strategy: Strategy, labels: Uint8Array, numClasses: number, workers: number, steps: number): number[][][] {
  return Array.from({ length: steps }, (_, step) =>
    Array.from({ length: workers }, (_, w) => {
      const counts = new Array<number>(numClasses).fill(0);
      for (const id of strategy.batch(step, w)) counts[labels[id]!]!++;
      return counts;
    }),
  );
}

/**
 * A per-worker, per-class count table as plain text for a CLI: one header line, one line per
 * worker, one line of totals; a last column of row totals. Columns are right-aligned and separated
 * by two spaces; no trailing newline. `classNames` (one per column) replace the class numbers.
 *
 *   worker   0   1  total
 *        0  32   0     32
 *        1   0  32     32
 *    total  32  32     64
 */
export function formatHistogram(hist: readonly (readonly number[])[], classNames?: readonly string[]): string {
  const columns = classNames?.length ?? hist[0]?.length ?? 0;
  hist.forEach((row, w) => {
    if (row.length !== columns) throw new RangeError(`formatHistogram: row ${w} has ${row.length} classes, expected ${columns}`);
  });
  const header = ['worker', ...(classNames ?? Array.from({ length: columns }, (_, c) => String(c))), 'total'];
  const colTotals = new Array<number>(columns).fill(0);
  const rows = hist.map((row, w) => {
    row.forEach((n, c) => (colTotals[c] += n));
    return [String(w), ...row.map(String), String(sum(row))];
  });
  const table = [header, ...rows, ['total', ...colTotals.map(String), String(sum(colTotals))]];
  const widths = header.map((_, i) => Math.max(...table.map((line) => line[i].length)));
  return table.map((line) => line.map((cell, i) => cell.padStart(widths[i])).join('  ')).join('\n');
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}
