import { hashCredential } from '@pos/service-runtime';
import { usageError } from '../exit-codes';

export interface SupervisorHashOptions {
  readonly merchant?: string;
  readonly operator?: string;
}

const IDENTIFIER = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

/**
 * A salted scrypt hash of a supervisor credential (主管密码), read from standard input (its first
 * line), for SUPERVISOR_CREDENTIALS: the hash alone, or the whole `merchant/operator:hash` entry.
 * The credential never appears on the command line, so not in the shell's history either.
 */
export async function supervisorHashCommand(input: string, options: SupervisorHashOptions): Promise<string> {
  if ((options.merchant === undefined) !== (options.operator === undefined)) throw usageError('--merchant and --operator go together');
  for (const id of [options.merchant, options.operator]) {
    if (id !== undefined && !IDENTIFIER.test(id)) throw usageError(`"${id}" is not a merchant or operator id`);
  }
  const credential = input.split(/\r?\n/)[0] ?? '';
  if (credential.length < 4 || credential.length > 128) {
    throw usageError('the credential must be 4 to 128 characters, on the first line of standard input', 'e.g. read -rs PIN && printf %s "$PIN" | npm run --silent ops -- supervisor hash');
  }
  const hash = await hashCredential(credential);
  return options.merchant !== undefined ? `${options.merchant}/${options.operator}:${hash}` : hash;
}
