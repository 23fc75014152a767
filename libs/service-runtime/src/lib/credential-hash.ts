import { randomBytes, scrypt, ScryptOptions, timingSafeEqual } from 'node:crypto';

/**
 * Salted slow hashes of short secrets (supervisor credentials, 主管密码), with scrypt from node:crypto.
 *
 * Written `scrypt$N=<cost>:r=<block size>:p=<parallelism>$<salt>$<hash>`, salt and hash in base64url
 * without padding: the parameters travel with each hash, so they can be raised for new hashes
 * while older ones still verify. Hashes run on libuv's thread pool, never on the event loop.
 */
export interface ScryptParameters {
  /** CPU and memory cost, a power of two: memory is 128 · N · r bytes (32 MiB for 2^15, r = 8). */
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

export interface CredentialHash {
  readonly parameters: ScryptParameters;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

/** For new hashes: 2^15, 8, 1 (docs/security.md gives the cost per verification). */
export const DEFAULT_SCRYPT_PARAMETERS: ScryptParameters = { N: 2 ** 15, r: 8, p: 1 };
/** The weakest parameters a configured hash may have. */
const MIN_COST = 2 ** 14;
const MAX_COST = 2 ** 20;
const SALT_BYTES = 16;
const HASH_BYTES = 32;

const FORMAT = /^scrypt\$N=([0-9]{1,8}):r=([0-9]{1,2}):p=([0-9]{1,2})\$([A-Za-z0-9_-]{22,})\$([A-Za-z0-9_-]{43})$/;

/** Parses a configured hash; throws with what is wrong (never with the text itself, it is a secret's hash). */
export function parseCredentialHash(text: string): CredentialHash {
  if (/^[0-9a-f]{64}$/i.test(text)) {
    throw new Error('a plain sha256 is no longer accepted: make a salted scrypt hash with `npm run ops -- supervisor hash`');
  }
  const match = FORMAT.exec(text);
  if (!match) throw new Error('expected scrypt$N=<cost>:r=<block size>:p=<parallelism>$<salt>$<hash> (`npm run ops -- supervisor hash` makes one)');
  const [N, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (N < MIN_COST || N > MAX_COST || (N & (N - 1)) !== 0) throw new Error(`scrypt N must be a power of two from 2^14 to 2^20, got ${N}`);
  if (r < 1 || r > 32 || p < 1 || p > 16) throw new Error(`scrypt r must be 1-32 and p 1-16, got r=${r} p=${p}`);
  const salt = Buffer.from(match[4], 'base64url');
  if (salt.length < SALT_BYTES) throw new Error(`the salt must have at least ${SALT_BYTES} bytes`);
  return { parameters: { N, r, p }, salt, hash: Buffer.from(match[5], 'base64url') };
}

function derive(secret: string, salt: Buffer, { N, r, p }: ScryptParameters): Promise<Buffer> {
  // scrypt needs 128 · N · r · p bytes of memory; node's default limit (32 MiB) is just below 2^15, r = 8.
  const options: ScryptOptions = { N, r, p, maxmem: 256 * N * r * p };
  return new Promise((resolve, reject) => scrypt(secret.normalize('NFC'), salt, HASH_BYTES, options, (error, key) => (error ? reject(error) : resolve(key))));
}

/** A new hash of `secret` with a fresh random salt. */
export async function hashCredential(secret: string, parameters: ScryptParameters = DEFAULT_SCRYPT_PARAMETERS): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(secret, salt, parameters);
  return `scrypt$N=${parameters.N}:r=${parameters.r}:p=${parameters.p}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

/** Whether `secret` matches the hash; compared in constant time. */
export async function verifyCredential(secret: string, stored: CredentialHash): Promise<boolean> {
  const actual = await derive(secret, stored.salt, stored.parameters);
  return timingSafeEqual(actual, stored.hash);
}
