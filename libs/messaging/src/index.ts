export * from './lib/broker.port';
export * from './lib/envelope-codec';
export * from './lib/kafkajs/kafkajs-broker';
export * from './lib/messaging.module';
export * from './lib/messaging-tables.migration';
