import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { ChannelName, contractFor, deadLetterTopicOf, Topics, UPSTREAM } from '@pos/contracts';
import { parseCutoffSchedule } from '@pos/business-calendar';
import { CLOCK, encodeEnvelope, InboundMessage, KafkajsBroker, MessageBroker, MessageConsumer, MessageProducer, NamespacedBroker } from '@pos/messaging';
import { hashApiKey, hashCredential } from '@pos/service-runtime';
import { BootedService, bootService } from '@pos/service-testing';
import { batchKeyOf, clearingSchedulesFrom } from '@pos/settlement-batches';
import { kafkaClientOf, testStack, uniqueName } from '@pos/testing';
import { voidServiceDefinition } from './app/void-service.definition';

/**
 * The void service on real Kafka and PostgreSQL. The payment and clearing services are played by
 * the test: it produces their events onto the service's topics and reads the void events back.
 */
const KEYS = { M100: 'key-of-merchant-100', M200: 'key-of-merchant-200', M300: 'key-of-merchant-300', M400: 'key-of-merchant-400' };
const SUPERVISOR_CREDENTIAL = '246810';
/** M200's supervisor OP7, whom the lockout test locks. */
const LOCKED_SUPERVISOR_CREDENTIAL = '135790';
const LOCKOUT_MS = 8_000;
const schedules = clearingSchedulesFrom({});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface DecisionBody {
  [field: string]: unknown;
  voidId: string;
  merchantId: string;
  decision: string;
  reason?: string;
  remedy: string;
  paymentId?: string;
  code?: string;
}
interface ListBody {
  items: DecisionBody[];
  next?: string;
  code?: string;
}

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

describe('void service on real Kafka and PostgreSQL', () => {
  const stack = testStack();
  const prefix = `${uniqueName('voidit')}.`;
  let service: BootedService;
  let broker: MessageBroker;
  let producer: MessageProducer;
  let observer: MessageConsumer;
  let db: Client;
  const voidEvents: InboundMessage[] = [];
  const deadLetters: InboundMessage[] = [];

  beforeAll(async () => {
    broker = new NamespacedBroker(new KafkajsBroker(kafkaClientOf(stack, uniqueName('void-test'))), prefix);
    await broker.ensureTopics([Topics.voidEvents, deadLetterTopicOf(Topics.voidCommands)].map((name) => ({ name, partitions: 3 })));
    // A fresh cluster answers "coordinator loading" to the first group joins for a few seconds.
    for (let attempt = 1; ; attempt++) {
      try {
        observer = await broker.createConsumer({ groupId: uniqueName('observer'), topics: [Topics.voidEvents, deadLetterTopicOf(Topics.voidCommands)], fromBeginning: true });
        await observer.run(async (message) => {
          (message.topic === Topics.voidEvents ? voidEvents : deadLetters).push(message);
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
      SUPERVISOR_CREDENTIALS: `M100/OP9:${await hashCredential(SUPERVISOR_CREDENTIAL)},M200/OP7:${await hashCredential(LOCKED_SUPERVISOR_CREDENTIAL)}`,
      SUPERVISOR_LOCKOUT_DURATION: `${LOCKOUT_MS}ms`,
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

  // ---------- playing the other services ----------

  async function produce(topic: string, type: string, key: string, data: unknown, id = randomUUID()): Promise<string> {
    // Under the source of the service that owns the type, as that service would send it.
    const owner = contractFor(topic, type)?.producer ?? UPSTREAM;
    const source = owner === UPSTREAM ? '/test' : owner;
    await producer.send([encodeEnvelope(topic, { id, type, source, time: new Date().toISOString(), schemaVersion: 1, key, data })]);
    return id;
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
      outTradeNo: `ORDER-${Date.now()}-${orderSeq}`,
      ...overrides,
    };
  }

  /**
   * The payment service publishes the payment; clearing, which alone names batches (ADR 0005),
   * announces the batch that holds it (by default the default schedule's window) unless told not to.
   */
  async function paymentSucceeded(p: Payment, succeededAt = new Date(), announce: BatchWindow | 'none' = batchOf(p, succeededAt)): Promise<void> {
    await produce(Topics.paymentEvents, 'pos.payment.succeeded', p.merchantId, { ...p, succeededAt: succeededAt.toISOString(), channelTradeNo: `CH-${p.outTradeNo}` });
    if (announce !== 'none') await batchOpened(p, announce);
    await until(async () => (await paymentStatus(p.paymentId)) === 'SUCCEEDED', `payment ${p.paymentId} known`);
  }

  interface BatchWindow {
    readonly batchId: string;
    readonly clearingDate: string;
    readonly window: { readonly opensAt: Date; readonly closesAt: Date };
  }

  /** Clearing announces a batch of the payment's merchant and channel (and terminal and batch number for cards). */
  async function batchOpened(p: Payment, batch: BatchWindow): Promise<void> {
    await produce(Topics.clearingEvents, 'pos.clearing.batch.opened', p.merchantId, {
      batchId: batch.batchId,
      merchantId: p.merchantId,
      channel: p.channel,
      ...(p.card ? { terminalId: p.terminalId, batchNo: p.card.batchNo } : {}),
      clearingDate: batch.clearingDate,
      opensAt: batch.window.opensAt.toISOString(),
      closesAt: batch.window.closesAt.toISOString(),
    });
    await until(async () => (await gateStatus(batch.batchId)) !== undefined, `gate of ${batch.batchId}`);
  }

  async function paymentStatus(paymentId: string): Promise<string | undefined> {
    const { rows } = await db.query(`SELECT status FROM "${service.schema}".payment_facts WHERE payment_id = $1`, [paymentId]);
    return rows[0]?.status;
  }

  function batchOf(p: Payment, succeededAt: Date) {
    return batchKeyOf({ merchantId: p.merchantId, terminalId: p.terminalId, channel: p.channel, succeededAt, cardBatchNo: p.card?.batchNo }, schedules);
  }

  /** Clearing reports the payments cleared in their batch, one event each, in this order; resolves once all are recorded. */
  async function paymentsCleared(payments: Payment[], succeededAt: Date): Promise<void> {
    for (const p of payments) {
      await produce(Topics.clearingEvents, 'pos.clearing.payment.cleared', p.merchantId, {
        paymentId: p.paymentId,
        merchantId: p.merchantId,
        batchId: batchOf(p, succeededAt).batchId,
        amountFen: p.amountFen,
        clearedAt: new Date().toISOString(),
      });
    }
    const ids = payments.map((p) => p.paymentId);
    await until(async () => {
      const { rows } = await db.query(`SELECT 1 FROM "${service.schema}".cleared_payments WHERE payment_id = ANY($1::uuid[])`, [ids]);
      return rows.length === ids.length;
    }, 'cleared');
  }

  async function batchClosing(p: Payment, succeededAt: Date, reason: 'CUTOFF' | 'TERMINAL_SETTLEMENT', id = randomUUID(), cutoffAt?: Date) {
    const key = batchOf(p, succeededAt);
    await produce(
      Topics.clearingEvents,
      'pos.clearing.batch.closing',
      p.merchantId,
      {
        batchId: key.batchId,
        merchantId: key.merchantId,
        channel: key.channel,
        ...(key.terminalId ? { terminalId: key.terminalId, batchNo: key.batchNo } : {}),
        clearingDate: key.clearingDate,
        reason,
        cutoffAt: (cutoffAt ?? key.window.closesAt).toISOString(),
      },
      id,
    );
    return key;
  }

  async function gateStatus(batchId: string): Promise<string | undefined> {
    const { rows } = await db.query(`SELECT status FROM "${service.schema}".void_gates WHERE batch_id = $1`, [batchId]);
    return rows[0]?.status;
  }

  async function until(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(50);
    }
  }

  const eventsOf = (type: string, field: string, value: string) =>
    voidEvents.filter((m) => m.headers['ce_type'] === type && JSON.parse(m.value?.toString() ?? 'null')[field] === value);

  // ---------- the service's HTTP API ----------

  let keySeq = 0;
  const newKey = () => `it-${Date.now()}-${++keySeq}`;

  async function requestVoid(body: Record<string, unknown>, options: { merchant?: keyof typeof KEYS; key?: string } = {}) {
    const response = await fetch(`${service.url}/v1/voids`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': KEYS[options.merchant ?? 'M100'], 'idempotency-key': options.key ?? newKey() },
      body: JSON.stringify(body),
    });
    return { status: response.status, replayed: response.headers.get('idempotent-replayed') === 'true', body: (await response.json()) as DecisionBody };
  }

  const voidOf = (p: Payment, extra: Record<string, unknown> = {}) => ({
    terminalId: p.terminalId,
    paymentId: p.paymentId,
    amountFen: p.amountFen,
    operatorId: 'OP1',
    ...extra,
  });

  /** Waits until the batch of a payment made now is not about to cut off, so "before the cutoff" stays true. */
  async function clearOfCutoff(channel: ChannelName) {
    const now = new Date();
    const closesAt = batchKeyOf({ merchantId: 'M', terminalId: 'T', channel, succeededAt: now, cardBatchNo: '000001' }, schedules).window.closesAt;
    if (closesAt.getTime() - now.getTime() < 30_000) await sleep(closesAt.getTime() - now.getTime() + 100);
  }

  // ---------- the race with clearing (ADR 0002) ----------

  it('accepts a void before the cutoff and publishes it before the gate-closed of its batch, on the same partition', async () => {
    await clearOfCutoff('WECHAT');
    const paidAt = new Date();
    // A merchant of its own: closing its WeChat batch of the day must not affect the other tests.
    const p = newPayment({ merchantId: 'M300' });
    await paymentSucceeded(p, paidAt);

    const answer = await requestVoid(voidOf(p), { merchant: 'M300' });
    expect(answer.status).toBe(200);
    const key = batchOf(p, paidAt);
    expect(answer.body).toMatchObject({ decision: 'ACCEPTED', remedy: 'NONE', paymentId: p.paymentId, batchId: key.batchId, deadline: key.window.closesAt.toISOString() });

    // Clearing cuts the batch off; a redelivery of the same closing and a second closing change nothing.
    const closingId = randomUUID();
    await batchClosing(p, paidAt, 'CUTOFF', closingId);
    await batchClosing(p, paidAt, 'CUTOFF', closingId);
    await batchClosing(p, paidAt, 'CUTOFF');
    await until(() => eventsOf('pos.void.gate-closed', 'batchId', key.batchId).length > 0, 'gate-closed');
    await until(() => eventsOf('pos.void.confirmed', 'voidId', answer.body.voidId).length > 0, 'confirmed');

    const [accepted] = eventsOf('pos.void.accepted', 'voidId', answer.body.voidId);
    const [gateClosed] = eventsOf('pos.void.gate-closed', 'batchId', key.batchId);
    expect(accepted.key).toBe('M300');
    expect(gateClosed.key).toBe('M300');
    expect(gateClosed.partition).toBe(accepted.partition);
    expect(BigInt(gateClosed.offset)).toBeGreaterThan(BigInt(accepted.offset));
    expect(JSON.parse(gateClosed.value?.toString() ?? 'null')).toMatchObject({ batchId: key.batchId, merchantId: 'M300', acceptedVoids: 1 });
    expect(JSON.parse(accepted.value?.toString() ?? 'null')).toMatchObject({ paymentId: p.paymentId, amountFen: 1999, batchId: key.batchId, channel: 'WECHAT' });
    const [confirmed] = eventsOf('pos.void.confirmed', 'voidId', answer.body.voidId);
    expect(JSON.parse(confirmed.value?.toString() ?? 'null').customerMessage.zh).toContain('¥19.99');

    // Another payment of the same, now closed batch.
    const sibling = newPayment({ merchantId: 'M300' });
    await paymentSucceeded(sibling, paidAt);
    const late = await requestVoid(voidOf(sibling), { merchant: 'M300' });
    expect(late.body).toMatchObject({ decision: 'REJECTED', reason: 'CUTOFF_PASSED', remedy: 'REFUND', deadline: key.window.closesAt.toISOString() });

    await sleep(1_000);
    expect(eventsOf('pos.void.gate-closed', 'batchId', key.batchId)).toHaveLength(1);
  });

  it('rejects a void after the batch cutoff by the clock as CUTOFF_PASSED, even before clearing closed the gate', async () => {
    const paidAt = new Date(Date.now() - 2 * 24 * 3_600_000);
    const p = newPayment();
    await paymentSucceeded(p, paidAt);
    const answer = await requestVoid(voidOf(p));
    expect(answer.body).toMatchObject({
      decision: 'REJECTED',
      reason: 'CUTOFF_PASSED',
      remedy: 'REFUND',
      deadline: batchOf(p, paidAt).window.closesAt.toISOString(),
    });
    await until(() => eventsOf('pos.void.rejected', 'voidId', answer.body.voidId).length === 1, 'rejected event');
  });

  it('rejects a card void after manual terminal settlement (结算) as ALREADY_CLEARED, and checks card rules before it', async () => {
    await clearOfCutoff('UNIONPAY_CARD');
    const paidAt = new Date();
    const card = { batchNo: '000042', voucherNo: '000007' };
    const p = newPayment({ channel: 'UNIONPAY_CARD', terminalId: 'POS-7', card });
    const q = newPayment({ channel: 'UNIONPAY_CARD', terminalId: 'POS-7', card: { batchNo: '000042', voucherNo: '000008' } });
    await paymentSucceeded(p, paidAt);
    await paymentSucceeded(q, paidAt);
    const supervisor = { operatorId: 'OP9', credential: SUPERVISOR_CREDENTIAL };

    expect((await requestVoid(voidOf(p, { card, supervisor: { operatorId: 'OP9', credential: 'wrong-pin' } }))).body).toMatchObject({
      reason: 'SUPERVISOR_AUTH_REQUIRED',
      remedy: 'CORRECT_REQUEST',
    });
    expect((await requestVoid(voidOf(p, { card }))).body).toMatchObject({ reason: 'SUPERVISOR_AUTH_REQUIRED' });
    expect((await requestVoid(voidOf(p, { card: { ...card, voucherNo: '000099' }, supervisor }))).body).toMatchObject({ reason: 'CARD_REFERENCE_MISMATCH' });
    expect((await requestVoid(voidOf(p, { terminalId: 'POS-8', card, supervisor }))).body).toMatchObject({ reason: 'TERMINAL_MISMATCH' });
    expect((await requestVoid(voidOf(q, { card: q.card, supervisor }))).body).toMatchObject({ decision: 'ACCEPTED' });

    // Clearing cuts the batch at the settlement instant and opens its successor for the rest of the window.
    const settledAt = new Date();
    const key = await batchClosing(p, paidAt, 'TERMINAL_SETTLEMENT', randomUUID(), settledAt);
    const successor = { batchId: `${key.batchId}:2`, clearingDate: key.clearingDate, window: { opensAt: settledAt, closesAt: key.window.closesAt } };
    await until(async () => (await gateStatus(key.batchId)) === 'CLOSED', 'gate closed');
    const answer = await requestVoid(voidOf(p, { card, supervisor }));
    expect(answer.body).toMatchObject({ decision: 'REJECTED', reason: 'ALREADY_CLEARED', remedy: 'REFUND' });
    await until(() => eventsOf('pos.void.gate-closed', 'batchId', key.batchId).length === 1, 'gate-closed');
    expect(JSON.parse(eventsOf('pos.void.gate-closed', 'batchId', key.batchId)[0].value?.toString() ?? 'null').acceptedVoids).toBe(1);

    // A card payment of the same terminal and batch number after the settlement is decided on the successor.
    const after = newPayment({ channel: 'UNIONPAY_CARD', terminalId: 'POS-7', card: { batchNo: '000042', voucherNo: '000009' } });
    await paymentSucceeded(after, new Date(settledAt.getTime() + 10), successor);
    expect((await requestVoid(voidOf(after, { card: after.card, supervisor }))).body).toMatchObject({ decision: 'ACCEPTED', batchId: successor.batchId });
  });

  it('rejects a void of a payment clearing reported cleared as ALREADY_CLEARED', async () => {
    await clearOfCutoff('WECHAT');
    const p = newPayment();
    const paidAt = new Date();
    await paymentSucceeded(p, paidAt);
    await paymentsCleared([p], paidAt);
    const answer = (await requestVoid(voidOf(p))).body;
    expect(answer).toMatchObject({ reason: 'ALREADY_CLEARED', remedy: 'REFUND' });
    // Cleared is the state a void runs into; settled (paid out to the merchant) comes later.
    expect(answer['message']).toMatch(/batch has closed/);
    expect(answer['message']).not.toMatch(/settled/);
  });

  it('counts a payment clearing reports cleared after its void was accepted (invariant 1 broken) once, among the others of the batch', async () => {
    await clearOfCutoff('WECHAT');
    const [voided, other] = [newPayment(), newPayment()];
    const paidAt = new Date();
    await paymentSucceeded(voided, paidAt);
    await paymentSucceeded(other, paidAt);
    expect((await requestVoid(voidOf(voided))).body).toMatchObject({ decision: 'ACCEPTED' });
    await paymentsCleared([other, voided], paidAt);
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(/^pos_void_invariant_violations_total 1$/m);
  });

  it("decides on the batch and cutoff clearing named, never on a schedule of its own (ADR 0005)", async () => {
    await clearOfCutoff('ALIPAY');
    // Clearing runs another schedule than the default one: its batch of this payment cuts off in 1.5 s.
    const paidAt = new Date();
    const p = newPayment({ channel: 'ALIPAY' });
    const clearingCloses = new Date(paidAt.getTime() + 1_500);
    const batchId = `${p.merchantId}:ALIPAY:clearing-named-${randomUUID()}`;
    await paymentSucceeded(p, paidAt, { batchId, clearingDate: batchOf(p, paidAt).clearingDate, window: { opensAt: new Date(paidAt.getTime() - 60_000), closesAt: clearingCloses } });
    await sleep(clearingCloses.getTime() - Date.now() + 50);
    // The default schedule would still have the batch open until midnight: clearing's cutoff decides.
    expect((await requestVoid(voidOf(p))).body).toMatchObject({
      decision: 'REJECTED',
      reason: 'CUTOFF_PASSED',
      remedy: 'REFUND',
      deadline: clearingCloses.toISOString(),
    });
  });

  it('answers CLEARING_PENDING until clearing named the batch, then decides afresh under the same key', async () => {
    await clearOfCutoff('WECHAT');
    const paidAt = new Date();
    // A merchant of its own, whose batch of the day no other test announced.
    const p = newPayment({ merchantId: 'M400' });
    await paymentSucceeded(p, paidAt, 'none');
    const key = newKey();
    const first = await requestVoid(voidOf(p), { key, merchant: 'M400' });
    expect(first.body).toMatchObject({ decision: 'REJECTED', reason: 'CLEARING_PENDING', remedy: 'RETRY_LATER', final: false });
    await batchOpened(p, batchOf(p, paidAt));
    const second = await requestVoid(voidOf(p), { key, merchant: 'M400' });
    expect(second.replayed).toBe(false);
    expect(second.body).toMatchObject({ decision: 'ACCEPTED', batchId: batchOf(p, paidAt).batchId, final: true });
    const third = await requestVoid(voidOf(p), { key, merchant: 'M400' });
    expect(third.replayed).toBe(true);
    expect(third.body.voidId).toBe(second.body.voidId);
  });

  it('lets a terminal retry a retry-later or supervisor answer with the same key, and replays only final answers', async () => {
    await clearOfCutoff('UNIONPAY_CARD');
    const unknown = newPayment();
    const key = newKey();
    expect((await requestVoid(voidOf(unknown), { key })).body).toMatchObject({ reason: 'PAYMENT_NOT_FOUND', remedy: 'RETRY_LATER', final: false });
    await paymentSucceeded(unknown);
    expect((await requestVoid(voidOf(unknown), { key })).body).toMatchObject({ decision: 'ACCEPTED' });

    const card = { batchNo: '000051', voucherNo: '000001' };
    const p = newPayment({ channel: 'UNIONPAY_CARD', terminalId: 'POS-9', card });
    await paymentSucceeded(p);
    const cardKey = newKey();
    expect((await requestVoid(voidOf(p, { card }), { key: cardKey })).body).toMatchObject({ reason: 'SUPERVISOR_AUTH_REQUIRED', final: false });
    const supervisor = { operatorId: 'OP9', credential: SUPERVISOR_CREDENTIAL };
    const authorised = await requestVoid(voidOf(p, { card, supervisor }), { key: cardKey });
    expect(authorised.body).toMatchObject({ decision: 'ACCEPTED', final: true });
    // A final answer owns the key: a retry with a wrong credential is answered with it, not decided again.
    const replay = await requestVoid(voidOf(p, { card, supervisor: { operatorId: 'OP9', credential: 'wrong' } }), { key: cardKey });
    expect(replay.replayed).toBe(true);
    expect(replay.body.voidId).toBe(authorised.body.voidId);
  });

  it('locks a supervisor after wrong credentials: ten lock it, its correct one is then SUPERVISOR_LOCKED, and works once the lock has expired', async () => {
    await clearOfCutoff('UNIONPAY_CARD');
    const card = { batchNo: '000061', voucherNo: '000001' };
    const p = newPayment({ merchantId: 'M200', channel: 'UNIONPAY_CARD', terminalId: 'POS-3', card });
    await paymentSucceeded(p);
    const key = newKey();
    const attempt = (credential: string) => requestVoid(voidOf(p, { card, supervisor: { operatorId: 'OP7', credential } }), { merchant: 'M200', key });

    const answers = [];
    for (let i = 0; i < 10; i++) answers.push((await attempt(`wrong-${i}`)).body);
    // The default: five wrong credentials within 15 minutes lock; the fifth is answered with the lock.
    expect(answers.map((a) => a.reason)).toEqual([...Array(4).fill('SUPERVISOR_AUTH_REQUIRED'), ...Array(6).fill('SUPERVISOR_LOCKED')]);
    expect(answers[9]).toMatchObject({ decision: 'REJECTED', remedy: 'RETRY_LATER', final: false });
    const refused = await attempt(LOCKED_SUPERVISOR_CREDENTIAL);
    expect(refused.body).toMatchObject({ decision: 'REJECTED', reason: 'SUPERVISOR_LOCKED', remedy: 'RETRY_LATER', final: false });
    // Another merchant's supervisor is not affected.
    const other = newPayment({ channel: 'UNIONPAY_CARD', terminalId: 'POS-4', card: { batchNo: '000062', voucherNo: '000001' } });
    await paymentSucceeded(other);
    expect((await requestVoid(voidOf(other, { card: other.card, supervisor: { operatorId: 'OP9', credential: SUPERVISOR_CREDENTIAL } }))).body).toMatchObject({ decision: 'ACCEPTED' });

    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(/^pos_void_supervisor_lockouts_total 1$/m);
    expect(metrics).toMatch(/^pos_void_supervisor_checks_total\{verdict="LOCKED"\} 7$/m);
    const { rows: locks } = await db.query(`SELECT locked_at, locked_until, failures FROM "${service.schema}".supervisor_lockouts WHERE merchant_id = 'M200' AND operator_id = 'OP7'`);
    expect(locks).toHaveLength(1);
    expect(locks[0].failures).toBe(5);
    expect(locks[0].locked_until.getTime() - locks[0].locked_at.getTime()).toBe(LOCKOUT_MS);

    await sleep(locks[0].locked_until.getTime() - Date.now() + 200);
    const accepted = await attempt(LOCKED_SUPERVISOR_CREDENTIAL);
    expect(accepted.body).toMatchObject({ decision: 'ACCEPTED', final: true });

    // The audit trail has the refusals, the lock and the authorised void, and no credential.
    const { rows: audit } = await db.query(`SELECT action, outcome, target, details FROM "${service.schema}".audit_log WHERE actor = 'M200/OP7' ORDER BY id`);
    expect(audit.map((r) => r.action)).toEqual([
      ...Array(4).fill('supervisor.credential-refused'),
      'supervisor.locked',
      ...Array(7).fill('supervisor.credential-refused'),
      'void.supervisor-authorised',
    ]);
    expect(audit[12]).toMatchObject({ outcome: 'SUCCEEDED', target: p.paymentId, details: { voidId: accepted.body.voidId } });
    expect(JSON.stringify(audit)).not.toMatch(/wrong-|135790/);
  });

  it('decides, stores and re-checks a void at one reading of the clock: never accepted with a decision time at or after the cutoff', async () => {
    await clearOfCutoff('WECHAT');
    const paidAt = new Date();
    const p = newPayment();
    const batch = batchOf(p, paidAt);
    const closesAt = new Date(paidAt.getTime() + 60_000);
    await paymentSucceeded(p, paidAt, { ...batch, batchId: `${batch.batchId}-clock-${randomUUID()}`, window: { opensAt: batch.window.opensAt, closesAt } });
    // The service's clock reads just before the cutoff once, and after it from then on (a request that took its time).
    const clock = service.app.get<{ now: () => Date }>(CLOCK);
    const real = clock.now;
    let readings = 0;
    clock.now = () => (++readings === 1 ? new Date(closesAt.getTime() - 1) : new Date(closesAt.getTime() + 1_000));
    try {
      const answer = await requestVoid(voidOf(p));
      const decidedAt = new Date(String(answer.body['decidedAt']));
      if (answer.body.decision === 'ACCEPTED') expect(decidedAt.getTime()).toBeLessThan(closesAt.getTime());
      else expect(answer.body).toMatchObject({ reason: 'CUTOFF_PASSED' });
    } finally {
      clock.now = real;
    }
  });

  it('answers PAYMENT_REFERENCE_MISMATCH (correct the request) for a payment id and order number of two payments', async () => {
    await clearOfCutoff('WECHAT');
    const [p, q] = [newPayment(), newPayment()];
    await paymentSucceeded(p);
    await paymentSucceeded(q);
    expect((await requestVoid(voidOf(p, { outTradeNo: q.outTradeNo }))).body).toMatchObject({
      decision: 'REJECTED',
      reason: 'PAYMENT_REFERENCE_MISMATCH',
      remedy: 'CORRECT_REQUEST',
      final: true,
    });
  });

  // ---------- exactly once ----------

  it('answers retries and concurrent duplicates of one key with one decision and one event; a changed payload is MODIFIED_REQUEST', async () => {
    await clearOfCutoff('WECHAT');
    const p = newPayment();
    await paymentSucceeded(p);
    const key = newKey();
    const answers = await Promise.all(Array.from({ length: 12 }, () => requestVoid(voidOf(p), { key })));
    const voidIds = new Set(answers.map((a) => a.body.voidId));
    expect(voidIds.size).toBe(1);
    expect(answers.every((a) => a.status === 200 && a.body.decision === 'ACCEPTED')).toBe(true);
    expect(answers.filter((a) => !a.replayed)).toHaveLength(1);
    const again = await requestVoid(voidOf(p), { key });
    expect(again.body).toEqual(answers[0].body);
    expect(again.replayed).toBe(true);

    const modified = await requestVoid(voidOf(p, { amountFen: 1000 }), { key });
    expect(modified.body).toMatchObject({ decision: 'REJECTED', reason: 'MODIFIED_REQUEST', remedy: 'CORRECT_REQUEST', originalVoidId: answers[0].body.voidId });
    expect(modified.body.voidId).not.toBe(answers[0].body.voidId);

    await until(() => eventsOf('pos.void.accepted', 'voidId', answers[0].body.voidId).length === 1, 'accepted event');
    await sleep(1_000);
    expect(eventsOf('pos.void.accepted', 'paymentId', p.paymentId)).toHaveLength(1);
  });

  it('accepts exactly one of several different voids of one payment at the same instant; the others are ALREADY_VOIDED', async () => {
    await clearOfCutoff('WECHAT');
    const p = newPayment();
    await paymentSucceeded(p);
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => requestVoid(voidOf(p, { operatorId: `OP${i}` }))));
    expect(answers.filter((a) => a.body.decision === 'ACCEPTED')).toHaveLength(1);
    expect(answers.filter((a) => a.body.reason === 'ALREADY_VOIDED')).toHaveLength(7);
    const history = (await (await fetch(`${service.url}/v1/payments/${p.paymentId}/voids`, { headers: { 'x-api-key': KEYS.M100 } })).json()) as ListBody;
    expect(history.items).toHaveLength(8);
    expect(history.items[0].decision).toBe('ACCEPTED');
  });

  // ---------- who may see what ----------

  it("refuses another merchant's payment exactly like an unknown one, and hides its decisions", async () => {
    await clearOfCutoff('WECHAT');
    const p = newPayment();
    await paymentSucceeded(p);
    const foreign = await requestVoid(voidOf(p), { merchant: 'M200' });
    const unknown = await requestVoid(voidOf(newPayment()), { merchant: 'M200' });
    expect(foreign.body).toMatchObject({ decision: 'REJECTED', reason: 'PAYMENT_NOT_FOUND', remedy: 'RETRY_LATER' });
    const shape = (body: DecisionBody) => Object.keys(body).sort();
    expect(shape(foreign.body)).toEqual(shape(unknown.body));
    expect(foreign.body.channel).toBeUndefined();
    expect(foreign.body.batchId).toBeUndefined();

    const own = await requestVoid(voidOf(p));
    expect(own.body.decision).toBe('ACCEPTED');
    const peek = await fetch(`${service.url}/v1/voids/${own.body.voidId}`, { headers: { 'x-api-key': KEYS.M200 } });
    expect(peek.status).toBe(404);
    expect(await peek.json()).toMatchObject({ code: 'VOID_NOT_FOUND' });
    const mine = await fetch(`${service.url}/v1/voids/${own.body.voidId}`, { headers: { 'x-api-key': KEYS.M100 } });
    // The decision as answered, and (ADR 0008) its execution at the channel.
    expect(await mine.json()).toEqual({ ...own.body, execution: expect.objectContaining({ state: expect.stringMatching(/^(PENDING|EXECUTED)$/) }) });
    const mixed = await requestVoid({ ...voidOf(p), merchantId: 'M100' }, { merchant: 'M200' });
    expect(mixed).toMatchObject({ status: 403, body: { code: 'MERCHANT_MISMATCH' } });
  });

  it('says why and what next for pending, unknown, failed and partial voids', async () => {
    const pending = newPayment();
    await produce(Topics.paymentEvents, 'pos.payment.pending', 'M100', { ...pending, pendingSince: new Date().toISOString() });
    await until(async () => (await paymentStatus(pending.paymentId)) === 'PENDING', 'pending known');
    expect((await requestVoid(voidOf(pending))).body).toMatchObject({ reason: 'PAYMENT_PENDING', remedy: 'RETRY_LATER' });

    const failed = newPayment();
    await produce(Topics.paymentEvents, 'pos.payment.failed', 'M100', { ...failed, failedAt: new Date().toISOString(), reason: 'DECLINED' });
    await until(async () => (await paymentStatus(failed.paymentId)) === 'FAILED', 'failed known');
    expect((await requestVoid(voidOf(failed))).body).toMatchObject({ reason: 'PAYMENT_NOT_SUCCEEDED', remedy: 'NONE' });

    expect((await requestVoid(voidOf(newPayment()))).body).toMatchObject({ reason: 'PAYMENT_NOT_FOUND', remedy: 'RETRY_LATER' });

    await clearOfCutoff('WECHAT');
    const p = newPayment();
    await paymentSucceeded(p);
    expect((await requestVoid(voidOf(p, { amountFen: 999 }))).body).toMatchObject({ reason: 'AMOUNT_MISMATCH', remedy: 'REFUND' });
    // By the merchant's order number instead of the payment id.
    expect((await requestVoid({ terminalId: 'T1', outTradeNo: p.outTradeNo, amountFen: 1999, operatorId: 'OP1' })).body).toMatchObject({
      decision: 'ACCEPTED',
      paymentId: p.paymentId,
    });
  });

  it('refuses invalid requests at the edge with 4xx codes, not decisions', async () => {
    const p = newPayment();
    for (const amountFen of [0, -1, 12.5, '100']) {
      expect(await requestVoid(voidOf(p, { amountFen }))).toMatchObject({ status: 400, body: { code: 'INVALID_AMOUNT' } });
    }
    expect(await requestVoid({ terminalId: 'T1', amountFen: 1, operatorId: 'OP1' })).toMatchObject({ status: 400, body: { code: 'PAYMENT_REFERENCE_REQUIRED' } });
    expect(await requestVoid(voidOf(p, { currency: 'USD' }))).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    expect(await requestVoid(voidOf(p), { key: 'short' })).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    const noKey = await fetch(`${service.url}/v1/voids`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(voidOf(p)) });
    expect(noKey.status).toBe(401);
    const malformed = await fetch(`${service.url}/v1/voids`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': KEYS.M100, 'idempotency-key': newKey() },
      body: '{"terminalId": ',
    });
    expect(malformed.status).toBe(400);
    // The code is service-runtime's (MALFORMED_JSON once its filter sees body-parser errors); the shape is the contract.
    expect(await malformed.json()).toEqual({ code: expect.stringMatching(/^(MALFORMED_JSON|BAD_REQUEST)$/), message: expect.any(String) });
  });

  // ---------- Kafka intake ----------

  it('decides void commands from Kafka and parks bad ones on the dead-letter topic with the reason', async () => {
    await clearOfCutoff('WECHAT');
    const p = newPayment();
    await paymentSucceeded(p);
    const good = { idempotencyKey: newKey(), merchantId: 'M100', ...voidOf(p) };
    await produce(Topics.voidCommands, 'pos.void.requested', 'M100', { ...good, amountFen: 12.5 });
    await produce(Topics.voidCommands, 'pos.void.requested', 'M100', { idempotencyKey: newKey(), merchantId: 'M100', terminalId: 'T1', amountFen: 1999, operatorId: 'OP1' });
    await produce(Topics.voidCommands, 'pos.void.requested', 'M100', good);
    await until(() => eventsOf('pos.void.accepted', 'paymentId', p.paymentId).length === 1, 'accepted from Kafka');
    await until(() => deadLetters.length >= 2, 'dead letters');
    expect(deadLetters.map((m) => m.headers['dlq_reason']).sort()).toEqual(['REJECTED_BY_HANDLER', 'SCHEMA_VIOLATION']);
    expect(deadLetters.find((m) => m.headers['dlq_reason'] === 'SCHEMA_VIOLATION')?.headers['dlq_detail']).toMatch(/amountFen/);

    // The same command over HTTP is a replay of the Kafka decision.
    const replay = await requestVoid(voidOf(p), { key: good.idempotencyKey });
    expect(replay.replayed).toBe(true);
    expect(replay.body.voidId).toBe(JSON.parse(eventsOf('pos.void.accepted', 'paymentId', p.paymentId)[0].value?.toString() ?? 'null').voidId);
  });

  it('authorises a card void over Kafka by a supervisor authorisation issued over HTTP, and parks a command carrying a credential without it', async () => {
    await clearOfCutoff('UNIONPAY_CARD');
    const card = { batchNo: '000071', voucherNo: '000001' };
    const p = newPayment({ channel: 'UNIONPAY_CARD', terminalId: 'POS-5', card });
    const other = newPayment({ channel: 'UNIONPAY_CARD', terminalId: 'POS-5', card: { batchNo: '000071', voucherNo: '000002' } });
    await paymentSucceeded(p);
    await paymentSucceeded(other);
    const authorise = async (body: Record<string, unknown>) => {
      const response = await fetch(`${service.url}/v1/supervisor-authorisations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': KEYS.M100 },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const supervisor = { operatorId: 'OP9', credential: SUPERVISOR_CREDENTIAL };
    expect(await authorise({ terminalId: 'POS-5', paymentId: p.paymentId, supervisor: { operatorId: 'OP9', credential: 'wrong-pin' } })).toMatchObject({
      status: 403,
      body: { code: 'SUPERVISOR_AUTH_FAILED' },
    });
    expect(await authorise({ terminalId: 'POS-5', supervisor })).toMatchObject({ status: 400, body: { code: 'PAYMENT_REFERENCE_REQUIRED' } });
    expect(await authorise({ terminalId: 'POS-5', paymentId: p.paymentId, supervisor: { operatorId: 'OP9' } })).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    const issued = await authorise({ terminalId: 'POS-5', paymentId: p.paymentId, outTradeNo: p.outTradeNo, supervisor });
    expect(issued).toMatchObject({ status: 201, body: { merchantId: 'M100', terminalId: 'POS-5', operatorId: 'OP9', paymentId: p.paymentId } });
    const authorisationId = issued.body['authorisationId'] as string;
    expect(Date.parse(issued.body['expiresAt'] as string) - Date.parse(issued.body['issuedAt'] as string)).toBe(5 * 60_000);

    // A credential on Kafka: parked, without the credential, and nothing decided.
    const withCredential = { idempotencyKey: newKey(), merchantId: 'M100', ...voidOf(p, { card, supervisor }) };
    await produce(Topics.voidCommands, 'pos.void.requested', 'M100', withCredential);
    // The authorisation names one payment: another payment's void is not authorised by it.
    const otherKey = newKey();
    await produce(Topics.voidCommands, 'pos.void.requested', 'M100', { idempotencyKey: otherKey, merchantId: 'M100', ...voidOf(other, { card: other.card, supervisor: { authorisationId } }) });
    const good = { idempotencyKey: newKey(), merchantId: 'M100', ...voidOf(p, { card, supervisor: { authorisationId } }) };
    await produce(Topics.voidCommands, 'pos.void.requested', 'M100', good);

    await until(() => eventsOf('pos.void.accepted', 'paymentId', p.paymentId).length === 1, 'the authorised void accepted');
    await until(() => eventsOf('pos.void.rejected', 'paymentId', other.paymentId).length === 1, 'the other void rejected');
    expect(JSON.parse(eventsOf('pos.void.rejected', 'paymentId', other.paymentId)[0].value?.toString() ?? 'null')).toMatchObject({ reason: 'SUPERVISOR_AUTH_REQUIRED' });
    await until(() => deadLetters.some((m) => m.headers['dlq_reason'] === 'SECRET_IN_MESSAGE'), 'the credential parked');
    const parked = deadLetters.find((m) => m.headers['dlq_reason'] === 'SECRET_IN_MESSAGE');
    expect(parked?.value?.toString()).not.toContain(SUPERVISOR_CREDENTIAL);
    expect(JSON.parse(parked?.value?.toString() ?? 'null')).toEqual({ ...withCredential, supervisor: { operatorId: 'OP9' } });
    expect(parked?.headers['dlq_detail']).toMatch(/\/supervisor\/credential must never travel on Kafka/);
    const { rows: decided } = await db.query(`SELECT 1 FROM "${service.schema}".void_decisions WHERE idempotency_key = $1`, [withCredential.idempotencyKey]);
    expect(decided).toHaveLength(0);

    // Used once, by the accepted void, and recorded.
    const voidId = JSON.parse(eventsOf('pos.void.accepted', 'paymentId', p.paymentId)[0].value?.toString() ?? 'null').voidId;
    const { rows: [used] } = await db.query(`SELECT used_by_void FROM "${service.schema}".supervisor_authorisations WHERE authorisation_id = $1`, [authorisationId]);
    expect(used.used_by_void).toBe(voidId);
    const { rows: audit } = await db.query(`SELECT action, details FROM "${service.schema}".audit_log WHERE details->>'authorisationId' = $1 ORDER BY id`, [authorisationId]);
    expect(audit.map((r) => r.action)).toEqual(['supervisor.authorisation-issued', 'void.supervisor-authorised']);
    expect(audit[1].details).toMatchObject({ voidId, source: 'KAFKA' });
  });

  // ---------- read API, metrics, OpenAPI ----------

  it('lists decisions by merchant, business date and reason, and exposes metrics and the OpenAPI document', async () => {
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date());
    const get = async (path: string, merchant: keyof typeof KEYS = 'M100') =>
      (await (await fetch(`${service.url}${path}`, { headers: { 'x-api-key': KEYS[merchant] } })).json()) as ListBody;
    await requestVoid(voidOf(newPayment()));
    const notFound = await get(`/v1/voids?date=${today}&reason=PAYMENT_NOT_FOUND&limit=1`);
    expect(notFound.items).toHaveLength(1);
    expect(notFound.items[0].reason).toBe('PAYMENT_NOT_FOUND');
    const page2 = await get(`/v1/voids?date=${today}&reason=PAYMENT_NOT_FOUND&limit=1&after=${notFound.next}`);
    expect(page2.items[0].voidId).not.toBe(notFound.items[0].voidId);
    expect((await get(`/v1/voids?date=${today}`, 'M200')).items.every((d) => d.merchantId === 'M200')).toBe(true);
    expect(await get(`/v1/voids?date=2026-02-30`)).toMatchObject({ code: 'INVALID_DATE' });

    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(/pos_void_decisions_total\{channel="UNKNOWN",decision="REJECTED",reason="PAYMENT_NOT_FOUND",source="HTTP"\} \d+/);
    expect(metrics).toMatch(/pos_void_decision_duration_seconds_bucket/);

    const openapi = (await (await fetch(`${service.url}/v1/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/v1/voids', '/v1/voids/{voidId}', '/v1/payments/{paymentId}/voids']));
    expect(parseCutoffSchedule('daily@00:00')).toBeDefined();
  });
});
