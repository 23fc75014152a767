import { createProjectGraphAsync, readCachedProjectGraph } from '@nx/devkit';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * The module boundaries are enforced by lint as errors. These cases lint code that must never be
 * written and check that lint refuses it, so a loosened rule cannot go unnoticed.
 */
const workspaceRoot = join(__dirname, '..', '..', '..');

/** Lints `code` as if it were the file at `filePath`, in a separate ESLint process (its config is ESM). */
async function boundaryErrors(filePath: string, code: string): Promise<string[]> {
  const eslint = spawnSync(
    process.execPath,
    [join(workspaceRoot, 'node_modules/eslint/bin/eslint.js'), '--stdin', '--stdin-filename', filePath, '--format', 'json'],
    { cwd: workspaceRoot, input: code, encoding: 'utf8' },
  );
  if (eslint.status === 2 || !eslint.stdout) throw new Error(`eslint could not run: ${eslint.stderr}`);
  const [result] = JSON.parse(eslint.stdout) as { messages: { ruleId: string | null; severity: number; message: string }[] }[];
  return result.messages
    .filter((m) => m.ruleId === '@nx/enforce-module-boundaries' && m.severity === 2)
    .map((m) => m.message);
}

describe('module boundaries', () => {
  beforeAll(async () => {
    await createProjectGraphAsync({ exitOnError: false });
    const tags = readCachedProjectGraph().nodes['void-service']?.data.tags;
    expect(tags).toEqual(['scope:void', 'type:app']);
  });

  it('refuses a service importing another service', async () => {
    const errors = await boundaryErrors(
      'apps/void-service/src/app/cross.ts',
      "import { paymentServiceDefinition } from '../../../payment-service/src/app/payment-service.definition';\nexport const x = paymentServiceDefinition;\n",
    );
    expect(errors.join('\n')).toMatch(/relative or absolute path|Imports of apps are forbidden/);
  });

  it('refuses I/O in a domain library', async () => {
    const errors = await boundaryErrors(
      'libs/domain/money/src/lib/io.ts',
      "import { Kafka } from 'kafkajs';\nexport const k = Kafka;\n",
    );
    expect(errors.join('\n')).toMatch(/kafkajs/);
  });

  it('refuses production code importing the testing library', async () => {
    const errors = await boundaryErrors(
      'libs/messaging/src/lib/uses-testing.ts',
      "import { uniqueName } from '@pos/testing';\nexport const n = uniqueName('x');\n",
    );
    expect(errors.join('\n')).toMatch(/tagged with "type:data" can only depend on/);
  });

  it('accepts a service importing shared libraries', async () => {
    const errors = await boundaryErrors(
      'apps/void-service/src/app/fine.ts',
      "import { Topics } from '@pos/contracts';\nexport const t = Topics.voidEvents;\n",
    );
    expect(errors).toEqual([]);
  });
});
