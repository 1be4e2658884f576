export { DatasetWriter, MAX_CLASSES, sortedClasses, type FeatureType, type Split, type WrittenDataset, type WrittenSplit } from './dataset-writer';
export { ImportError } from './errors';
export { IMPORT_FORMATS, detectFormat, importDataset, type ImportFormat, type ImportOptions, type ImportSummary } from './import';
export { count, inspectDataset } from './inspect';
export { parseSize, type ImageShape } from './sources/image';
