export * from '@shardlab/options';
export * from './config';
export * from './prepare';
export * from './session';
export * from './messages';
export * from './refusals';
export * from './errors';
export * from './runner';
export * from './snapshots';
export * from './sweep';
export * from './model-spec';
export * from './dataset-spec';
// What a worker holds and computes, for the coordinator's own replica and for callers of this lib.
export * from '@shardlab/worker';
export * from './checkpoint';
export { provenance, type Provenance } from './provenance';
export * from './settings';
