export * from './lib/payment-request';
export * from './lib/channel-gateway';
export * from './lib/payment-lifecycle';
