import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { register } from 'tsconfig-paths';

/**
 * Jest's global setup runs outside the test environment, without its moduleNameMapper: this
 * resolves the workspace's `@pos/*` imports (tsconfig.base.json paths) for it. Imported first.
 */
const root = join(__dirname, '..', '..', '..', '..');
const { compilerOptions } = JSON.parse(readFileSync(join(root, 'tsconfig.base.json'), 'utf8')) as { compilerOptions: { paths: Record<string, string[]> } };
register({ baseUrl: root, paths: compilerOptions.paths });
