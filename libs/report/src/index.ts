export * from './files';
export * from './stats';
export * from './table';
export * from './summary';
export * from './progress';
export * from './results';
export * from './html-data';
export * from './html';
