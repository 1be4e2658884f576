export * from './files';
export * from './stats';
export * from './table';
export * from './summary';
export * from './progress';
