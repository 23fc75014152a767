import { randomBytes, randomUUID } from 'node:crypto';
import { Topics } from '@pos/contracts';
import { encodeEnvelope, OutboundMessage } from '@pos/messaging';

/** What the services would publish about two payments of one merchant: one voided, one cleared. */
export function paymentStories(merchantId = 'M100') {
  const voided = randomUUID();
  const cleared = randomUUID();
  const batchId = `${merchantId}:WECHAT:20261127T150000Z`;
  let n = 0;
  const at = (hhmmss: string) => `2026-11-27T${hhmmss}+08:00`;
  // The traces the services would have given them: the payment's request, the void's, the batch's close.
  const traces = { payment: randomBytes(16).toString('hex'), void: randomBytes(16).toString('hex'), close: randomBytes(16).toString('hex') };
  const traced = (type: string, subject?: string): string | undefined => {
    if (type.startsWith('pos.payment.')) return subject === cleared ? undefined : traces.payment;
    if (type.startsWith('pos.void.')) return type === 'pos.void.gate-closed' ? traces.close : traces.void;
    return traces.close;
  };
  const msg = (topic: string, type: string, time: string, data: Record<string, unknown>, subject?: string): OutboundMessage => {
    const traceId = traced(type, subject);
    return encodeEnvelope(topic, {
      id: `evt-${++n}-${randomUUID()}`,
      type,
      source: '/fixture',
      time,
      schemaVersion: 1,
      key: merchantId,
      data,
      ...(subject ? { subject } : {}),
      ...(traceId ? { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` } : {}),
    });
  };
  const payment = (paymentId: string, outTradeNo: string, amountFen: number) => ({
    paymentId, merchantId, terminalId: 'T1', channel: 'WECHAT', amountFen, currency: 'CNY', outTradeNo,
  });
  const closing = { batchId, merchantId, channel: 'WECHAT', clearingDate: '2026-11-27' };
  const messages: OutboundMessage[] = [
    msg(Topics.paymentCommands, 'pos.payment.requested', at('10:00:00'), {
      merchantId, terminalId: 'T1', channel: 'WECHAT', amountFen: 1999, currency: 'CNY', outTradeNo: 'ORDER-V', paymentCode: '134567890123456789',
    }),
    msg(Topics.paymentEvents, 'pos.payment.succeeded', at('10:00:01'), { ...payment(voided, 'ORDER-V', 1999), succeededAt: at('10:00:01'), channelTradeNo: 'WX-V' }, voided),
    msg(Topics.paymentEvents, 'pos.payment.succeeded', at('11:00:00'), { ...payment(cleared, 'ORDER-C', 5000), succeededAt: at('11:00:00'), channelTradeNo: 'WX-C' }, cleared),
    msg(Topics.voidCommands, 'pos.void.requested', at('12:00:00'), {
      idempotencyKey: 'void-key-0001', merchantId, terminalId: 'T1', paymentId: voided, amountFen: 1999, operatorId: 'OP1',
    }),
    msg(Topics.voidEvents, 'pos.void.accepted', at('12:00:01'), {
      voidId: randomUUID(), idempotencyKey: 'void-key-0001', merchantId, terminalId: 'T1', decidedAt: at('12:00:01'),
      paymentId: voided, outTradeNo: 'ORDER-V', channel: 'WECHAT', amountFen: 1999, batchId,
    }, voided),
    msg(Topics.clearingEvents, 'pos.clearing.batch.closing', at('23:00:00'), { ...closing, reason: 'CUTOFF', cutoffAt: at('23:00:00') }, batchId),
    msg(Topics.voidEvents, 'pos.void.gate-closed', at('23:00:01'), { batchId, merchantId, closedAt: at('23:00:01'), acceptedVoids: 1 }, batchId),
    msg(Topics.clearingEvents, 'pos.clearing.payment.cleared', at('23:00:02'), { paymentId: cleared, merchantId, batchId, amountFen: 5000, clearedAt: at('23:00:02') }, cleared),
    msg(Topics.clearingEvents, 'pos.clearing.batch.closed', at('23:00:03'), {
      ...closing, reason: 'CUTOFF', closedAt: at('23:00:03'), paymentCount: 1, totalFen: 5000, voidedCount: 1, voidedFen: 1999, settlementDate: '2026-11-30',
    }, batchId),
  ];
  return { voided, cleared, batchId, traces, messages };
}
