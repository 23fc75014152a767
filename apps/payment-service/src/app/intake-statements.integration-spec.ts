import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { createDataSource, runMigrations } from '@pos/persistence';
import { testStack, uniqueName } from '@pos/testing';
import { Claim, claimPayments, recordSuccesses } from './intake-statements';
import { paymentServiceDefinition } from './payment-service.definition';

function claim(outTradeNo: string, overrides: Partial<Claim> = {}): Claim {
  const now = new Date('2026-11-29T03:00:00Z');
  return {
    paymentId: randomUUID(),
    merchantId: 'M100',
    terminalId: 'T1',
    channel: 'WECHAT',
    amountFen: 1234,
    currency: 'CNY',
    outTradeNo,
    maskedReference: '134567********5678',
    cardBatchNo: null,
    cardVoucherNo: null,
    requestHash: 'a'.repeat(64),
    intake: 'HTTP',
    now,
    nextQueryAt: new Date(now.getTime() + 30_000),
    businessDate: '2026-11-29',
    cause: 'accepted over HTTP',
    traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    ...overrides,
  };
}

describe('the intake statements in batched form, on real PostgreSQL', () => {
  const stack = testStack();
  let dataSource: DataSource;

  beforeEach(async () => {
    dataSource = createDataSource(
      { url: stack.postgresUrl, schema: uniqueName('intake') },
      { applicationName: 'intake-test', migrations: [...paymentServiceDefinition.migrations] },
    );
    await dataSource.initialize();
    await runMigrations(dataSource);
  });

  afterEach(() => dataSource.destroy());

  it('claims each free key once, also when one batch holds the same key twice or a key already taken', async () => {
    const [taken] = await claimPayments(dataSource.manager, [claim('ORDER-1')]);
    expect(taken?.status).toBe('PROCESSING');
    const batch = [claim('ORDER-2'), claim('ORDER-1'), claim('ORDER-3'), claim('ORDER-2')];
    const answers = await claimPayments(dataSource.manager, batch);
    expect(answers.map((row) => row?.payment_id)).toEqual([batch[0].paymentId, undefined, batch[2].paymentId, undefined]);
    expect(answers[0]).toEqual(expect.objectContaining({ out_trade_no: 'ORDER-2', amount_fen: '1234', business_date: '2026-11-29', status: 'PROCESSING' }));
    const payments = await dataSource.query(`SELECT out_trade_no FROM payments ORDER BY out_trade_no`);
    expect(payments.map((p: { out_trade_no: string }) => p.out_trade_no)).toEqual(['ORDER-1', 'ORDER-2', 'ORDER-3']);
    const changes = await dataSource.query(`SELECT count(*)::int AS n FROM payment_status_changes WHERE to_status = 'PROCESSING' AND from_status IS NULL`);
    expect(changes[0].n).toBe(3);
  });

  it('records successes only for payments still PROCESSING, each with its status change and its one event', async () => {
    const claims = [claim('ORDER-A'), claim('ORDER-B')];
    await claimPayments(dataSource.manager, claims);
    // ORDER-B moved on meanwhile (as if the poller had resolved it first).
    await dataSource.query(`UPDATE payments SET status = 'FAILED' WHERE payment_id = $1`, [claims[1].paymentId]);
    const now = new Date('2026-11-29T03:00:01Z');
    const traceparent = (n: number) => `00-${String(n).repeat(32)}-${String(n).repeat(16)}-01`;
    const success = (c: Claim, n: number) => ({
      paymentId: c.paymentId,
      now,
      businessDate: '2026-11-29',
      channelTradeNo: `CH-${n}`,
      cause: 'succeed',
      event: { eventId: randomUUID(), topic: 'payments.events.v1', key: 'M100', headers: JSON.stringify({ ce_type: 'pos.payment.succeeded' }), payload: JSON.stringify({ paymentId: c.paymentId }), traceparent: traceparent(n) },
    });
    const answers = await recordSuccesses(dataSource.manager, [success(claims[0], 1), success(claims[1], 2)]);
    expect(answers[0]).toEqual(expect.objectContaining({ payment_id: claims[0].paymentId, status: 'SUCCEEDED', channel_trade_no: 'CH-1', succeeded_at: now }));
    expect(answers[1]).toBeUndefined();
    const outbox = await dataSource.query(`SELECT payload->>'paymentId' AS payment_id, traceparent FROM outbox`);
    expect(outbox).toEqual([{ payment_id: claims[0].paymentId, traceparent: traceparent(1) }]);
    const changes = await dataSource.query(`SELECT payment_id FROM payment_status_changes WHERE to_status = 'SUCCEEDED'`);
    expect(changes).toEqual([{ payment_id: claims[0].paymentId }]);
  });
});
