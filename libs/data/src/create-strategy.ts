/** Name -> strategy, for the CLI and the coordinator. */
import { DataError } from './errors';
import { IidStrategy } from './iid';
import { LabelPerNodeStrategy } from './label-per-node';
import { SequentialSingleClassStrategy } from './sequential-single-class';
import type { Strategy, StrategyOptions } from './strategy';
import { STRATEGY_NAMES } from './strategy';
import { StratifiedStrategy } from './stratified';

export function createStrategy(name: string, opts: StrategyOptions): Strategy {
  switch (name) {
    case 'iid':
      return new IidStrategy(opts);
    case 'label-per-node':
      return new LabelPerNodeStrategy(opts);
    case 'sequential-single-class':
      return new SequentialSingleClassStrategy(opts);
    case 'stratified':
      return new StratifiedStrategy(opts);
    default:
      throw new DataError(`--strategy: unknown strategy ${JSON.stringify(name)}; allowed: ${STRATEGY_NAMES.join(', ')}`);
  }
}
