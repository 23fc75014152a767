export * from './lib/batch-key';
