export * from './lib/batch-lifecycle';
export * from './lib/reconciliation';
export * from './lib/schedule-versions';
export * from './lib/settlement-policy';
export * from './lib/reconciliation-file-names';
