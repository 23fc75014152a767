export * from './lib/service-metrics';
export * from './lib/observability.module';
