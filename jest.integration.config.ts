/**
 * Integration tests: every `*.integration-spec.ts` in the workspace, against one real Kafka and one
 * real PostgreSQL started once for the run by the global setup (containers from libs/testing).
 * Tests isolate themselves with unique topics, consumer groups and schemas.
 */
import { readFileSync } from 'node:fs';
import { pathsToModuleNameMapper } from 'ts-jest';

const { compilerOptions } = JSON.parse(readFileSync(new URL('./tsconfig.base.json', import.meta.url), 'utf8'));

export default {
  displayName: 'integration',
  rootDir: '.',
  testEnvironment: 'node',
  moduleNameMapper: pathsToModuleNameMapper(compilerOptions.paths, { prefix: '<rootDir>/' }),
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.integration.json' }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  testMatch: ['<rootDir>/{apps,libs,tools}/**/*.integration-spec.ts'],
  globalSetup: '<rootDir>/libs/testing/src/lib/jest-global-setup.ts',
  globalTeardown: '<rootDir>/libs/testing/src/lib/jest-global-teardown.ts',
  testTimeout: 120_000,
  // Client libraries (kafkajs, pg pools of stopped services) can leave sockets and timers behind
  // after the last test; the run must end anyway, and the teardown has already stopped the containers.
  forceExit: true,
  maxWorkers: 2,
};
