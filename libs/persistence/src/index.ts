export * from './lib/data-source';
export * from './lib/migrations';
export * from './lib/database.module';
export * from './lib/prepared-query';
export * from './lib/statement-batcher';
export * from './lib/database-unavailable';
export * from './lib/service-roles';
export * from './lib/append-only';
