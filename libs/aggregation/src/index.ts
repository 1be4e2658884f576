export { weightedAverage } from './average';
export {
  OPTIMIZER_NAMES,
  OPTIMIZER_DEFAULTS,
  createOptimizer,
  resolveOptimizer,
  type Optimizer,
  type OptimizerName,
  type OptimizerSpec,
} from './optimizer';
export { paramChecksum, l2Norm, maxAbsDiff, cosineSimilarity } from './metrics';
export * from './rules';
export {
  COMBINE_NAMES,
  checkCombine,
  combine,
  coordinateDrop,
  coordinateWise,
  krumChoice,
  pairDistances,
  krumDiscarded,
  type CombineName,
  type CombineOptions,
  type Combined,
  type RobustRule,
} from './combine';
