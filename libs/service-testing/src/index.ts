export * from './lib/boot-service';
export * from './lib/service-boot-expectations';
export * from './lib/spawn-service';
export * from './lib/http-error-contract';
