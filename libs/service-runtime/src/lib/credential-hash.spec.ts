import { createHash } from 'node:crypto';
import { DEFAULT_SCRYPT_PARAMETERS, hashCredential, parseCredentialHash, verifyCredential } from './credential-hash';

const FAST = { N: 2 ** 14, r: 8, p: 1 };

describe('credential hashes (scrypt)', () => {
  it('verifies the secret it was made from, and nothing else', async () => {
    const stored = parseCredentialHash(await hashCredential('246810', FAST));
    expect(await verifyCredential('246810', stored)).toBe(true);
    expect(await verifyCredential('246811', stored)).toBe(false);
    expect(await verifyCredential('', stored)).toBe(false);
  });

  it('salts each hash: the same secret hashes differently', async () => {
    const [a, b] = await Promise.all([hashCredential('246810', FAST), hashCredential('246810', FAST)]);
    expect(a).not.toBe(b);
    expect(parseCredentialHash(a).salt.equals(parseCredentialHash(b).salt)).toBe(false);
  });

  it('writes its parameters into the hash, the defaults for new hashes', async () => {
    const text = await hashCredential('246810');
    expect(text).toMatch(/^scrypt\$N=32768:r=8:p=1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(parseCredentialHash(text).parameters).toEqual(DEFAULT_SCRYPT_PARAMETERS);
  });

  it('refuses a plain sha256, weak or malformed parameters, and a short salt, saying what to do', async () => {
    const sha = createHash('sha256').update('246810').digest('hex');
    expect(() => parseCredentialHash(sha)).toThrow(/plain sha256 is no longer accepted.*supervisor hash/);
    const good = await hashCredential('246810', FAST);
    expect(() => parseCredentialHash(good.replace('N=16384', 'N=1024'))).toThrow(/power of two from 2\^14/);
    expect(() => parseCredentialHash(good.replace('N=16384', 'N=20000'))).toThrow(/power of two/);
    expect(() => parseCredentialHash(good.replace('r=8', 'r=0'))).toThrow(/r must be/);
    const [, , salt] = good.split('$');
    expect(() => parseCredentialHash(good.replace(`$${salt}$`, '$AAAA$'))).toThrow(/expected scrypt/);
    expect(() => parseCredentialHash('bcrypt$xyz')).toThrow(/expected scrypt/);
  });
});
