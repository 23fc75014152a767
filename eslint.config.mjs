import nx from '@nx/eslint-plugin';

/**
 * Module boundaries are errors, not warnings: a service never imports another service's code,
 * domain libraries import nothing that does I/O, contracts stay framework-free, and only tests
 * may import the testing library.
 */
const ioPackages = ['kafkajs', 'pg', 'typeorm', '@nestjs/*', 'testcontainers', '@testcontainers/*', 'pino*'];

function boundaries({ testsMayUseTesting }) {
  const testing = testsMayUseTesting ? ['type:testing'] : [];
  return [
    'error',
    {
      enforceBuildableLibDependency: true,
      // Services read their release version from the workspace manifest.
      allow: ['^(\.\./)+package\.json$'],
      depConstraints: [
        { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
        { sourceTag: 'scope:payment', onlyDependOnLibsWithTags: ['scope:payment', 'scope:shared'] },
        { sourceTag: 'scope:clearing', onlyDependOnLibsWithTags: ['scope:clearing', 'scope:shared'] },
        { sourceTag: 'scope:void', onlyDependOnLibsWithTags: ['scope:void', 'scope:shared'] },
        { sourceTag: 'scope:ops', onlyDependOnLibsWithTags: ['scope:ops', 'scope:shared'] },
        {
          sourceTag: 'type:app',
          onlyDependOnLibsWithTags: ['type:domain', 'type:data', 'type:util', 'type:contracts', ...testing],
        },
        {
          sourceTag: 'type:data',
          onlyDependOnLibsWithTags: ['type:data', 'type:util', 'type:domain', 'type:contracts', ...testing],
        },
        { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:util', 'type:contracts', ...testing] },
        {
          sourceTag: 'type:domain',
          onlyDependOnLibsWithTags: ['type:domain', 'type:contracts', ...testing],
          bannedExternalImports: ioPackages,
        },
        {
          sourceTag: 'type:contracts',
          onlyDependOnLibsWithTags: ['type:contracts', ...testing],
          bannedExternalImports: ioPackages,
        },
        {
          sourceTag: 'type:testing',
          onlyDependOnLibsWithTags: ['type:domain', 'type:data', 'type:util', 'type:contracts', 'type:testing'],
        },
      ],
    },
  ];
}

// Test support code (harnesses under src/testing) may use the testing libraries too.
const testFiles = ['**/*.spec.ts', '**/*.integration-spec.ts', '**/src/testing/**/*.ts'];

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  {
    ignores: ['**/dist', '**/node_modules', '**/.cache', '**/tmp', '**/out', '**/webpack.config.js'],
  },
  {
    files: ['**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': boundaries({ testsMayUseTesting: false }),
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-console': ['error', { allow: ['warn', 'error'] }],
      // `x += await f()` reads x before the await: concurrent callers lose each other's updates.
      'require-atomic-updates': 'error',
    },
  },
  {
    files: testFiles,
    rules: {
      '@nx/enforce-module-boundaries': boundaries({ testsMayUseTesting: true }),
      'no-console': 'off',
    },
  },
  {
    files: ['libs/testing/**/*.ts', 'tools/**/*.ts', '**/jest*.config.ts'],
    rules: { 'no-console': 'off' },
  },
];
