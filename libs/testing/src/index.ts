export * from './lib/images';
export * from './lib/kafka-container';
export * from './lib/postgres-container';
export * from './lib/test-stack';
