import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { contractFor, Topics, UPSTREAM } from '@pos/contracts';
import { nextCutoffAfter, parseCutoffSchedule } from '@pos/business-calendar';
import { encodeEnvelope, InboundMessage, KafkajsBroker, MessageBroker, MessageConsumer, MessageProducer, NamespacedBroker } from '@pos/messaging';
import { hashApiKey } from '@pos/service-runtime';
import { BootedService, bootService, spawnService, SpawnedService, stackEnv } from '@pos/service-testing';
import { kafkaClientOf, testStack, uniqueName } from '@pos/testing';
import { voidServiceDefinition } from './app/void-service.definition';

/**
 * ADR 0008 on real Kafka and PostgreSQL: the void service (in this process) executes accepted
 * voids at the simulated channels, and the real clearing service (its production bundle, as a
 * process) closes the batch. The test plays the payment service: it publishes the payments.
 *
 * One WeChat batch of one merchant, five payments, each ending its order number with the
 * simulator's marker (libs/domain/channel-simulator undo-simulator.ts):
 * - PLAIN: voided, executed at the first call;
 * - AGAIN (`VR2`): voided, "try again" (SYSTEMERROR) twice, executed at the third call;
 * - REFUSED (`VX`): voided, refused for good (REVERSE_EXPIRE): not voided after all;
 * - SLOW (`VT9`): voided, no answer nine times: still pending when the batch cuts off;
 * - KEPT: never voided.
 */
const SCHEDULE = 'every:30s';
const BACKOFF_MS = 2_000;
const MERCHANT = 'M700';
const API_KEY = 'key-of-merchant-700';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Payment {
  paymentId: string;
  merchantId: string;
  terminalId: string;
  channel: 'WECHAT';
  amountFen: number;
  currency: 'CNY';
  outTradeNo: string;
}

interface DecisionBody {
  [field: string]: unknown;
  voidId: string;
  decision: string;
  reason?: string;
  remedy: string;
  execution?: { state: string; attempts: number; lastOutcome?: string; channelCode?: string; channelReference?: string; executedAt?: string };
}

describe('accepted voids are executed at the channel (ADR 0008)', () => {
  const stack = testStack();
  const prefix = `${uniqueName('voidexec')}.`;
  const clearingSchema = uniqueName('clearing');
  let voids: BootedService;
  let clearing: SpawnedService;
  let broker: MessageBroker;
  let producer: MessageProducer;
  let observer: MessageConsumer;
  let db: Client;
  const seen: InboundMessage[] = [];

  beforeAll(async () => {
    broker = new NamespacedBroker(new KafkajsBroker(kafkaClientOf(stack, uniqueName('voidexec-test'))), prefix);
    await broker.ensureTopics([Topics.voidEvents, Topics.clearingEvents, Topics.paymentEvents].map((name) => ({ name, partitions: 3 })));
    // A fresh cluster answers "coordinator loading" to the first group joins for a few seconds.
    for (let attempt = 1; ; attempt++) {
      try {
        observer = await broker.createConsumer({ groupId: uniqueName('observer'), topics: [Topics.voidEvents, Topics.clearingEvents], fromBeginning: true });
        await observer.run(async (message) => {
          seen.push(message);
        });
        break;
      } catch (error) {
        await observer?.stop().catch(() => undefined);
        if (attempt >= 30) throw error;
        await sleep(1_000);
      }
    }
    clearing = await spawnService('clearing-service', {
      ...(await stackEnv(stack, clearingSchema, prefix)),
      KAFKA_TOPIC_PARTITIONS: '3',
      CUTOFF_SCHEDULE_WECHAT: SCHEDULE,
      CLEARING_TICK_MS: '100',
      RECONCILIATION_DIR: await mkdtemp(join(tmpdir(), 'voidexec-reconciliation-')),
    });
    voids = await bootService(voidServiceDefinition, stack, {
      KAFKA_TOPIC_PREFIX: prefix,
      MERCHANT_API_KEYS: `${MERCHANT}:${hashApiKey(API_KEY)}`,
      VOID_EXECUTION_BACKOFF_BASE_MS: String(BACKOFF_MS),
      VOID_EXECUTION_BACKOFF_CAP_MS: String(BACKOFF_MS),
      VOID_EXECUTION_POLL_INTERVAL_MS: '50',
      VOID_CHANNEL_LATENCY_MS: '20',
    });
    producer = await broker.createProducer();
    db = new Client({ connectionString: stack.postgresUrl });
    await db.connect();
  }, 180_000);

  afterAll(async () => {
    await observer?.stop();
    await producer?.disconnect();
    await broker?.close();
    await db?.end();
    await voids?.close();
    await clearing?.stop();
  });

  // ---------- playing the payment service, and watching the topics ----------

  async function paymentSucceeded(p: Payment): Promise<void> {
    const type = 'pos.payment.succeeded';
    const owner = contractFor(Topics.paymentEvents, type)?.producer ?? UPSTREAM;
    const data = { ...p, succeededAt: new Date().toISOString(), channelTradeNo: `CH-${p.outTradeNo}` };
    await producer.send([encodeEnvelope(Topics.paymentEvents, { id: randomUUID(), type, source: String(owner), time: new Date().toISOString(), schemaVersion: 1, key: p.merchantId, data })]);
  }

  const payload = (m: InboundMessage): Record<string, unknown> => JSON.parse(m.value?.toString() ?? 'null');
  const events = (topic: string, type: string, field?: string, value?: string) =>
    seen.filter((m) => m.topic === topic && m.headers['ce_type'] === type && (field === undefined || payload(m)[field] === value));
  const voidEvents = (type: string, voidId: string) => events(Topics.voidEvents, type, 'voidId', voidId);
  /** Same partition (same merchant key), later offset. */
  const after = (later: InboundMessage, earlier: InboundMessage) => later.partition === earlier.partition && BigInt(later.offset) > BigInt(earlier.offset);

  async function until<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(50);
    }
  }

  // ---------- the void service's HTTP API ----------

  async function requestVoid(p: Payment, key: string): Promise<DecisionBody> {
    const response = await fetch(`${voids.url}/v1/voids`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': API_KEY, 'idempotency-key': key },
      body: JSON.stringify({ terminalId: p.terminalId, paymentId: p.paymentId, amountFen: p.amountFen, operatorId: 'OP1' }),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as DecisionBody;
  }

  /** Asked again with the same key while the answer is not final (the payment or its batch not known yet), as a terminal does. */
  const voidOnceKnown = (p: Payment) => {
    const key = `exec-${p.paymentId}`;
    return until(async () => {
      const answer = await requestVoid(p, key);
      return answer.reason === 'PAYMENT_NOT_FOUND' || answer.reason === 'CLEARING_PENDING' ? undefined : answer;
    }, `a final answer to the void of ${p.outTradeNo}`);
  };

  async function voidView(voidId: string): Promise<DecisionBody> {
    const response = await fetch(`${voids.url}/v1/voids/${voidId}`, { headers: { 'x-api-key': API_KEY } });
    expect(response.status).toBe(200);
    return (await response.json()) as DecisionBody;
  }

  async function clearingBatchState(batchId: string): Promise<string | undefined> {
    const { rows } = await db.query(`SELECT state FROM "${clearingSchema}".batches WHERE batch_id = $1`, [batchId]);
    return rows[0]?.state;
  }

  async function voidMetrics(): Promise<string> {
    return (await fetch(`${voids.url}/metrics`)).text();
  }

  it('executes, retries, refuses and waits: the batch closes only once every execution is final, with the refused payment in its totals', async () => {
    // Start where the window's cutoff is 6 to 11 s away: the voids are accepted before it, and the
    // slow one (nine unanswered calls, 2 s apart: 18 s) is still pending when the batch starts
    // closing, 2 s (the close grace) after the cutoff, and for at least 5 s more.
    const schedule = parseCutoffSchedule(SCHEDULE);
    for (;;) {
      const left = nextCutoffAfter(schedule, new Date()).getTime() - Date.now();
      if (left >= 6_000 && left <= 11_000) break;
      await sleep(left > 11_000 ? Math.min(left - 11_000, 1_000) : left + 50);
    }
    const cutoff = nextCutoffAfter(schedule, new Date());
    const payment = (name: string, marker: string, amountFen: number): Payment => ({
      paymentId: randomUUID(),
      merchantId: MERCHANT,
      terminalId: 'T1',
      channel: 'WECHAT',
      amountFen,
      currency: 'CNY',
      outTradeNo: `${name}-${Date.now()}${marker}`,
    });
    const plain = payment('PLAIN', '', 1_001);
    const again = payment('AGAIN', '-VR2', 2_002);
    const refused = payment('REFUSED', '-VX', 3_003);
    const slow = payment('SLOW', '-VT9', 4_004);
    const kept = payment('KEPT', '', 5_005);
    for (const p of [plain, again, refused, slow, kept]) await paymentSucceeded(p);

    const [plainVoid, againVoid, refusedVoid, slowVoid] = await Promise.all([plain, again, refused, slow].map(voidOnceKnown));
    for (const answer of [plainVoid, againVoid, refusedVoid, slowVoid]) expect(answer).toMatchObject({ decision: 'ACCEPTED', remedy: 'NONE' });
    expect(Date.now()).toBeLessThan(cutoff.getTime());
    const batchId = String(plainVoid['batchId']);
    for (const answer of [againVoid, refusedVoid, slowVoid]) expect(answer['batchId']).toBe(batchId);

    // An executed void: executed, then confirmed (never before), both after the acceptance.
    const [plainExecuted] = await until(() => voidEvents('pos.void.executed', plainVoid.voidId).length > 0 && voidEvents('pos.void.executed', plainVoid.voidId), 'PLAIN executed');
    const [plainConfirmed] = await until(() => voidEvents('pos.void.confirmed', plainVoid.voidId).length > 0 && voidEvents('pos.void.confirmed', plainVoid.voidId), 'PLAIN confirmed');
    const [plainAccepted] = voidEvents('pos.void.accepted', plainVoid.voidId);
    expect(after(plainExecuted, plainAccepted)).toBe(true);
    expect(after(plainConfirmed, plainExecuted)).toBe(true);
    expect(payload(plainExecuted)).toMatchObject({ paymentId: plain.paymentId, batchId, channel: 'WECHAT', operation: 'WECHAT_REVERSE', attempts: 1 });
    expect((payload(plainConfirmed)['customerMessage'] as { zh: string }).zh).toContain('微信支付已确认');

    // "Try again" twice, then executed at the third call; the API shows the execution.
    const againView = await until(async () => {
      const view = await voidView(againVoid.voidId);
      return view.execution?.state === 'EXECUTED' ? view : undefined;
    }, 'AGAIN executed');
    expect(againView.execution).toMatchObject({ state: 'EXECUTED', attempts: 3, lastOutcome: 'SUCCESS' });
    expect(againView.execution?.executedAt).toBeDefined();
    // Published by the relay a moment after the commit the API shows.
    await until(() => voidEvents('pos.void.confirmed', againVoid.voidId).length === 1, 'AGAIN confirmed');
    expect(await voidMetrics()).toMatch(/^pos_void_channel_calls_total\{channel="WECHAT",outcome="TRY_AGAIN"\} 2$/m);

    // Refused for good: channel-refused, no notice to the customer, and a later void is refused.
    const [refusal] = await until(() => voidEvents('pos.void.channel-refused', refusedVoid.voidId).length > 0 && voidEvents('pos.void.channel-refused', refusedVoid.voidId), 'REFUSED refused');
    expect(payload(refusal)).toMatchObject({ paymentId: refused.paymentId, batchId, channelCode: 'REVERSE_EXPIRE', remedy: 'REFUND', attempts: 1 });
    expect(voidEvents('pos.void.confirmed', refusedVoid.voidId)).toEqual([]);
    expect((await voidView(refusedVoid.voidId)).execution).toMatchObject({ state: 'CHANNEL_REFUSED', channelCode: 'REVERSE_EXPIRE' });
    expect(await requestVoid(refused, `exec-again-${refused.paymentId}`)).toMatchObject({ decision: 'REJECTED', reason: 'CHANNEL_REFUSED', remedy: 'REFUND' });

    // The cutoff passes while SLOW is still pending: clearing asked, the gate closed, but no
    // gate-closed yet, so the batch waits in CLOSING and the void service shows it.
    await until(async () => (await clearingBatchState(batchId)) === 'CLOSING', `batch ${batchId} CLOSING`);
    await until(async () => /^pos_void_gates_awaiting_executions 1$/m.test(await voidMetrics()), 'the gate shown awaiting executions');
    expect((await voidView(slowVoid.voidId)).execution).toMatchObject({ state: 'PENDING', lastOutcome: 'TIMEOUT' });
    expect(events(Topics.voidEvents, 'pos.void.gate-closed', 'batchId', batchId)).toEqual([]);
    expect(await clearingBatchState(batchId)).toBe('CLOSING');

    // SLOW answers at its tenth call: executed, then gate-closed, then the batch closes.
    const [slowExecuted] = await until(() => voidEvents('pos.void.executed', slowVoid.voidId).length > 0 && voidEvents('pos.void.executed', slowVoid.voidId), 'SLOW executed', 60_000);
    expect(payload(slowExecuted)['attempts']).toBe(10);
    const [gateClosed] = await until(() => events(Topics.voidEvents, 'pos.void.gate-closed', 'batchId', batchId).length > 0 && events(Topics.voidEvents, 'pos.void.gate-closed', 'batchId', batchId), 'gate-closed');
    expect(payload(gateClosed)).toMatchObject({ batchId, merchantId: MERCHANT, acceptedVoids: 3, refusedVoids: 1 });
    for (const final of [plainExecuted, refusal, slowExecuted, ...voidEvents('pos.void.executed', againVoid.voidId)]) expect(after(gateClosed, final)).toBe(true);

    // Clearing: the refused payment is in the totals with the kept one; the three executed are excluded.
    const [closed] = await until(() => events(Topics.clearingEvents, 'pos.clearing.batch.closed', 'batchId', batchId).length > 0 && events(Topics.clearingEvents, 'pos.clearing.batch.closed', 'batchId', batchId), 'batch.closed');
    expect(payload(closed)).toMatchObject({ paymentCount: 2, totalFen: 3_003 + 5_005, voidedCount: 3, voidedFen: 1_001 + 2_002 + 4_004 });
    const cleared = await until(() => {
      const ids = events(Topics.clearingEvents, 'pos.clearing.payment.cleared', 'batchId', batchId).map((m) => payload(m)['paymentId']);
      return ids.length >= 2 && ids;
    }, 'payments cleared');
    expect(new Set(cleared)).toEqual(new Set([refused.paymentId, kept.paymentId]));
    expect(await voidMetrics()).toMatch(/^pos_void_gates_awaiting_executions 0$/m);
  }, 150_000);
});
