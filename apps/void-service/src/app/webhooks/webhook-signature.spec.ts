import { createHmac } from 'node:crypto';
import { signatureHeaderValue, webhookSignature } from './webhook-signature';

describe('webhook signature', () => {
  const body = '{"specversion":"1.0","id":"e1"}';
  const timestamp = 1764900000;

  it('is HMAC-SHA256 over "<t>.<body>" with the secret, hex: a known vector (computed with openssl dgst -sha256 -hmac)', () => {
    expect(webhookSignature('whsec_test-secret', timestamp, body)).toBe('0508e1ab745cc83c13262ce25645bad7de5bc249af11aa2d665990b2f3196acd');
  });

  it('is what a receiver computes with node:crypto from the header timestamp and the raw body', () => {
    const header = signatureHeaderValue(['whsec_test-secret'], timestamp, body);
    const parts = header.split(',').map((part) => part.split('='));
    expect(parts[0]).toEqual(['t', String(timestamp)]);
    const expected = createHmac('sha256', 'whsec_test-secret').update(`${parts[0][1]}.${body}`).digest('hex');
    expect(parts.slice(1)).toEqual([['v1', expected]]);
  });

  it('carries one v1 per secret in force, the current first, during a rotation', () => {
    expect(signatureHeaderValue(['whsec_test-secret', 'whsec_previous'], timestamp, body)).toBe(
      't=1764900000,v1=0508e1ab745cc83c13262ce25645bad7de5bc249af11aa2d665990b2f3196acd,v1=861833a7ff16778c7553714b976d3355b62025cd14421215af2bcfdc62f535be',
    );
  });

  it('changes with any byte of the body or the timestamp', () => {
    const reference = webhookSignature('whsec_test-secret', timestamp, body);
    expect(webhookSignature('whsec_test-secret', timestamp + 1, body)).not.toBe(reference);
    expect(webhookSignature('whsec_test-secret', timestamp, body.replace('e1', 'e2'))).not.toBe(reference);
    expect(webhookSignature('whsec_other', timestamp, body)).not.toBe(reference);
  });

  it('needs a secret', () => {
    expect(() => signatureHeaderValue([], timestamp, body)).toThrow(/at least one secret/);
  });
});
