export * from './lib/void-rules';
export * from './lib/void-policy';
export * from './lib/customer-notice';
export * from './lib/request-fingerprint';
export * from './lib/void-execution';
