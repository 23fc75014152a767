import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeadLetterHeaders, MessageValidator } from '@pos/messaging';
import { Topics, VoidAccepted, VoidChannelRefused } from '@pos/contracts';
import { businessDateOf } from '@pos/business-calendar';
import { batchFileName, merchantDirectoryName, parseReconciliation, reconciliationProblems } from '@pos/clearing-domain';
import { batchKeyOf, clearingSchedulesFrom } from '@pos/settlement-batches';
import { BootedService, bootService } from '@pos/service-testing';
import { testStack, uniqueName } from '@pos/testing';
import { clearingServiceDefinition } from './app/clearing-service.definition';
import { asMerchant, asOperator, clearingAuthEnv, ClearingDatabase, envelope, eventually, keyedMerchantId, payment, Upstream, voidOf } from './testing/clearing-harness';

const PERIOD_MS = 3_000;
const schedules = clearingSchedulesFrom({ WECHAT: 'every:3s', ALIPAY: 'every:3s' });
const validator = new MessageValidator();

interface BatchJson {
  batchId: string;
  state: string;
  closeReason: string | null;
  clearingDate: string;
  opensAt: string;
  closesAt: string;
  settlementDate: string | null;
  totals: { paymentCount: number; totalFen: number; voidedCount: number; voidedFen: number } | null;
}

describe('clearing service on real Kafka and PostgreSQL', () => {
  const stack = testStack();
  const prefix = `${uniqueName('clr')}.`;
  const schema = uniqueName('clearing');
  let service: BootedService;
  let upstream: Upstream;
  let db: ClearingDatabase;
  let reconciliationDir: string;
  /** The merchant whose terminal settles with its own key. */
  const settlingMerchant = keyedMerchantId('S');

  // Operators read every merchant's batches (a viewer is enough).
  const getJson = async <T>(path: string): Promise<{ status: number; body: T }> => {
    const response = await fetch(`${service.url}${path}`, { headers: asOperator('vera') });
    return { status: response.status, body: (await response.json()) as T };
  };
  const batch = async (batchId: string) => (await getJson<BatchJson>(`/v1/batches/${encodeURIComponent(batchId)}`)).body;
  const batchOfPayment = async (paymentId: string) => {
    const batchId = await db.batchOf(paymentId);
    if (!batchId) throw new Error(`payment ${paymentId} is in no batch`);
    return batchId;
  };
  const closedBatch = (batchId: string) =>
    eventually(async () => {
      const b = await batch(batchId);
      return b.state === 'CLOSED' || b.state === 'SETTLED' ? b : undefined;
    }, `batch ${batchId} to close`);

  beforeAll(async () => {
    reconciliationDir = await mkdtemp(join(tmpdir(), 'reconciliation-'));
    upstream = new Upstream(stack, prefix);
    await upstream.observeClearing(uniqueName('observer'));
    service = await bootService(clearingServiceDefinition, stack, {
      DATABASE_SCHEMA: schema,
      KAFKA_TOPIC_PREFIX: prefix,
      CUTOFF_SCHEDULE_WECHAT: 'every:3s',
      CUTOFF_SCHEDULE_ALIPAY: 'every:3s',
      SETTLEMENT_T_PLUS_DAYS: '0',
      SETTLEMENT_WEEKENDS_ARE_HOLIDAYS: 'false',
      RECONCILIATION_DIR: reconciliationDir,
      CLEARING_TICK_MS: '200',
      ...clearingAuthEnv([settlingMerchant]),
    });
    db = await ClearingDatabase.connect(stack, schema);
  });

  afterAll(async () => {
    await upstream?.close();
    await service?.close();
    await db?.close();
  });

  it('batches payments around a cutoff exactly, waits the close grace, excludes voided ones, keeps a late one on its clearing day, and files totals that agree', async () => {
    const merchantId = uniqueName('M').slice(0, 30);
    const cut = Math.ceil((Date.now() + 1) / PERIOD_MS) * PERIOD_MS;
    const at = (ms: number) => new Date(ms).toISOString();
    const a1 = payment({ merchantId, succeededAt: at(cut - 1), amountFen: 1 });
    const a2 = payment({ merchantId, succeededAt: at(cut - 2_000), amountFen: 9_000_000_000_000, terminalId: 'T2' });
    const a3 = payment({ merchantId, succeededAt: at(cut - 1_000), amountFen: 12_345 });
    const b1 = payment({ merchantId, succeededAt: at(cut), amountFen: 250 });
    const c1 = payment({ merchantId, succeededAt: at(cut - 1), amountFen: 777, channel: 'ALIPAY' });
    const keyOf = (p: typeof a1) => batchKeyOf({ ...p, succeededAt: new Date(p.succeededAt) }, schedules).batchId;
    const batchA = keyOf(a1);
    expect(keyOf(a2)).toBe(batchA);
    expect(keyOf(b1)).not.toBe(batchA);

    // The void reaches clearing before its payment does: it must still exclude it.
    await upstream.voided([voidOf(a3, batchA)]);
    await upstream.paid([a1, a2, a3, b1, c1]);
    await eventually(async () => (await db.assignedCount()) >= 5, 'five payments assigned');
    expect(await db.batchOf(a1.paymentId)).toBe(batchA);
    expect(await db.batchOf(b1.paymentId)).toBe(keyOf(b1));
    expect(await db.batchOf(c1.paymentId)).toBe(keyOf(c1));

    // A payment of A's window whose event comes after the cutoff, within the close grace, is still A's (ADR 0005).
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, cut + 300 - Date.now())));
    expect((await batch(batchA)).state).toBe('OPEN');
    const a4 = payment({ merchantId, succeededAt: at(cut - 3), amountFen: 40 });
    await upstream.paid([a4]);
    await eventually(async () => (await db.batchOf(a4.paymentId)) === batchA, 'a payment within the grace in A');

    // Batches close only when the void service's gate closed (ADR 0002).
    await eventually(async () => (await batch(batchA)).state === 'CLOSING', 'cutoff to start closing A');
    await upstream.answerGates(merchantId);
    const closedA = await closedBatch(batchA);
    expect(closedA.closeReason).toBe('CUTOFF');
    expect(closedA.totals).toEqual({ paymentCount: 3, totalFen: 9_000_000_000_041, voidedCount: 1, voidedFen: 12_345 });
    expect((await closedBatch(keyOf(b1))).totals).toEqual({ paymentCount: 1, totalFen: 250, voidedCount: 0, voidedFen: 0 });
    expect((await closedBatch(keyOf(c1))).totals).toEqual({ paymentCount: 1, totalFen: 777, voidedCount: 0, voidedFen: 0 });

    // A payment for the closed batch arrives late: a late batch of A's own window takes it, so it keeps
    // A's clearing and settlement dates; A never changes.
    const late = payment({ merchantId, succeededAt: at(cut - 1), amountFen: 5_000 });
    await upstream.paid([late]);
    const successor = `${batchA}:2`;
    await eventually(async () => (await db.batchOf(late.paymentId)) === successor, 'late payment in a late batch');
    const lateBatch = await closedBatch(successor);
    expect(lateBatch.totals).toEqual({ paymentCount: 1, totalFen: 5_000, voidedCount: 0, voidedFen: 0 });
    expect(lateBatch).toMatchObject({ opensAt: closedA.opensAt, closesAt: closedA.closesAt, clearingDate: closedA.clearingDate, settlementDate: closedA.settlementDate });
    expect((await batch(batchA)).totals).toEqual(closedA.totals);
    expect(await (await fetch(`${service.url}/metrics`)).text()).toMatch(/^pos_clearing_late_payments [1-9]\d*$/m);

    // Settlement T+0 with no holidays: batches whose settlement date came settle with an event.
    const today = businessDateOf(new Date());
    if (closedA.settlementDate !== null && closedA.settlementDate <= today) {
      await eventually(async () => (await batch(batchA)).state === 'SETTLED', 'batch A settled');
      await eventually(async () => upstream.eventsOfType('pos.clearing.batch.settled').some((e) => e.data['batchId'] === batchA), 'batch.settled event');
    }

    // The reconciliation file: over HTTP and on disk, lines agree with the batch totals to the fen.
    const response = await fetch(`${service.url}/v1/batches/${encodeURIComponent(batchA)}/reconciliation`, { headers: asOperator('vera') });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/csv/);
    const text = await response.text();
    const file = parseReconciliation(text);
    expect(reconciliationProblems(file)).toEqual([]);
    expect(file.batchTotals.get(batchA)).toEqual({ paymentCount: 3n, totalFen: 9_000_000_000_041n, voidedCount: 1n, voidedFen: 12_345n });
    expect(file.lines.find((l) => l.paymentId === a3.paymentId)).toEqual({ batchId: batchA, paymentId: a3.paymentId, outTradeNo: a3.outTradeNo, amountFen: 12_345, voided: true });
    const onDisk = join(reconciliationDir, closedA.clearingDate, merchantDirectoryName(merchantId), batchFileName(batchA));
    expect(await eventually(() => readFile(onDisk, 'utf8').catch(() => undefined), 'file on disk')).toBe(text);

    const day = await fetch(`${service.url}/v1/reconciliation/merchants/${merchantId}/dates/${closedA.clearingDate}`, { headers: asOperator('vera') });
    const dayFile = parseReconciliation(await day.text());
    expect(reconciliationProblems(dayFile)).toEqual([]);
    expect(dayFile.batchTotals.get(batchA)).toEqual(file.batchTotals.get(batchA));

    // Events: each payload valid against its contract; one close per batch; cleared only if not voided.
    await eventually(async () => upstream.eventsOfType('pos.clearing.payment.cleared').filter((e) => e.data['merchantId'] === merchantId).length >= 6, 'payment.cleared events');
    const mine = upstream.clearingEvents.filter((m) => JSON.parse((m.value ?? '').toString()).merchantId === merchantId);
    for (const message of mine) {
      expect(message.key).toBe(merchantId);
      expect(message.headers).toMatchObject({ ce_specversion: '1.0', ce_schemaversion: '2', ce_source: '/clearing-service', 'content-type': 'application/json' });
      expect(validator.validate(Topics.clearingEvents, message.headers['ce_type'], 2, JSON.parse((message.value ?? '').toString()))).toMatchObject({ ok: true });
    }
    const cleared = upstream.eventsOfType('pos.clearing.payment.cleared').filter((e) => e.data['merchantId'] === merchantId);
    expect(cleared.map((e) => e.data['paymentId']).sort()).toEqual([a1, a2, a4, b1, c1, late].map((p) => p.paymentId).sort());
    expect(new Set(cleared.map((e) => e.message.headers['ce_id'])).size).toBe(cleared.length);
    const closedEvents = upstream.eventsOfType('pos.clearing.batch.closed').filter((e) => e.data['batchId'] === batchA);
    expect(closedEvents).toHaveLength(1);
    expect(closedEvents[0].data).toMatchObject({ paymentCount: 3, totalFen: 9_000_000_000_041, voidedCount: 1, voidedFen: 12_345, reason: 'CUTOFF' });
    expect(upstream.eventsOfType('pos.clearing.batch.opened').filter((e) => e.data['batchId'] === batchA)).toHaveLength(1);

    // Read API: a payment's clearing status, and batches by merchant and state.
    expect((await getJson<{ status: string }>(`/v1/payments/${a1.paymentId}/clearing`)).body.status).toBe('CLEARED');
    expect((await getJson<{ status: string }>(`/v1/payments/${a3.paymentId}/clearing`)).body).toMatchObject({ status: 'VOIDED', batchId: batchA });
    expect((await getJson<{ code: string }>(`/v1/payments/5a1e1d7e-0000-4000-8000-000000000000/clearing`)).body.code).toBe('PAYMENT_NOT_FOUND');
    const listed = await getJson<{ batches: BatchJson[] }>(`/v1/batches?merchantId=${merchantId}&clearingDate=${closedA.clearingDate}`);
    expect(listed.body.batches.map((b) => b.batchId)).toEqual(expect.arrayContaining([batchA, successor]));
    expect((await getJson<{ code: string }>(`/v1/batches?state=NOPE`)).body.code).toBe('INVALID_STATE');
  });

  it('changes nothing on duplicate and redelivered events, and parks bad ones on the dead-letter topic', async () => {
    const merchantId = uniqueName('D').slice(0, 30);
    const now = Date.now();
    const p1 = payment({ merchantId, succeededAt: new Date(now).toISOString(), amountFen: 1_000 });
    const p2 = payment({ merchantId, succeededAt: new Date(now).toISOString(), amountFen: 2_000 });
    const first = envelope('pos.payment.succeeded', merchantId, p1);
    const v2 = voidOf(p2, batchKeyOf({ ...p2, succeededAt: new Date(p2.succeededAt) }, schedules).batchId);
    const voidEvent = envelope('pos.void.accepted', merchantId, v2);
    await upstream.send(Topics.paymentEvents, [
      first,
      first, // redelivered: same event id
      envelope('pos.payment.succeeded', merchantId, p1), // republished: new event id, same payment
      { ...first, data: { ...p1, amountFen: 999 } }, // same id, other payload: modified duplicate
      envelope('pos.payment.succeeded', merchantId, payment({ merchantId, succeededAt: p1.succeededAt, channel: 'UNIONPAY_CARD' })), // card without batch no
      envelope('pos.payment.succeeded', merchantId, p2),
    ]);
    await upstream.sendRaw([{ topic: Topics.paymentEvents, key: merchantId, value: '{"broken', headers: { ce_id: 'x', ce_type: 'pos.payment.succeeded', ce_source: '/x', ce_time: new Date().toISOString(), ce_specversion: '1.0', ce_schemaversion: '1' } }]);
    await upstream.send(Topics.voidEvents, [voidEvent, voidEvent]);

    const dead = await upstream.collect(`${Topics.paymentEvents}.dlq`, uniqueName('dlq'), 3);
    expect(dead.map((m) => m.headers[DeadLetterHeaders.reason]).sort()).toEqual(['MALFORMED_ENVELOPE', 'MODIFIED_DUPLICATE', 'REJECTED_BY_HANDLER']);

    await eventually(async () => (await db.query(`SELECT 1 FROM batch_payments WHERE merchant_id = $1`, [merchantId])).length === 2, 'both payments assigned');
    await upstream.answerGates(merchantId);
    const batchId = await batchOfPayment(p1.paymentId);
    const closed = await closedBatch(batchId);
    expect(closed.totals).toEqual({ paymentCount: 1, totalFen: 1_000, voidedCount: 1, voidedFen: 2_000 });

    // A redelivered gate-closed after the close is a no-op: no second close, no second event.
    await upstream.send(Topics.voidEvents, [envelope('pos.void.gate-closed', merchantId, { batchId, merchantId, closedAt: new Date().toISOString(), acceptedVoids: 1 })]);
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await batch(batchId)).totals).toEqual(closed.totals);
    expect(upstream.eventsOfType('pos.clearing.batch.closed').filter((e) => e.data['batchId'] === batchId)).toHaveLength(1);
    expect(upstream.eventsOfType('pos.clearing.payment.cleared').filter((e) => e.data['merchantId'] === merchantId)).toHaveLength(1);
  });

  it('dead-letters a forged void, from another source or under another merchant\'s key, and keeps its payment in settlement', async () => {
    const merchantId = uniqueName('F').slice(0, 30);
    const paid = payment({ merchantId, succeededAt: new Date().toISOString(), amountFen: 4_200 });
    await upstream.paid([paid]);
    const batchId = await eventually(() => db.batchOf(paid.paymentId), 'payment assigned');
    const forgedSource = { ...envelope('pos.void.accepted', merchantId, voidOf(paid, batchId)), source: '/acme-pos-gateway' };
    const forgedKey = { ...envelope('pos.void.accepted', merchantId, voidOf(paid, batchId)), key: `${merchantId}-X` };
    await upstream.send(Topics.voidEvents, [forgedSource, forgedKey]);

    const dead = await upstream.collect(`${Topics.voidEvents}.dlq`, uniqueName('dlq'), 2);
    expect(Object.fromEntries(dead.map((m) => [m.headers['ce_id'], m.headers[DeadLetterHeaders.reason]]))).toEqual({
      [forgedSource.id]: 'FORGED_SOURCE',
      [forgedKey.id]: 'KEY_MISMATCH',
    });

    await upstream.answerGates(merchantId);
    const closed = await closedBatch(batchId);
    expect(closed.totals).toEqual({ paymentCount: 1, totalFen: 4_200, voidedCount: 0, voidedFen: 0 });
    expect((await getJson<{ status: string }>(`/v1/payments/${paid.paymentId}/clearing`)).body.status).toBe('CLEARED');
    expect(await db.query(`SELECT 1 FROM voided_payments WHERE payment_id = $1`, [paid.paymentId])).toEqual([]);
  });

  it('closes a terminal\'s card batch on terminal settlement (HTTP and Kafka), cut at its instant; later payments go to its successor', async () => {
    const merchantId = settlingMerchant;
    const now = new Date().toISOString();
    const card = (terminalId: string, amountFen: number) => payment({ merchantId, terminalId, channel: 'UNIONPAY_CARD', succeededAt: now, amountFen, card: { batchNo: '000001', voucherNo: '000123' } });
    const [p1, p2, p3] = [card('T1', 100), card('T1', 200), card('T2', 300)];
    await upstream.paid([p1, p2, p3]);
    await eventually(async () => (await db.query(`SELECT 1 FROM batch_payments WHERE merchant_id = $1`, [merchantId])).length === 3, 'card payments assigned');
    const t1Batch = await batchOfPayment(p1.paymentId);

    const bad = await fetch(`${service.url}/v1/terminal-settlements`, { method: 'POST', headers: { 'content-type': 'application/json', ...asMerchant(merchantId) }, body: JSON.stringify({ merchantId, terminalId: 'T1', batchNo: '1' }) });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'INVALID_REQUEST' });

    const settle = () =>
      fetch(`${service.url}/v1/terminal-settlements`, { method: 'POST', headers: { 'content-type': 'application/json', ...asMerchant(merchantId) }, body: JSON.stringify({ merchantId, terminalId: 'T1', batchNo: '000001', requestedBy: 'cashier-7' }) });
    // The answer waits for the void service to close the gate: 200 with final totals, no void accepted after it.
    await upstream.answerGates(merchantId);
    const settledAt = Date.now();
    const accepted = await settle();
    expect(accepted.status).toBe(200);
    const [closed] = ((await accepted.json()) as { batches: BatchJson[] }).batches;
    // T+0 here: it may have settled already.
    expect(['CLOSED', 'SETTLED']).toContain(closed.state);
    expect(closed).toMatchObject({ batchId: t1Batch, closeReason: 'TERMINAL_SETTLEMENT', totals: { paymentCount: 2, totalFen: 300, voidedCount: 0, voidedFen: 0 } });
    expect((await batch(await batchOfPayment(p3.paymentId))).state).toBe('OPEN');
    // Its window ends at the settlement; the successor, announced at once, takes the rest of it.
    const cutAt = new Date(closed.closesAt).getTime();
    expect(cutAt).toBeGreaterThanOrEqual(settledAt - 1_000);
    const successorOpened = await eventually(
      async () => upstream.eventsOfType('pos.clearing.batch.opened').find((e) => e.data['batchId'] === `${t1Batch}:2`),
      'successor announced',
    );
    expect(successorOpened.data).toMatchObject({ opensAt: closed.closesAt, clearingDate: closed.clearingDate });

    // A payment that succeeded before the settlement but arrives after it is late, not the successor's.
    const [before, p4] = [{ ...card('T1', 50), succeededAt: new Date(cutAt - 1).toISOString() }, { ...card('T1', 400), succeededAt: new Date(cutAt + 1).toISOString() }];
    await upstream.paid([before, p4]);
    await eventually(async () => (await db.batchOf(p4.paymentId)) === `${t1Batch}:2`, 'next payment in the successor');
    expect(await db.batchOf(before.paymentId)).toBe(`${t1Batch}:3`);
    const second = ((await (await settle()).json()) as { batches: BatchJson[] }).batches;
    // The terminal's late batch, still open, closes with it.
    expect(second.map((b) => b.batchId).sort()).toEqual([`${t1Batch}:2`, `${t1Batch}:3`]);
    expect(second.find((b) => b.batchId === `${t1Batch}:2`)).toMatchObject({ totals: { paymentCount: 1, totalFen: 400 } });

    // The Kafka command, for a terminal with no batch yet: an empty batch opens and closes, so its void gate closes too.
    await upstream.send(Topics.clearingCommands, [
      envelope('pos.clearing.terminal-settlement.requested', merchantId, { merchantId, terminalId: 'T3', batchNo: '000009', requestedBy: 'ops' }),
    ]);
    const empty = await eventually(async () => {
      const [row] = await db.query<{ batch_id: string }>(`SELECT batch_id FROM batches WHERE merchant_id = $1 AND terminal_id = 'T3' AND sequence = 1`, [merchantId]);
      return row?.batch_id;
    }, 'batch opened by the command');
    expect((await closedBatch(empty)).totals).toEqual({ paymentCount: 0, totalFen: 0, voidedCount: 0, voidedFen: 0 });
  });
  it('clears a payment whose void its channel refused, waits for a refusal the gate counts, and parks one for a closed batch (ADR 0008)', async () => {
    const merchantId = uniqueName('R').slice(0, 30);
    const now = new Date().toISOString();
    const [refusedPaid, executedPaid, keptPaid] = [3_000, 500, 70].map((amountFen) => payment({ merchantId, succeededAt: now, amountFen }));
    await upstream.paid([refusedPaid, executedPaid, keptPaid]);
    await eventually(async () => (await db.query(`SELECT 1 FROM batch_payments WHERE merchant_id = $1`, [merchantId])).length === 3, 'payments assigned');
    const batchId = await batchOfPayment(refusedPaid.paymentId);
    const [refusedVoid, executedVoid] = [voidOf(refusedPaid, batchId), voidOf(executedPaid, batchId)];
    await upstream.voided([refusedVoid, executedVoid]);
    const refusalOf = (v: VoidAccepted): VoidChannelRefused => ({
      voidId: v.voidId, paymentId: v.paymentId, merchantId, batchId, channel: 'WECHAT', operation: 'WECHAT_REVERSE', outTradeNo: v.outTradeNo,
      amountFen: v.amountFen, decidedAt: v.decidedAt, channelCode: 'REVERSE_EXPIRE', attempts: 1, refusedAt: new Date().toISOString(), remedy: 'REFUND', message: 'refund it',
    });

    // The gate counts one executed and one refused void; the refusal is late (parked, replayed):
    // the batch waits for it in CLOSING, then closes by itself with the refused payment cleared.
    await eventually(async () => (await batch(batchId)).state === 'CLOSING', 'cutoff to start closing');
    await upstream.send(Topics.voidEvents, [envelope('pos.void.gate-closed', merchantId, { batchId, merchantId, closedAt: new Date().toISOString(), acceptedVoids: 1, refusedVoids: 1 })]);
    await eventually(async () => (await db.query(`SELECT 1 FROM void_gates WHERE batch_id = $1`, [batchId])).length === 1, 'gate-closed recorded');
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await batch(batchId)).state).toBe('CLOSING');
    await upstream.send(Topics.voidEvents, [envelope('pos.void.channel-refused', merchantId, refusalOf(refusedVoid))]);
    const closed = await closedBatch(batchId);
    expect(closed.totals).toEqual({ paymentCount: 2, totalFen: 3_070, voidedCount: 1, voidedFen: 500 });
    expect((await getJson<{ status: string; voidId: string | null }>(`/v1/payments/${refusedPaid.paymentId}/clearing`)).body).toMatchObject({ status: 'CLEARED', voidId: null });
    await eventually(
      async () => upstream.eventsOfType('pos.clearing.payment.cleared').some((e) => e.data['paymentId'] === refusedPaid.paymentId),
      'the refused payment cleared',
    );

    // A refusal for a batch already closed cannot happen by construction: parked with the reason, totals unchanged.
    const impossible = envelope('pos.void.channel-refused', merchantId, refusalOf(executedVoid));
    await upstream.send(Topics.voidEvents, [impossible]);
    const [parked] = await upstream.collect(`${Topics.voidEvents}.dlq`, uniqueName('dlq'), 1, 30_000, (m) => m.headers['ce_id'] === impossible.id);
    expect(parked.headers[DeadLetterHeaders.reason]).toBe('REJECTED_BY_HANDLER');
    expect(parked.headers[DeadLetterHeaders.detail]).toContain(`after batch ${batchId} closed without the payment: cannot happen by ADR 0008`);
    expect((await batch(batchId)).totals).toEqual(closed.totals);
  });
});
