import { EventEnvelope } from '@pos/contracts';
import { InboundMessage } from './broker.port';
import { deadLetterReasonOf, decodeEnvelope, encodeEnvelope, isRfc3339Instant } from './envelope-codec';

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
    ['an id of 201 characters', { headers: { ...inbound().headers, ce_id: 'x'.repeat(201) } }, 'INVALID_CE_ID'],
    ['a time that is a word', { headers: { ...inbound().headers, ce_time: 'yesterday' } }, 'INVALID_CE_TIME'],
    ['a time without an offset', { headers: { ...inbound().headers, ce_time: '2026-12-04T10:00:00' } }, 'INVALID_CE_TIME'],
    ['a time without seconds', { headers: { ...inbound().headers, ce_time: '2026-12-04T10:00+08:00' } }, 'INVALID_CE_TIME'],
    ['an offset without its colon', { headers: { ...inbound().headers, ce_time: '2026-12-04T10:00:00+0800' } }, 'INVALID_CE_TIME'],
    ['a day the calendar does not have', { headers: { ...inbound().headers, ce_time: '2026-02-30T10:00:00Z' } }, 'INVALID_CE_TIME'],
    ['a value that is not UTF-8', { value: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]) }, 'MALFORMED_ENCODING'],
  ] as const)('rejects %s with a reason', (_name, overrides, reason) => {
    const result = decodeEnvelope(inbound(overrides));
    expect(result).toMatchObject({ ok: false, reason });
  });

  it.each(['2026-12-04T10:00:00Z', '2026-12-04t10:00:00.123456z', '2026-12-04T10:00:00.9+08:00', '2026-12-31T23:59:60-05:30'])(
    'accepts the RFC 3339 instant %s',
    (time) => {
      expect(isRfc3339Instant(time)).toBe(true);
    },
  );

  it('carries the distributed tracing extension as ce_traceparent, both ways', () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const out = encodeEnvelope('payments.events.v1', { ...envelope, traceparent });
    expect(out.headers['ce_traceparent']).toBe(traceparent);
    expect(decodeEnvelope(inbound({ headers: out.headers }))).toEqual({ ok: true, envelope: { ...envelope, traceparent } });
  });

  it('accepts an event whose traceparent is malformed, leaving it out (its handler starts a new trace)', () => {
    for (const traceparent of ['not-a-trace', '00-00000000000000000000000000000000-00f067aa0ba902b7-01', '']) {
      expect(decodeEnvelope(inbound({ headers: { ...inbound().headers, ce_traceparent: traceparent } }))).toEqual({ ok: true, envelope });
    }
  });

  it('accepts an id of 200 characters', () => {
    expect(decodeEnvelope(inbound({ headers: { ...inbound().headers, ce_id: 'x'.repeat(200) } })).ok).toBe(true);
  });

  it('parks its own reasons under their names, the others as a malformed envelope', () => {
    expect(deadLetterReasonOf('INVALID_CE_TIME')).toBe('INVALID_CE_TIME');
    expect(deadLetterReasonOf('INVALID_CE_ID')).toBe('INVALID_CE_ID');
    expect(deadLetterReasonOf('MALFORMED_ENCODING')).toBe('MALFORMED_ENCODING');
    expect(deadLetterReasonOf('MISSING_HEADER')).toBe('MALFORMED_ENVELOPE');
  });
});
