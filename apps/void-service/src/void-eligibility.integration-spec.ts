import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { ChannelName, contractFor, Topics, UPSTREAM } from '@pos/contracts';
import { encodeEnvelope, InboundMessage, KafkajsBroker, MessageBroker, MessageConsumer, MessageProducer, NamespacedBroker } from '@pos/messaging';
import { hashApiKey, hashCredential } from '@pos/service-runtime';
import { BootedService, bootService } from '@pos/service-testing';
import { batchKeyOf, clearingSchedulesFrom } from '@pos/settlement-batches';
import { kafkaClientOf, testStack, uniqueName } from '@pos/testing';
import { voidServiceDefinition } from './app/void-service.definition';

/**
 * Asking before acting (GET /v1/payments/{id}/void-eligibility) and bulk voids (POST /v1/voids/bulk)
 * on real Kafka and PostgreSQL. The test plays the payment and clearing services on the service's
 * topics, and observes the decisions independently on voids.events.v1.
 */
const KEYS = { M100: 'key-of-merchant-100', M200: 'key-of-merchant-200' };
const SUPERVISOR_CREDENTIAL = '246810';
const schedules = clearingSchedulesFrom({});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Body = Record<string, unknown>;

interface Payment {
  paymentId: string;
  merchantId: string;
  terminalId: string;
  channel: ChannelName;
  amountFen: number;
  currency: 'CNY';
  outTradeNo: string;
  card?: { batchNo: string; voucherNo: string };
}

describe('void eligibility and bulk voids on real Kafka and PostgreSQL', () => {
  const stack = testStack();
  const prefix = `${uniqueName('voidelig')}.`;
  let service: BootedService;
  let broker: MessageBroker;
  let producer: MessageProducer;
  let observer: MessageConsumer;
  let db: Client;
  const voidEvents: InboundMessage[] = [];

  beforeAll(async () => {
    broker = new NamespacedBroker(new KafkajsBroker(kafkaClientOf(stack, uniqueName('void-elig-test'))), prefix);
    await broker.ensureTopics([{ name: Topics.voidEvents, partitions: 3 }]);
    // A fresh cluster answers "coordinator loading" to the first group joins for a few seconds.
    for (let attempt = 1; ; attempt++) {
      try {
        observer = await broker.createConsumer({ groupId: uniqueName('observer'), topics: [Topics.voidEvents], fromBeginning: true });
        await observer.run(async (message) => {
          voidEvents.push(message);
        });
        break;
      } catch (error) {
        await observer?.stop().catch(() => undefined);
        if (attempt >= 30) throw error;
        await sleep(1_000);
      }
    }
    service = await bootService(voidServiceDefinition, stack, {
      KAFKA_TOPIC_PREFIX: prefix,
      MERCHANT_API_KEYS: Object.entries(KEYS).map(([merchant, key]) => `${merchant}:${hashApiKey(key)}`).join(','),
      SUPERVISOR_CREDENTIALS: `M100/OP9:${await hashCredential(SUPERVISOR_CREDENTIAL)}`,
    });
    producer = await broker.createProducer();
    db = new Client({ connectionString: stack.postgresUrl });
    await db.connect();
  });

  afterAll(async () => {
    await observer?.stop();
    await producer?.disconnect();
    await broker?.close();
    await db?.end();
    await service?.close();
  });

  // ---------- playing the payment and clearing services ----------

  async function produce(topic: string, type: string, key: string, data: unknown): Promise<void> {
    const owner = contractFor(topic, type)?.producer ?? UPSTREAM;
    const source = owner === UPSTREAM ? '/test' : owner;
    await producer.send([encodeEnvelope(topic, { id: randomUUID(), type, source, time: new Date().toISOString(), schemaVersion: 1, key, data })]);
  }

  let orderSeq = 0;
  function newPayment(overrides: Partial<Payment> = {}): Payment {
    orderSeq += 1;
    return {
      paymentId: randomUUID(),
      merchantId: 'M100',
      terminalId: 'T1',
      channel: 'WECHAT',
      amountFen: 1999,
      currency: 'CNY',
      outTradeNo: `ELIG-${Date.now()}-${orderSeq}`,
      ...overrides,
    };
  }

  const batchOf = (p: Payment, succeededAt: Date) =>
    batchKeyOf({ merchantId: p.merchantId, terminalId: p.terminalId, channel: p.channel, succeededAt, cardBatchNo: p.card?.batchNo }, schedules);

  /** The payment succeeded and clearing announced its batch (ADR 0005); resolves once the void service knows both. */
  async function paymentSucceeded(p: Payment, succeededAt = new Date()): Promise<void> {
    await produce(Topics.paymentEvents, 'pos.payment.succeeded', p.merchantId, { ...p, succeededAt: succeededAt.toISOString(), channelTradeNo: `CH-${p.outTradeNo}` });
    const batch = batchOf(p, succeededAt);
    await produce(Topics.clearingEvents, 'pos.clearing.batch.opened', p.merchantId, {
      batchId: batch.batchId,
      merchantId: p.merchantId,
      channel: p.channel,
      ...(p.card ? { terminalId: p.terminalId, batchNo: p.card.batchNo } : {}),
      clearingDate: batch.clearingDate,
      opensAt: batch.window.opensAt.toISOString(),
      closesAt: batch.window.closesAt.toISOString(),
    });
    await until(async () => {
      const { rows } = await db.query(
        `SELECT 1 FROM "${service.schema}".payment_facts p, "${service.schema}".void_gates g WHERE p.payment_id = $1 AND p.status = 'SUCCEEDED' AND g.batch_id = $2`,
        [p.paymentId, batch.batchId],
      );
      return rows.length === 1;
    }, `payment ${p.paymentId} and its batch known`);
  }

  async function paymentCleared(p: Payment, succeededAt: Date): Promise<void> {
    await produce(Topics.clearingEvents, 'pos.clearing.payment.cleared', p.merchantId, {
      paymentId: p.paymentId,
      merchantId: p.merchantId,
      batchId: batchOf(p, succeededAt).batchId,
      amountFen: p.amountFen,
      clearedAt: new Date().toISOString(),
    });
    await until(async () => (await db.query(`SELECT 1 FROM "${service.schema}".cleared_payments WHERE payment_id = $1`, [p.paymentId])).rows.length === 1, 'cleared');
  }

  async function until(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(50);
    }
  }

  /** Waits until the batch of a payment made now is not about to cut off, so "before the cutoff" stays true. */
  async function clearOfCutoff(channel: ChannelName) {
    const now = new Date();
    const closesAt = batchKeyOf({ merchantId: 'M', terminalId: 'T', channel, succeededAt: now, cardBatchNo: '000001' }, schedules).window.closesAt;
    if (closesAt.getTime() - now.getTime() < 60_000) await sleep(closesAt.getTime() - now.getTime() + 100);
  }

  const eventsOf = (type: string, voidId: unknown) =>
    voidEvents.filter((m) => m.headers['ce_type'] === type && JSON.parse(m.value?.toString() ?? 'null').voidId === voidId);
  const eventsOfPayment = (paymentId: string) => voidEvents.filter((m) => JSON.parse(m.value?.toString() ?? 'null').paymentId === paymentId);

  // ---------- the service's HTTP API ----------

  async function eligibility(paymentId: string, options: { merchant?: keyof typeof KEYS; query?: string } = {}) {
    const response = await fetch(`${service.url}/v1/payments/${paymentId}/void-eligibility${options.query ?? ''}`, { headers: { 'x-api-key': KEYS[options.merchant ?? 'M100'] } });
    return { status: response.status, body: (await response.json()) as Body };
  }

  let keySeq = 0;
  const newKey = () => `elig-${Date.now()}-${++keySeq}`;

  async function requestVoid(body: Body, merchant: keyof typeof KEYS = 'M100') {
    const response = await fetch(`${service.url}/v1/voids`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': KEYS[merchant], 'idempotency-key': newKey() },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Body };
  }

  async function bulk(items: unknown[]) {
    const response = await fetch(`${service.url}/v1/voids/bulk`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': KEYS.M100 },
      body: JSON.stringify({ items }),
    });
    return { status: response.status, body: (await response.json()) as { items: Body[]; code?: string } };
  }

  const voidOf = (p: Payment, extra: Body = {}): Body => ({ terminalId: p.terminalId, paymentId: p.paymentId, amountFen: p.amountFen, operatorId: 'OP1', ...extra });

  async function decisionCount(): Promise<number> {
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM "${service.schema}".void_decisions`);
    return rows[0].n;
  }

  /** pos_void_decisions_total over all its series with these labels. */
  async function decisionsCounted(labels: string): Promise<number> {
    const text = await (await fetch(`${service.url}/metrics`)).text();
    return text
      .split('\n')
      .filter((line) => line.startsWith('pos_void_decisions_total{') && labels.split(',').every((label) => line.includes(label)))
      .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
  }

  // ---------- eligibility ----------

  it('says yes with the deadline before the cutoff, stores nothing, and the void sent then is accepted with the same deadline', async () => {
    await clearOfCutoff('WECHAT');
    const paidAt = new Date();
    const p = newPayment();
    await paymentSucceeded(p, paidAt);
    const batch = batchOf(p, paidAt);
    const decisionsBefore = await decisionCount();

    const asked = await eligibility(p.paymentId);
    expect(asked.status).toBe(200);
    expect(asked.body).toMatchObject({
      paymentId: p.paymentId,
      eligible: true,
      deadline: batch.window.closesAt.toISOString(),
      batchId: batch.batchId,
      channel: 'WECHAT',
      supervisorRequired: false,
      remedy: 'NONE',
    });
    const checkedAt = new Date(asked.body['checkedAt'] as string);
    expect(asked.body['secondsLeft']).toBe(Math.floor((batch.window.closesAt.getTime() - checkedAt.getTime()) / 1_000));
    expect(asked.body['secondsLeft']).toBeGreaterThan(0);
    // Asking is no decision: nothing stored, no event.
    expect(await decisionCount()).toBe(decisionsBefore);

    const voided = await requestVoid(voidOf(p));
    expect(voided.body).toMatchObject({ decision: 'ACCEPTED', deadline: asked.body['deadline'], batchId: asked.body['batchId'] });
    await until(() => eventsOf('pos.void.accepted', voided.body['voidId']).length === 1, 'accepted event');
    expect(eventsOfPayment(p.paymentId).filter((m) => m.headers['ce_type'] === 'pos.void.rejected')).toHaveLength(0);

    // Now voided: no, for the reason, remedy, message and deadline a second void is rejected with.
    const again = await eligibility(p.paymentId);
    const second = await requestVoid(voidOf(p, { operatorId: 'OP2' }));
    expect(again.body).toMatchObject({ eligible: false, reason: 'ALREADY_VOIDED', remedy: 'NONE' });
    expect(pick(again.body)).toEqual(pick(second.body));
  });

  it('says a card void needs a supervisor, from the payment\'s terminal only, and the void with one is accepted with the same deadline', async () => {
    await clearOfCutoff('UNIONPAY_CARD');
    const paidAt = new Date();
    const card = { batchNo: '000051', voucherNo: '000001' };
    const p = newPayment({ channel: 'UNIONPAY_CARD', terminalId: 'POS-9', card });
    await paymentSucceeded(p, paidAt);

    const asked = await eligibility(p.paymentId);
    expect(asked.body).toMatchObject({ eligible: true, supervisorRequired: true, batchId: batchOf(p, paidAt).batchId, deadline: batchOf(p, paidAt).window.closesAt.toISOString() });
    // From another terminal: no, as the void from there is answered.
    const elsewhere = await eligibility(p.paymentId, { query: '?terminalId=POS-8' });
    const fromElsewhere = await requestVoid(voidOf(p, { terminalId: 'POS-8', card, supervisor: { operatorId: 'OP9', credential: SUPERVISOR_CREDENTIAL } }));
    expect(elsewhere.body).toMatchObject({ eligible: false, reason: 'TERMINAL_MISMATCH', remedy: 'CORRECT_REQUEST' });
    expect(pick(elsewhere.body)).toEqual(pick(fromElsewhere.body));

    const voided = await requestVoid(voidOf(p, { card, supervisor: { operatorId: 'OP9', credential: SUPERVISOR_CREDENTIAL } }));
    expect(voided.body).toMatchObject({ decision: 'ACCEPTED', deadline: asked.body['deadline'], batchId: asked.body['batchId'] });
  });

  it('says no to a cleared payment, and to another merchant\'s exactly as to an unknown one, as the void then answers', async () => {
    await clearOfCutoff('WECHAT');
    const paidAt = new Date();
    const cleared = newPayment();
    await paymentSucceeded(cleared, paidAt);
    await paymentCleared(cleared, paidAt);
    const noCleared = await eligibility(cleared.paymentId);
    expect(noCleared.body).toMatchObject({ eligible: false, reason: 'ALREADY_CLEARED', remedy: 'REFUND' });
    expect(pick(noCleared.body)).toEqual(pick((await requestVoid(voidOf(cleared))).body));

    const theirs = newPayment({ merchantId: 'M200' });
    await paymentSucceeded(theirs, paidAt);
    expect((await eligibility(theirs.paymentId, { merchant: 'M200' })).body).toMatchObject({ eligible: true });
    const notFound = await eligibility(theirs.paymentId);
    const unknown = await eligibility(randomUUID());
    expect(notFound.status).toBe(200);
    expect(notFound.body).toMatchObject({ eligible: false, reason: 'PAYMENT_NOT_FOUND', remedy: 'RETRY_LATER' });
    expect(pick(notFound.body)).toEqual(pick(unknown.body));
    expect(Object.keys(notFound.body).sort()).toEqual(Object.keys(unknown.body).sort());
    expect(pick(notFound.body)).toEqual(pick((await requestVoid(voidOf(theirs))).body));

    // Bad input is a 4xx with its code, not an answer.
    expect((await eligibility('not-a-uuid')).body).toMatchObject({ code: 'INVALID_PAYMENT_ID' });
    const badTerminal = await eligibility(theirs.paymentId, { merchant: 'M200', query: '?terminalId=' });
    expect(badTerminal).toMatchObject({ status: 400, body: { code: 'INVALID_TERMINAL_ID' } });
  });

  // ---------- bulk ----------

  it('decides each item of a bulk request as POST /v1/voids would, in request order, with duplicates of a key one after the other', async () => {
    await clearOfCutoff('WECHAT');
    const paidAt = new Date();
    const [a, b, c] = [newPayment(), newPayment(), newPayment()];
    for (const p of [a, b, c]) await paymentSucceeded(p, paidAt);
    const firstOfC = await requestVoid(voidOf(c));
    expect(firstOfC.body).toMatchObject({ decision: 'ACCEPTED' });
    const acceptedBefore = await decisionsCounted('decision="ACCEPTED",source="HTTP"');
    const rejectedBefore = await decisionsCounted('decision="REJECTED",source="HTTP"');
    const replaysBefore = await replaysCounted();

    const keyOfB = newKey();
    const answer = await bulk([
      voidOf(a, { idempotencyKey: newKey() }),
      voidOf(a, { idempotencyKey: newKey(), amountFen: 0 }),
      voidOf(b),
      voidOf(b, { idempotencyKey: keyOfB }),
      voidOf(b, { idempotencyKey: keyOfB }),
      voidOf(b, { idempotencyKey: keyOfB, operatorId: 'OP2' }),
      voidOf(c, { idempotencyKey: newKey() }),
      { idempotencyKey: newKey(), terminalId: 'T1', amountFen: 1999, operatorId: 'OP1' },
      voidOf(newPayment(), { idempotencyKey: newKey() }),
      'not an object',
    ]);
    expect(answer.status).toBe(200);
    const items = answer.body.items;
    expect(items.map((item) => item['index'])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const [okA, badAmount, noKey, firstB, replayB, modifiedB, voidedC, noReference, unknownPayment, notObject] = items;
    expect(okA).toMatchObject({ status: 200, decision: { decision: 'ACCEPTED', paymentId: a.paymentId } });
    expect(badAmount).toMatchObject({ status: 400, error: { code: 'INVALID_AMOUNT' } });
    expect(noKey).toMatchObject({ status: 400, error: { code: 'IDEMPOTENCY_KEY_REQUIRED' } });
    expect(firstB).toMatchObject({ status: 200, decision: { decision: 'ACCEPTED', paymentId: b.paymentId, idempotencyKey: keyOfB } });
    expect(firstB['replayed']).toBeUndefined();
    expect(replayB).toMatchObject({ status: 200, replayed: true, decision: (firstB['decision'] as Body) });
    expect(modifiedB).toMatchObject({
      status: 200,
      decision: { decision: 'REJECTED', reason: 'MODIFIED_REQUEST', originalVoidId: (firstB['decision'] as Body)['voidId'] },
    });
    expect(voidedC).toMatchObject({ status: 200, decision: { decision: 'REJECTED', reason: 'ALREADY_VOIDED', remedy: 'NONE' } });
    expect(noReference).toMatchObject({ status: 400, error: { code: 'PAYMENT_REFERENCE_REQUIRED' } });
    expect(unknownPayment).toMatchObject({ status: 200, decision: { decision: 'REJECTED', reason: 'PAYMENT_NOT_FOUND', final: false } });
    expect(notObject).toMatchObject({ status: 400, error: { code: 'VALIDATION_FAILED' } });
    for (const invalid of [badAmount, noKey, noReference, notObject]) expect((invalid['error'] as Body)['message']).toEqual(expect.any(String));

    // The same item alone answers the same code.
    const alone = await fetch(`${service.url}/v1/voids`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': KEYS.M100 },
      body: JSON.stringify(voidOf(a, { idempotencyKey: newKey(), amountFen: 0 })),
    });
    expect(alone.status).toBe(400);
    expect(await alone.json()).toMatchObject({ code: 'INVALID_AMOUNT' });

    // Really decided, observed on voids.events.v1: one acceptance each for a and b, the rejections, nothing for invalid items.
    const decided = (item: Body) => (item['decision'] as Body)['voidId'];
    await until(() => eventsOf('pos.void.accepted', decided(okA)).length === 1 && eventsOf('pos.void.accepted', decided(firstB)).length === 1, 'accepted events');
    for (const rejected of [modifiedB, voidedC, unknownPayment]) {
      await until(() => eventsOf('pos.void.rejected', decided(rejected)).length === 1, `rejected event of item ${String(rejected['index'])}`);
    }
    await sleep(1_000);
    expect(eventsOfPayment(a.paymentId).filter((m) => m.headers['ce_type'] === 'pos.void.accepted')).toHaveLength(1);
    expect(eventsOfPayment(b.paymentId).filter((m) => m.headers['ce_type'] === 'pos.void.accepted')).toHaveLength(1);
    expect(eventsOfPayment(b.paymentId).filter((m) => m.headers['ce_type'] === 'pos.void.rejected')).toHaveLength(1);
    const { rows } = await db.query(`SELECT payment_id, voided_by FROM "${service.schema}".payment_facts WHERE payment_id = ANY($1::uuid[])`, [[a.paymentId, b.paymentId]]);
    expect(Object.fromEntries(rows.map((r) => [r.payment_id, r.voided_by]))).toEqual({ [a.paymentId]: decided(okA), [b.paymentId]: decided(firstB) });

    // Counted like single voids: two acceptances, three rejections, one replay.
    expect(await decisionsCounted('decision="ACCEPTED",source="HTTP"')).toBe(acceptedBefore + 2);
    expect(await decisionsCounted('decision="REJECTED",source="HTTP"')).toBe(rejectedBefore + 3);
    expect(await replaysCounted()).toBe(replaysBefore + 1);
  });

  it('decides many items of one request, a few at a time, each once', async () => {
    await clearOfCutoff('WECHAT');
    const paidAt = new Date();
    const payments = Array.from({ length: 24 }, () => newPayment());
    for (const p of payments) await paymentSucceeded(p, paidAt);
    const answer = await bulk(payments.map((p) => voidOf(p, { idempotencyKey: newKey() })));
    expect(answer.body.items.map((item) => [item['index'], (item['decision'] as Body)['decision'], (item['decision'] as Body)['paymentId']])).toEqual(
      payments.map((p, index) => [index, 'ACCEPTED', p.paymentId]),
    );
    await until(() => payments.every((p) => eventsOfPayment(p.paymentId).some((m) => m.headers['ce_type'] === 'pos.void.accepted')), 'all accepted events');
  });

  it('refuses an empty bulk request and one over the limit as a whole, deciding nothing', async () => {
    const before = await decisionCount();
    expect(await bulk([])).toMatchObject({ status: 400, body: { code: 'BULK_ITEMS_REQUIRED' } });
    const tooMany = await bulk(Array.from({ length: 101 }, () => voidOf(newPayment(), { idempotencyKey: newKey() })));
    expect(tooMany).toMatchObject({ status: 400, body: { code: 'BULK_TOO_MANY_ITEMS', details: { maxItems: 100 } } });
    expect(await decisionCount()).toBe(before);
  });

  async function replaysCounted(): Promise<number> {
    const text = await (await fetch(`${service.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('pos_void_decision_replays_total{source="HTTP"}'));
    return line ? Number(line.split(' ').pop()) : 0;
  }
});

/** What an eligibility "no" and a rejection share: the reason, the remedy, the message and the deadline that applied. */
function pick(body: Body): Body {
  return { reason: body['reason'], remedy: body['remedy'], message: body['message'], deadline: body['deadline'] };
}
