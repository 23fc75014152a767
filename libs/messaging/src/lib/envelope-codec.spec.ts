import { EventEnvelope } from '@pos/contracts';
import { InboundMessage } from './broker.port';
import { decodeEnvelope, encodeEnvelope } from './envelope-codec';

const envelope: EventEnvelope<{ amountFen: number }> = {
  id: 'evt-1',
  type: 'pos.payment.succeeded',
  source: '/payment-service',
  time: '2026-11-27T22:59:59.900+08:00',
  schemaVersion: 1,
  subject: 'pay-1',
  key: 'M1:T1',
  data: { amountFen: 1234 },
};

function inbound(overrides: Partial<InboundMessage> = {}): InboundMessage {
  const out = encodeEnvelope('payments.events.v1', envelope);
  return {
    topic: out.topic,
    partition: 0,
    offset: '0',
    key: out.key,
    value: Buffer.from(String(out.value)),
    headers: out.headers,
    timestamp: 0,
    ...overrides,
  };
}

describe('envelope codec', () => {
  it('puts the CloudEvents attributes in ce_ headers and the data in the value', () => {
    const out = encodeEnvelope('payments.events.v1', envelope);
    expect(out.key).toBe('M1:T1');
    expect(out.headers).toEqual({
      ce_id: 'evt-1',
      ce_type: 'pos.payment.succeeded',
      ce_source: '/payment-service',
      ce_time: '2026-11-27T22:59:59.900+08:00',
      ce_specversion: '1.0',
      ce_schemaversion: '1',
      ce_subject: 'pay-1',
      'content-type': 'application/json',
    });
    expect(JSON.parse(String(out.value))).toEqual({ amountFen: 1234 });
  });

  it('decodes what it encodes', () => {
    expect(decodeEnvelope(inbound())).toEqual({ ok: true, envelope });
  });

  it.each([
    ['a missing id', { headers: { ...inbound().headers, ce_id: '' } }, 'MISSING_HEADER'],
    ['another spec version', { headers: { ...inbound().headers, ce_specversion: '0.3' } }, 'UNSUPPORTED_SPEC_VERSION'],
    ['a non-numeric schema version', { headers: { ...inbound().headers, ce_schemaversion: 'v2' } }, 'BAD_SCHEMA_VERSION'],
    ['a non-JSON content type', { headers: { ...inbound().headers, 'content-type': 'text/plain' } }, 'UNSUPPORTED_CONTENT_TYPE'],
    ['no key', { key: null }, 'MISSING_KEY'],
    ['a value that is not JSON', { value: Buffer.from('{not json') }, 'MALFORMED_JSON'],
    ['no value', { value: null }, 'MALFORMED_JSON'],
  ] as const)('rejects %s with a reason', (_name, overrides, reason) => {
    const result = decodeEnvelope(inbound(overrides));
    expect(result).toMatchObject({ ok: false, reason });
  });
});
