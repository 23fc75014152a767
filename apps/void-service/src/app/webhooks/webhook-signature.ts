import { createHmac } from 'node:crypto';

/** The header a delivery is signed in: `Pos-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>]`. */
export const SIGNATURE_HEADER = 'pos-signature';

/**
 * HMAC-SHA256, keyed with the merchant's signing secret (its UTF-8 text), over `<t>.<body>`: the
 * timestamp in Unix seconds, a dot, and the exact bytes of the request body. Hex, lower case.
 */
export function webhookSignature(secret: string, timestampSeconds: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestampSeconds}.${body}`, 'utf8').digest('hex');
}

/**
 * The header value for a delivery signed at `timestampSeconds`: one `v1=` per secret in force,
 * the current secret's first (after a rotation, the previous secret's too until its grace ends,
 * so a receiver may switch to the new secret at its own pace).
 */
export function signatureHeaderValue(secrets: readonly string[], timestampSeconds: number, body: string): string {
  if (secrets.length === 0) throw new Error('a delivery is signed with at least one secret');
  return [`t=${timestampSeconds}`, ...secrets.map((secret) => `v1=${webhookSignature(secret, timestampSeconds, body)}`)].join(',');
}
