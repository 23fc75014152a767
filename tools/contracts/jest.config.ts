export default {
  displayName: 'contracts-tools',
  preset: '../../jest.preset.js',
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json' }] },
  moduleFileExtensions: ['ts', 'js', 'json', 'mjs'],
  testMatch: ['<rootDir>/**/*.spec.ts'],
  testTimeout: 60_000,
};
