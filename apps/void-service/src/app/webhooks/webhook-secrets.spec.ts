import { randomBytes } from 'node:crypto';
import { newSigningSecret, parseSecretKey, SecretSealer } from './webhook-secrets';

describe('webhook signing secrets at rest', () => {
  const key = randomBytes(32);

  it('makes a new random secret each time', () => {
    const secret = newSigningSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(newSigningSecret()).not.toBe(secret);
  });

  it('seals a secret so that only the same key and merchant open it', () => {
    const sealer = new SecretSealer(key);
    const sealed = sealer.seal('M100', 'whsec_abc');
    expect(sealed).not.toContain('whsec_abc');
    expect(sealer.seal('M100', 'whsec_abc')).not.toBe(sealed);
    expect(sealer.open('M100', sealed)).toBe('whsec_abc');
    expect(() => sealer.open('M200', sealed)).toThrow();
    expect(() => new SecretSealer(randomBytes(32)).open('M100', sealed)).toThrow(/another WEBHOOK_SECRET_KEY/);
    const [version, fingerprint, iv, tag, ciphertext] = sealed.split('.');
    const tampered = Buffer.from(ciphertext, 'base64url');
    tampered[0] ^= 1;
    expect(() => sealer.open('M100', [version, fingerprint, iv, tag, tampered.toString('base64url')].join('.'))).toThrow();
  });

  it('reads the key as 64 hex digits or base64 of 32 bytes, nothing else', () => {
    expect(parseSecretKey(key.toString('hex'))).toEqual(key);
    expect(parseSecretKey(key.toString('base64'))).toEqual(key);
    expect(() => parseSecretKey('short')).toThrow(/32 bytes/);
    expect(() => parseSecretKey(randomBytes(16).toString('base64'))).toThrow(/32 bytes/);
  });
});
