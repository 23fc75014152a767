import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** A new signing secret: 32 random bytes, base64url, prefixed so it is recognised where it is pasted. */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

const VERSION = 'v1';

/**
 * Signing secrets at rest: the service must sign with them, so it keeps them, not a hash of
 * them; they are sealed with AES-256-GCM under WEBHOOK_SECRET_KEY (from the environment, never in
 * the database), with the merchant id as associated data, so neither a copy of the database nor
 * a sealed secret moved to another merchant's row gives a usable secret. A sealed secret names its
 * key by a fingerprint, so a secret sealed under another key is refused, not mis-decrypted.
 * Form: `v1.<key fingerprint>.<iv>.<tag>.<ciphertext>`, base64url parts.
 */
export class SecretSealer {
  private readonly fingerprint: string;

  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('the webhook secret key must be 32 bytes');
    this.fingerprint = createHash('sha256').update(key).digest('base64url').slice(0, 8);
  }

  seal(merchantId: string, secret: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(merchantId, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return [VERSION, this.fingerprint, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
  }

  open(merchantId: string, sealed: string): string {
    const [version, fingerprint, iv, tag, ciphertext] = sealed.split('.');
    if (version !== VERSION || ciphertext === undefined) throw new Error('not a sealed webhook secret');
    if (fingerprint !== this.fingerprint) throw new Error(`the secret was sealed under another WEBHOOK_SECRET_KEY (${fingerprint})`);
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(merchantId, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  }
}

/** WEBHOOK_SECRET_KEY: 32 bytes, as 64 hex digits or base64 (e.g. `openssl rand -base64 32`). */
export function parseSecretKey(text: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== 32) throw new Error('must be 32 bytes: 64 hex digits or base64 (openssl rand -base64 32)');
  return key;
}
