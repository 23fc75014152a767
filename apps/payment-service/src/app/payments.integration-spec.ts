import { deadLetterTopicOf, Topics } from '@pos/contracts';
import { DeadLetterHeaders, MessageBroker, MessageProducer } from '@pos/messaging';
import { bootService, BootedService } from '@pos/service-testing';
import { testStack } from '@pos/testing';
import { Client } from 'pg';
import {
  brokerFor,
  command,
  eventually,
  expectValidEvent,
  get,
  KEYS,
  MERCHANT_API_KEYS,
  post,
  TopicRecorder,
  walletPayment,
} from '../testing/payment-test-kit';
import { paymentServiceDefinition } from './payment-service.definition';

describe('payment service on real Kafka and PostgreSQL', () => {
  const stack = testStack();
  let service: BootedService;
  let broker: MessageBroker;
  let producer: MessageProducer;
  let events: TopicRecorder;
  let dead: TopicRecorder;
  let db: Client;

  beforeAll(async () => {
    service = await bootService(paymentServiceDefinition, stack, {
      MERCHANT_API_KEYS,
      PAYMENT_MAX_AMOUNT_FEN: '1000000',
      PAYMENT_POLL_INTERVAL_MS: '100',
      PAYMENT_PENDING_QUERY_INTERVAL_MS: '300',
    });
    broker = brokerFor(stack, `${service.schema}.`);
    producer = await broker.createProducer();
    events = await TopicRecorder.start(broker, [Topics.paymentEvents]);
    dead = await TopicRecorder.start(broker, [deadLetterTopicOf(Topics.paymentCommands), deadLetterTopicOf(Topics.voidEvents), deadLetterTopicOf(Topics.clearingEvents)]);
    db = new Client({ connectionString: stack.postgresUrl });
    await db.connect();
    await db.query(`SET search_path TO "${service.schema}"`);
  });

  afterAll(async () => {
    await events?.stop();
    await dead?.stop();
    await producer?.disconnect();
    await broker?.close();
    await db?.end();
    await service?.close();
  });

  const countPayments = async (outTradeNo: string) =>
    Number((await db.query(`SELECT count(*) AS n FROM payments WHERE out_trade_no = $1`, [outTradeNo])).rows[0].n);

  it('accepts a payment over HTTP and publishes exactly one schema-valid event keyed by merchant', async () => {
    const request = walletPayment('00');
    const created = await post(service.url, request);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'SUCCEEDED', merchantId: 'M100', amountFen: 1999, outTradeNo: request.outTradeNo, maskedReference: `**************${request.paymentCode.slice(-4)}` });
    expect(JSON.stringify(created.body)).not.toContain(request.paymentCode);
    const paymentId = created.body['paymentId'] as string;

    const [message] = await events.waitFor((_, d) => d['paymentId'] === paymentId, 1);
    expect(events.forPayment(paymentId)).toHaveLength(1);
    expect(message.key).toBe('M100');
    expect(message.headers['ce_subject']).toBe(paymentId);
    const data = expectValidEvent(message, Topics.paymentEvents, 'pos.payment.succeeded');
    expect(data).toMatchObject({ paymentId, merchantId: 'M100', amountFen: 1999, currency: 'CNY', outTradeNo: request.outTradeNo });

    // The raw payment code is nowhere in the database.
    const stored = await db.query(`SELECT * FROM payments WHERE payment_id = $1`, [paymentId]);
    expect(JSON.stringify(stored.rows)).not.toContain(request.paymentCode);
    const outbox = await db.query(`SELECT payload FROM outbox`);
    expect(JSON.stringify(outbox.rows)).not.toContain(request.paymentCode);
  });

  it('answers an identical replay with the same payment and concurrent duplicates with one payment and one event', async () => {
    const request = walletPayment('00');
    const first = await post(service.url, request);
    const replay = await post(service.url, request);
    expect(first.status).toBe(201);
    expect(replay.status).toBe(200);
    expect(replay.body['paymentId']).toBe(first.body['paymentId']);

    const racing = walletPayment('00', { channel: 'ALIPAY' });
    const answers = await Promise.all(Array.from({ length: 20 }, () => post(service.url, racing)));
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(19);
    expect(new Set(answers.map((a) => a.body['paymentId'])).size).toBe(1);
    expect(await countPayments(racing.outTradeNo)).toBe(1);
    const paymentId = answers[0].body['paymentId'] as string;
    await events.waitFor((_, d) => d['paymentId'] === paymentId, 1);
    expect(events.forPayment(paymentId)).toHaveLength(1);
    expect(events.forPayment(first.body['paymentId'] as string)).toHaveLength(1);
  });

  it('refuses the same outTradeNo with another payload as a modified request', async () => {
    const request = walletPayment('00');
    const first = await post(service.url, request);
    const modified = await post(service.url, { ...request, amountFen: 2000 });
    expect(modified).toMatchObject({ status: 409, body: { code: 'MODIFIED_REQUEST' } });
    const otherCode = await post(service.url, { ...request, paymentCode: request.paymentCode.replace(/00$/, '01') });
    expect(otherCode.body['code']).toBe('MODIFIED_REQUEST');
    expect(await countPayments(request.outTradeNo)).toBe(1);
    const paymentId = first.body['paymentId'] as string;
    await events.waitFor((_, d) => d['paymentId'] === paymentId, 1);
    expect(events.forPayment(paymentId)).toHaveLength(1);
  });

  it('refuses bad input at the edge with a machine-readable code', async () => {
    const cases: [unknown, number, string][] = [
      [walletPayment('00', { amountFen: 19.99 }), 400, 'AMOUNT_NOT_INTEGER'],
      [walletPayment('00', { amountFen: '1999' }), 400, 'AMOUNT_NOT_INTEGER'],
      [walletPayment('00', { amountFen: 0 }), 400, 'AMOUNT_NOT_POSITIVE'],
      [walletPayment('00', { amountFen: -5 }), 400, 'AMOUNT_NOT_POSITIVE'],
      [walletPayment('00', { amountFen: 1_000_001 }), 400, 'AMOUNT_TOO_LARGE'],
      [walletPayment('00', { channel: 'PAYPAL' }), 400, 'UNKNOWN_CHANNEL'],
      [walletPayment('00', { currency: 'USD' }), 400, 'UNSUPPORTED_CURRENCY'],
      [walletPayment('00', { channel: 'UNIONPAY_CARD', paymentCode: undefined }), 400, 'CARD_DETAILS_REQUIRED'],
      [walletPayment('00', { paymentCode: undefined }), 400, 'PAYMENT_CODE_REQUIRED'],
      [walletPayment('00', { outTradeNo: 'x'.repeat(33) }), 400, 'FIELD_INVALID'],
      [walletPayment('00', { extra: true }), 400, 'FIELD_INVALID'],
      [walletPayment('00', { merchantId: 'M200' }), 403, 'MERCHANT_MISMATCH'],
      [JSON.stringify({ ...walletPayment('00'), pad: 'x'.repeat(70_000) }), 413, 'PAYLOAD_TOO_LARGE'],
    ];
    for (const [body, status, code] of cases) {
      const answer = await post(service.url, body);
      expect({ code, answer: answer.body['code'], status: answer.status }).toEqual({ code, answer: code, status });
    }
    // The code of a body that is not JSON is the shared runtime's (MALFORMED_JSON by its contract); here: refused as 400.
    expect((await post(service.url, '{"merchantId": ')).status).toBe(400);
    const anonymous = await fetch(`${service.url}/v1/payments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(walletPayment()) });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
    const wrongKey = await post(service.url, walletPayment(), 'not-a-key');
    expect(wrongKey.status).toBe(401);
  });

  it('lets a merchant see only its own payments, by id, outTradeNo and business date', async () => {
    const request = walletPayment('00');
    const created = await post(service.url, request);
    const paymentId = created.body['paymentId'] as string;
    expect(await get(service.url, `/v1/payments/${paymentId}`)).toMatchObject({ status: 200, body: { paymentId, status: 'SUCCEEDED' } });
    expect(await get(service.url, `/v1/payments/${paymentId}`, KEYS.M200)).toMatchObject({ status: 404, body: { code: 'PAYMENT_NOT_FOUND' } });
    expect(await get(service.url, `/v1/payments/not-a-uuid`)).toMatchObject({ status: 400, body: { code: 'INVALID_PAYMENT_ID' } });
    expect(await get(service.url, `/v1/payments?outTradeNo=${request.outTradeNo}`, KEYS.M200)).toMatchObject({ status: 200, body: { items: [] } });
    const byOrder = await get(service.url, `/v1/payments?outTradeNo=${request.outTradeNo}`);
    expect(byOrder.body['items']).toEqual([created.body]);

    // M200 cannot act on M100's order number either: its own, separate payment is created.
    const m200 = await post(service.url, { ...request, merchantId: 'M200' }, KEYS.M200);
    expect(m200.status).toBe(201);
    expect(m200.body['paymentId']).not.toBe(paymentId);

    const businessDate = created.body['businessDate'] as string;
    const declined = await post(service.url, walletPayment('91'));
    expect(declined.body['status']).toBe('FAILED');
    const all: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await get(service.url, `/v1/payments?businessDate=${businessDate}&status=SUCCEEDED&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      const items = page.body['items'] as { paymentId: string; status: string; merchantId: string }[];
      expect(items.length).toBeLessThanOrEqual(2);
      for (const item of items) {
        expect(item).toMatchObject({ status: 'SUCCEEDED', merchantId: 'M100' });
        all.push(item.paymentId);
      }
      cursor = page.body['nextCursor'] as string | undefined;
    } while (cursor);
    expect(all).toContain(paymentId);
    expect(all).not.toContain(declined.body['paymentId']);
    expect(all).not.toContain(m200.body['paymentId']);
    expect(new Set(all).size).toBe(all.length);

    expect(await get(service.url, `/v1/payments`)).toMatchObject({ status: 400, body: { code: 'FIELD_REQUIRED' } });
    expect(await get(service.url, `/v1/payments?businessDate=2026-02-30`)).toMatchObject({ status: 400, body: { code: 'FIELD_INVALID' } });
    expect(await get(service.url, `/v1/payments?businessDate=${businessDate}&limit=1000`)).toMatchObject({ status: 400, body: { code: 'FIELD_INVALID' } });
    expect(await get(service.url, `/v1/payments?businessDate=${businessDate}&status=PAID`)).toMatchObject({ status: 400, body: { code: 'FIELD_INVALID' } });
  });

  it('follows the simulator: decline, USERPAYING resolved by querying, and timeout reversed (冲正)', async () => {
    const declined = await post(service.url, walletPayment('91'));
    expect(declined.body).toMatchObject({ status: 'FAILED', failureReason: 'DECLINED' });
    const paying = await post(service.url, walletPayment('92'));
    expect(paying.body['status']).toBe('PENDING');
    const cancelled = await post(service.url, walletPayment('93', { channel: 'ALIPAY' }));
    expect(cancelled.body['status']).toBe('PENDING');
    const timedOut = await post(service.url, walletPayment('94'));
    expect(timedOut.body).toMatchObject({ status: 'REVERSED' });
    const card = await post(service.url, walletPayment('00', { channel: 'UNIONPAY_CARD', paymentCode: undefined, card: { cardRef: 'tok_card_4400', batchNo: '000123', voucherNo: '000456' } }));
    expect(card.body).toMatchObject({ status: 'SUCCEEDED', card: { batchNo: '000123', voucherNo: '000456' }, maskedReference: '*********4400' });

    const idOf = (a: { body: Record<string, unknown> }) => a.body['paymentId'] as string;
    await eventually(() => get(service.url, `/v1/payments/${idOf(paying)}`), (a) => a.body['status'] === 'SUCCEEDED');
    await eventually(() => get(service.url, `/v1/payments/${idOf(cancelled)}`), (a) => a.body['status'] === 'FAILED');
    expect((await get(service.url, `/v1/payments/${idOf(cancelled)}`)).body['failureReason']).toBe('USER_CANCELLED');

    const typesOf = async (id: string, count: number) => {
      const messages = await events.waitFor((_, d) => d['paymentId'] === id, count);
      return messages.map((m) => {
        expectValidEvent(m, Topics.paymentEvents, m.headers['ce_type']);
        return m.headers['ce_type'];
      });
    };
    expect(await typesOf(idOf(declined), 1)).toEqual(['pos.payment.failed']);
    expect(await typesOf(idOf(paying), 2)).toEqual(['pos.payment.pending', 'pos.payment.succeeded']);
    expect(await typesOf(idOf(cancelled), 2)).toEqual(['pos.payment.pending', 'pos.payment.failed']);
    expect(await typesOf(idOf(timedOut), 1)).toEqual(['pos.payment.reversed']);
    const [cardEvent] = await events.waitFor((_, d) => d['paymentId'] === idOf(card), 1);
    expect(JSON.parse(cardEvent.value?.toString() ?? '{}')).toMatchObject({ card: { batchNo: '000123', voucherNo: '000456' } });

    const trail = await db.query(`SELECT from_status, to_status FROM payment_status_changes WHERE payment_id = $1 ORDER BY id`, [idOf(paying)]);
    expect(trail.rows).toEqual([
      { from_status: null, to_status: 'PROCESSING' },
      { from_status: 'PROCESSING', to_status: 'PENDING' },
      { from_status: 'PENDING', to_status: 'SUCCEEDED' },
    ]);
  });

  it('accepts commands over Kafka once, shares idempotency with HTTP, and parks bad commands with reasons', async () => {
    const good = walletPayment('00');
    const tooLarge = walletPayment('00', { amountFen: 1_000_001 });
    const last = walletPayment('00');
    const key = 'M100';
    const send = (data: unknown, overrides = {}) => command(Topics.paymentCommands, 'pos.payment.requested', data, key, overrides);
    const original = send(good);
    // One key, so one partition, in this order: each bad command must not hold up the next.
    await producer.send([
      original,
      { topic: Topics.paymentCommands, key, value: '{"merchantId": ', headers: original.headers },
      send(good), // the same command again under a new event id: a duplicate, one payment
      send(good, { schemaVersion: 7 }),
      send({ ...good, outTradeNo: undefined, amountFen: 'lots' }),
      send(tooLarge),
      send({ ...good, amountFen: 5 }),
      send(last),
    ]);

    const all = await dead.waitFor((m) => m.headers[DeadLetterHeaders.sourceTopic] === Topics.paymentCommands, 5);
    expect(all.map((m) => m.headers[DeadLetterHeaders.reason])).toEqual([
      'MALFORMED_ENVELOPE',
      'UNSUPPORTED_SCHEMA_VERSION',
      'SCHEMA_VIOLATION',
      'REJECTED_BY_HANDLER',
      'REJECTED_BY_HANDLER',
    ]);
    expect(all).toHaveLength(5);
    expect(all[3].headers[DeadLetterHeaders.detail]).toMatch(/AMOUNT_TOO_LARGE/);
    expect(all[4].headers[DeadLetterHeaders.detail]).toMatch(/MODIFIED_REQUEST/);
    for (const message of all) expect(message.headers[DeadLetterHeaders.consumerGroup]).toMatch(/payment-service\.commands$/);

    const byOrder = await eventually(() => get(service.url, `/v1/payments?outTradeNo=${last.outTradeNo}`), (a) => (a.body['items'] as unknown[]).length === 1);
    expect(byOrder.body['items']).toMatchObject([{ status: 'SUCCEEDED', amountFen: 1999 }]);
    expect(await countPayments(good.outTradeNo)).toBe(1);
    expect(await countPayments(tooLarge.outTradeNo)).toBe(0);

    // The same payment over HTTP afterwards is a replay of the Kafka one.
    const viaHttp = await post(service.url, good);
    expect(viaHttp.status).toBe(200);
    const paymentId = viaHttp.body['paymentId'] as string;
    const [event] = await events.waitFor((_, d) => d['paymentId'] === paymentId, 1);
    expect(events.forPayment(paymentId)).toHaveLength(1);
    expectValidEvent(event, Topics.paymentEvents, 'pos.payment.succeeded');
  });

  it('refuses a command for a merchant the platform does not know: parked as UNKNOWN_MERCHANT, nothing recorded', async () => {
    const stranger = walletPayment('00', { merchantId: 'M042' });
    const known = walletPayment('00');
    const refused = command(Topics.paymentCommands, 'pos.payment.requested', stranger, 'M042');
    await producer.send([refused, command(Topics.paymentCommands, 'pos.payment.requested', known, 'M100')]);

    const [parked] = await dead.waitFor((m) => m.headers['ce_id'] === refused.headers['ce_id'], 1);
    expect(parked.headers[DeadLetterHeaders.reason]).toBe('UNKNOWN_MERCHANT');
    expect(parked.headers[DeadLetterHeaders.detail]).toMatch(/M042/);
    await eventually(() => countPayments(known.outTradeNo), (n) => n === 1);
    expect(await countPayments(stranger.outTradeNo)).toBe(0);
    expect(events.where((_, d) => d['outTradeNo'] === stranger.outTradeNo)).toHaveLength(0);
  });

  it('reflects voids, clearing and settlement announced by the other services, and parks contradictions', async () => {
    const voided = (await post(service.url, walletPayment('00'))).body;
    const cleared = (await post(service.url, walletPayment('00'))).body;
    const now = new Date().toISOString();
    const batchId = `M100:WECHAT:${Date.now()}`;
    const voidAccepted = (payment: Record<string, unknown>) => ({
      voidId: '0b5b0a52-8a3e-4d7c-9b4e-3f0f6a1c2d11',
      idempotencyKey: `void-${payment['outTradeNo'] as string}`,
      merchantId: 'M100',
      terminalId: 'T1',
      decidedAt: now,
      paymentId: payment['paymentId'],
      outTradeNo: payment['outTradeNo'],
      channel: 'WECHAT',
      amountFen: 1999,
      batchId,
    });
    await producer.send([command(Topics.voidEvents, 'pos.void.accepted', voidAccepted(voided), 'M100')]);
    await producer.send([
      command(Topics.clearingEvents, 'pos.clearing.payment.cleared', { paymentId: cleared['paymentId'], merchantId: 'M100', batchId, amountFen: 1999, clearedAt: now }, 'M100'),
      command(Topics.clearingEvents, 'pos.clearing.batch.settled', { batchId, merchantId: 'M100', channel: 'WECHAT', clearingDate: '2026-11-27', settlementDate: '2026-11-30', settledAt: now }, 'M100'),
    ]);
    await eventually(() => get(service.url, `/v1/payments/${voided['paymentId'] as string}`), (a) => a.body['status'] === 'VOIDED');
    const settled = await eventually(() => get(service.url, `/v1/payments/${cleared['paymentId'] as string}`), (a) => a.body['status'] === 'SETTLED');
    expect(settled.body).toMatchObject({ batchId, clearedAt: expect.any(String), settledAt: expect.any(String) });

    // Never both: a void for the settled payment is parked for an operator, not applied.
    await producer.send([command(Topics.voidEvents, 'pos.void.accepted', voidAccepted(cleared), 'M100')]);
    const [parked] = await dead.waitFor((m) => m.headers[DeadLetterHeaders.sourceTopic] === Topics.voidEvents, 1);
    expect(parked.headers[DeadLetterHeaders.detail]).toMatch(/never both/);
    expect((await get(service.url, `/v1/payments/${cleared['paymentId'] as string}`)).body['status']).toBe('SETTLED');
  });

  // After the tests above: intake over HTTP and Kafka, declines, reversals, voids, clearing and settlement.
  it('counts in pos_payments_total every status change the audit trail records, by channel and status', async () => {
    const counted = async () => {
      const text = await (await fetch(`${service.url}/metrics`)).text();
      const found: Record<string, number> = {};
      for (const [, channel, status, value] of text.matchAll(/^pos_payments_total\{channel="([^"]+)",status="([^"]+)"\} (\d+)$/gm)) found[`${channel} ${status}`] = Number(value);
      return found;
    };
    const audited = async () => {
      const { rows } = await db.query<{ key: string; n: number }>(
        `SELECT p.channel || ' ' || c.to_status AS key, count(*)::int AS n
           FROM payment_status_changes c JOIN payments p USING (payment_id) GROUP BY 1`,
      );
      return Object.fromEntries(rows.map((row) => [row.key, row.n]));
    };
    // The poller may still be resolving a payment: read both sides again until they agree, or time out.
    const same = (seen: { counted: Record<string, number>; audited: Record<string, number> }) =>
      JSON.stringify(Object.entries(seen.counted).sort()) === JSON.stringify(Object.entries(seen.audited).sort());
    let seen = { counted: await counted(), audited: await audited() };
    for (const deadline = Date.now() + 20_000; !same(seen) && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      seen = { counted: await counted(), audited: await audited() };
    }
    expect(seen.counted).toEqual(seen.audited);
    for (const status of ['PROCESSING', 'SUCCEEDED', 'VOIDED', 'CLEARED', 'SETTLED']) expect(seen.counted[`WECHAT ${status}`]).toBeGreaterThan(0);
  });

  it('serves its OpenAPI document', async () => {
    const response = await fetch(`${service.url}/v1/openapi.json`);
    const document = (await response.json()) as { paths: Record<string, unknown> };
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/v1/payments', '/v1/payments/{paymentId}']));
  });
});
