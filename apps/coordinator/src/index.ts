export * from './server';
export * from './coordinator';
export * from './main';
