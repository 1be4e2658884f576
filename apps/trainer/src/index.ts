export * from './trainer';
export * from './main';
