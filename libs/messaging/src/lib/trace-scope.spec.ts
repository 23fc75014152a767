import { parseTraceparent, Topics } from '@pos/contracts';
import { systemClock } from '@pos/business-calendar';
import { MessageValidator } from './message-validator';
import { Outbox, OutboxMessage } from './outbox';
import { currentTrace, currentTraceparent, inTrace, traceparentForEvents } from './trace-scope';

const span = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', flags: '01' };
const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

const succeeded: OutboxMessage = {
  topic: Topics.paymentEvents,
  type: 'pos.payment.succeeded',
  key: 'M100',
  subject: 'a7c1a3f0-2b1e-4c52-9a43-64d1b8a0c001',
  data: {
    paymentId: 'a7c1a3f0-2b1e-4c52-9a43-64d1b8a0c001',
    merchantId: 'M100',
    terminalId: 'T1',
    channel: 'WECHAT',
    amountFen: 1999,
    currency: 'CNY',
    outTradeNo: 'ORDER-1',
    succeededAt: '2026-11-27T02:00:01.000Z',
    channelTradeNo: 'WX-1',
  },
};

describe('trace scope', () => {
  it('holds the span across awaits inside it, and nothing outside', async () => {
    expect(currentTrace()).toBeUndefined();
    await inTrace(span, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      expect(currentTrace()).toBe(span);
      expect(currentTraceparent()).toBe(traceparent);
    });
    expect(currentTraceparent()).toBeUndefined();
  });

  it('gives events written in a span its traceparent, and those written outside any a new trace each time', () => {
    expect(inTrace(span, traceparentForEvents)).toBe(traceparent);
    const [first, second] = [traceparentForEvents(), traceparentForEvents()].map(parseTraceparent);
    expect(first?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(second?.traceId).not.toBe(first?.traceId);
  });

  it('makes the outbox keep the span of the work that writes the events, apart from the other headers', () => {
    const outbox = new Outbox('/payment-service', new MessageValidator(), systemClock);
    const [entry] = inTrace(span, () => outbox.encode([succeeded]));
    expect(entry.traceparent).toBe(traceparent);
    expect(JSON.parse(entry.headers)).not.toHaveProperty('ce_traceparent');
    const insert = inTrace(span, () => outbox.insert([succeeded, succeeded]));
    expect(insert.sql).toContain('traceparent)');
    expect(insert.values.filter((value) => value === traceparent)).toHaveLength(2);
  });
});
