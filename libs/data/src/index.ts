export { DataError } from './errors';
export type { Dataset, DatasetSpec } from './dataset';
export { DATASET_NAMES } from './dataset';
export { loadDataset, fashionMnistAvailable, FASHION_MNIST_DIR, FASHION_MNIST_CLASS_NAMES } from './load';
export { createSynthetic, SyntheticDataset, SYNTHETIC_DEFAULTS, SYNTHETIC_MAX_SAMPLES } from './synthetic';
export type { SyntheticOptions } from './synthetic';
export { parseIdx, readIdxFile, loadIdxDir, IdxDataset, MNIST_LAYOUT_FILES } from './idx';
export type { IdxArray, IdxDirOptions } from './idx';
export { ClassSubset, validateClasses } from './subset';

export type { Strategy, StrategyName, StrategyOptions } from './strategy';
export { STRATEGY_NAMES } from './strategy';
export { createStrategy } from './create-strategy';
export { labelHistogram } from './histogram';
export { IidStrategy } from './iid';
export { LabelPerNodeStrategy } from './label-per-node';
export { SequentialSingleClassStrategy } from './sequential-single-class';
export { StratifiedStrategy } from './stratified';
export { ClassStreams } from './class-streams';
