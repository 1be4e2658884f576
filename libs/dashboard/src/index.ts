export * from './hub';
export * from './server';
export * from './page';
export * from './options';
