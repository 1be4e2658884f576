export * from './options';
export * from './config';
export * from './prepare';
export * from './replica';
export * from './session';
export * from './runner';
export * from './errors';
export * from './local-update';
