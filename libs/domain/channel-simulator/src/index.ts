export * from './lib/channel-outcome';
export * from './lib/pay-simulator';
export * from './lib/undo-simulator';
