import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';

/** The operator id of each demo merchant's supervisor. */
export const DEMO_SUPERVISOR = 'SUP';

/** Where `npm start` writes the demo merchants' keys and supervisor credentials on its first run (git-ignored). */
export const DEMO_CREDENTIALS_FILE = '.cache/demo-credentials.env';

/**
 * The demo merchants' API keys and their supervisors' credentials, in clear: what terminals would
 * hold. The services are configured with their hashes only.
 */
export interface DemoCredentials {
  /** merchant id → API key */
  readonly apiKeys: ReadonlyMap<string, string>;
  /** merchant id → the credential (主管密码) of its supervisor DEMO_SUPERVISOR */
  readonly supervisorCredentials: ReadonlyMap<string, string>;
}

/** `M001:value,M002:value` (a value may contain `:`, never `,`). */
function pairs(text: string, name: string): Map<string, string> {
  const byMerchant = new Map<string, string>();
  for (const entry of text.split(',').map((e) => e.trim()).filter(Boolean)) {
    const colon = entry.indexOf(':');
    if (colon < 1) throw new Error(`${name}: expected merchantId:value, got an entry without one`);
    byMerchant.set(entry.slice(0, colon), entry.slice(colon + 1));
  }
  return byMerchant;
}

/** `KEY='value'` lines (as tools/run.sh writes them); comments and blank lines skipped. */
function envFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z_][A-Z0-9_]*)='([^']*)'$/.exec(line.trim());
    if (match) values[match[1]] = match[2];
  }
  return values;
}

/**
 * From DEMO_MERCHANT_KEYS and DEMO_SUPERVISOR_CREDENTIALS (`npm start` exports them), or else from
 * the file `npm start` wrote them to; nothing to guess.
 */
export function loadDemoCredentials(env: Readonly<Record<string, string | undefined>> = process.env, file = DEMO_CREDENTIALS_FILE): DemoCredentials {
  const source = env['DEMO_MERCHANT_KEYS'] ? env : existsSync(file) ? envFile(readFileSync(file, 'utf8')) : undefined;
  const keys = source?.['DEMO_MERCHANT_KEYS'];
  const credentials = source?.['DEMO_SUPERVISOR_CREDENTIALS'];
  if (!keys || !credentials) {
    throw new Error(`no demo credentials: set DEMO_MERCHANT_KEYS and DEMO_SUPERVISOR_CREDENTIALS, or run npm start once (it writes ${file})`);
  }
  return { apiKeys: pairs(keys, 'DEMO_MERCHANT_KEYS'), supervisorCredentials: pairs(credentials, 'DEMO_SUPERVISOR_CREDENTIALS') };
}

/** Fresh random credentials for these merchants (tests start their own services with them). */
export function randomDemoCredentials(merchants: readonly string[]): DemoCredentials {
  return {
    apiKeys: new Map(merchants.map((m) => [m, randomBytes(24).toString('base64url')])),
    supervisorCredentials: new Map(merchants.map((m) => [m, String(randomInt(0, 100_000_000)).padStart(8, '0')])),
  };
}
