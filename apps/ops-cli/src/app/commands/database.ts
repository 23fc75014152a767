import { assertRoleName, assertSchemaName, provisionServiceRoles } from '@pos/persistence';
import { CliError, ExitCode, usageError } from '../exit-codes';

export interface DbProvisionOptions {
  readonly schema: string;
  readonly owner: string;
  readonly runtime: string;
  readonly adminUrl?: string;
  readonly ownerPassword?: string;
  readonly runtimePassword?: string;
}

function checked(check: (value: string) => void, value: string): void {
  try {
    check(value);
  } catch (error) {
    throw usageError((error as Error).message);
  }
}

/**
 * A service's schema with its owner and runtime roles (ADR 0007), made or brought back to what they
 * should be by a database administrator; idempotent. Passwords come from the environment, never
 * from the command line.
 */
export async function dbProvisionCommand(options: DbProvisionOptions): Promise<string> {
  checked(assertSchemaName, options.schema);
  checked(assertRoleName, options.owner);
  checked(assertRoleName, options.runtime);
  if (!options.adminUrl) throw usageError('no administrator connection: set DATABASE_ADMIN_URL');
  if (!/^postgres(ql)?:\/\//.test(options.adminUrl)) throw usageError('DATABASE_ADMIN_URL is not a postgres:// URL');
  for (const [name, password] of [['DATABASE_OWNER_PASSWORD', options.ownerPassword], ['DATABASE_RUNTIME_PASSWORD', options.runtimePassword]] as const) {
    if (password === undefined || password.length < 16) throw usageError(`${name} must be set, to at least 16 characters`);
  }
  try {
    await provisionServiceRoles(options.adminUrl, {
      schema: options.schema,
      owner: { name: options.owner, password: options.ownerPassword as string },
      runtime: { name: options.runtime, password: options.runtimePassword as string },
    });
  } catch (error) {
    throw new CliError(ExitCode.failure, `provisioning schema ${options.schema} failed: ${(error as Error).message}`);
  }
  return `schema ${options.schema}: owned by ${options.owner} (migrations), used by ${options.runtime} (the service)`;
}
