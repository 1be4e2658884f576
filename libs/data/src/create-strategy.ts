/** Name -> strategy, for the CLI and the coordinator. */
import { DirichletStrategy } from './dirichlet';
import { DataError } from './errors';
import { IidStrategy } from './iid';
import { KClassesPerNodeStrategy } from './k-classes-per-node';
import { LabelPerNodeStrategy } from './label-per-node';
import { SequentialSingleClassStrategy } from './sequential-single-class';
import { ShardStrategy } from './shard';
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
    case 'k-classes-per-node':
      return new KClassesPerNodeStrategy(opts);
    case 'dirichlet':
      return new DirichletStrategy(opts);
    case 'shard':
      return new ShardStrategy(opts);
    default:
      throw new DataError(`--strategy: unknown strategy ${JSON.stringify(name)}; allowed: ${STRATEGY_NAMES.join(', ')}`);
  }
}
