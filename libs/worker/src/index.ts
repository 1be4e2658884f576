export * from './replica';
export * from './aggregation-rules';
export * from './wire-specs';
export * from './faults';
export * from './worker-loop';
export * from './bootstrap';
export * from './buffers';
