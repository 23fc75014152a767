export * from './lib/bootstrap';
export * from './lib/config';
export * from './lib/health.controller';
export * from './lib/logging';
export * from './lib/service.module';
export * from './lib/run-service';
export * from './lib/api-errors';
export * from './lib/merchant-auth';
