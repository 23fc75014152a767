export * from './lib/topics';
export * from './lib/cloud-events';
export * from './lib/primitives';
export * from './lib/reasons';
export * from './lib/messages';
export * from './lib/http-errors';
export * from './lib/sources';
export * from './lib/kafka-acls';
