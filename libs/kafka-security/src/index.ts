export * from './lib/kafka-acls';
export * from './lib/kafka-credentials';
