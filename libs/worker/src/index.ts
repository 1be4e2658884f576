export * from './replica';
export * from './local-update';
export * from './wire-specs';
