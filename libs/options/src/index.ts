export * from './options';
export * from './check';
export * from './errors';
export * from './security';
export * from './keepalive';
export * from './suggest';
