export * from './lib/topics';
export * from './lib/cloud-events';
