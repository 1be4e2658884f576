export * from './options';
export * from './check';
export * from './errors';
