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
