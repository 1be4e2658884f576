export * from './chromium';
export * from './wire';
