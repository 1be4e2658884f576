export * from './chromium';
export * from './wire';
export * from './python';
