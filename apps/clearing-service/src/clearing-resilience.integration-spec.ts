import { Logger } from '@nestjs/common';
import { BootedService, bootService } from '@pos/service-testing';
import { testStack, uniqueName } from '@pos/testing';
import { deadLetterTopicOf, PaymentSucceeded, Topics, VoidGateClosed } from '@pos/contracts';
import { DeadLetterHeaders, ReplayHeaders, replayMarkerOf } from '@pos/messaging';
import { clearingServiceDefinition } from './app/clearing-service.definition';
import { ClearingDatabase, envelope, eventually, payment, Upstream, voidOf } from './testing/clearing-harness';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Totals {
  batches: number;
  open: number;
  payments: number;
  fen: string;
}

/** Sums over the merchants' batches, closed ones by their stored totals; open ones counted apart. */
async function totalsOf(db: ClearingDatabase, merchants: readonly string[]): Promise<Totals> {
  const [row] = await db.query<{ batches: number; open: number; payments: number; fen: string }>(
    `SELECT count(*)::int AS batches,
            count(*) FILTER (WHERE state NOT IN ('CLOSED', 'SETTLED'))::int AS open,
            coalesce(sum(payment_count), 0)::int AS payments,
            coalesce(sum(total_fen), 0)::text AS fen
       FROM batches WHERE merchant_id = ANY($1)`,
    [merchants],
  );
  return row;
}

/** Each batch's close announced by exactly one event (wire duplicates share an id), carrying the stored totals. */
async function expectOneCloseEventPerBatch(db: ClearingDatabase, upstream: Upstream, merchants: readonly string[]): Promise<void> {
  const batches = await db.query<{ batch_id: string; payment_count: string; total_fen: string }>(
    `SELECT batch_id, payment_count::text, total_fen::text FROM batches WHERE merchant_id = ANY($1)`,
    [merchants],
  );
  await eventually(
    async () => new Set(upstream.eventsOfType('pos.clearing.batch.closed').filter((e) => merchants.includes(e.data['merchantId'] as string)).map((e) => e.data['batchId'])).size === batches.length,
    'a batch.closed event for every batch',
  );
  for (const batch of batches) {
    for (const type of ['pos.clearing.batch.closing', 'pos.clearing.batch.closed', 'pos.clearing.batch.opened']) {
      const events = upstream.eventsOfType(type).filter((e) => e.data['batchId'] === batch.batch_id);
      expect({ batch: batch.batch_id, type, ids: new Set(events.map((e) => e.message.headers['ce_id'])).size }).toEqual({ batch: batch.batch_id, type, ids: 1 });
      if (type === 'pos.clearing.batch.closed') {
        expect(events[0].data).toMatchObject({ paymentCount: Number(batch.payment_count), totalFen: Number(batch.total_fen) });
      }
    }
  }
}

describe('clearing service across restarts and instances', () => {
  const stack = testStack();
  const env = (prefix: string, schema: string) => ({
    DATABASE_SCHEMA: schema,
    KAFKA_TOPIC_PREFIX: prefix,
    CUTOFF_SCHEDULE_WECHAT: 'every:3s',
    CUTOFF_SCHEDULE_ALIPAY: 'every:3s',
    CLEARING_TICK_MS: '250',
    RECONCILIATION_DIR: `/tmp/${schema}`,
  });

  it('loses nothing when restarted in the middle of a batch', async () => {
    const prefix = `${uniqueName('rst')}.`;
    const schema = uniqueName('clearing_rst');
    const upstream = new Upstream(stack, prefix);
    await upstream.observeClearing(uniqueName('observer'));
    let service: BootedService | undefined = await bootService(clearingServiceDefinition, stack, env(prefix, schema));
    const db = await ClearingDatabase.connect(stack, schema);
    try {
      const merchants = ['R1', 'R2', 'R3'].map((m) => `${m}-${schema.slice(-6)}`);
      const paid: PaymentSucceeded[] = [];
      for (let i = 0; i < 600; i++) {
        paid.push(payment({ merchantId: merchants[i % 3], succeededAt: new Date().toISOString(), amountFen: 1 + ((i * 7919) % 100_000), channel: i % 2 ? 'WECHAT' : 'ALIPAY' }));
      }
      await upstream.paid(paid);
      await eventually(async () => (await db.assignedCount()) >= 50, 'the first payments assigned', 60_000, 20);
      await service.close();
      service = undefined;
      const halfway = await db.assignedCount();
      expect(halfway).toBeLessThan(paid.length);

      service = await bootService(clearingServiceDefinition, stack, env(prefix, schema));
      await eventually(async () => (await db.assignedCount()) === paid.length, 'every payment assigned after the restart');
      await upstream.answerGates();
      await eventually(async () => (await totalsOf(db, merchants)).open === 0 || undefined, 'every batch closed', 60_000);
      const totals = await totalsOf(db, merchants);
      expect({ payments: totals.payments, fen: totals.fen }).toEqual({
        payments: paid.length,
        fen: String(paid.reduce((sum, p) => sum + p.amountFen, 0)),
      });
      await expectOneCloseEventPerBatch(db, upstream, merchants);
    } finally {
      await upstream.close();
      await service?.close();
      await db.close();
    }
  });

  it('two instances in one group, one stopped during load: every batch closed once with exact totals', async () => {
    const prefix = `${uniqueName('two')}.`;
    const schema = uniqueName('clearing_two');
    const upstream = new Upstream(stack, prefix);
    await upstream.observeClearing(uniqueName('observer'));
    await upstream.answerGates();
    const first = await bootService(clearingServiceDefinition, stack, env(prefix, schema));
    let second: BootedService | undefined = await bootService(clearingServiceDefinition, stack, env(prefix, schema));
    const db = await ClearingDatabase.connect(stack, schema);
    try {
      const merchants = Array.from({ length: 8 }, (_, i) => `L${i}-${schema.slice(-6)}`);
      const paid: PaymentSucceeded[] = [];
      const started = Date.now();
      let round = 0;
      // About 8 s of load over several 3 s cutoffs; the second instance leaves halfway through.
      while (Date.now() - started < 8_000) {
        const wave = Array.from({ length: 25 }, (_, i) =>
          payment({
            merchantId: merchants[(round + i) % merchants.length],
            succeededAt: new Date().toISOString(),
            amountFen: 1 + ((round * 31 + i * 7919) % 500_000),
            channel: i % 3 === 0 ? 'ALIPAY' : 'WECHAT',
          }),
        );
        paid.push(...wave);
        await upstream.paid(wave);
        if (second && Date.now() - started > 4_000) {
          await second.close();
          second = undefined;
        }
        round++;
        await sleep(100);
      }
      await eventually(async () => (await db.assignedCount()) === paid.length, `all ${paid.length} payments assigned`, 90_000);
      await eventually(async () => (await totalsOf(db, merchants)).open === 0 || undefined, 'every batch closed', 60_000);
      const totals = await totalsOf(db, merchants);
      expect(totals.batches).toBeGreaterThan(merchants.length);
      expect({ payments: totals.payments, fen: totals.fen }).toEqual({
        payments: paid.length,
        fen: String(paid.reduce((sum, p) => sum + p.amountFen, 0)),
      });
      // Each batch's own totals equal what it holds.
      const drift = await db.query(
        `SELECT b.batch_id FROM batches b LEFT JOIN batch_payments p USING (batch_id)
          WHERE b.merchant_id = ANY($1) GROUP BY b.batch_id, b.payment_count, b.total_fen
         HAVING b.payment_count <> count(p.payment_id) OR b.total_fen <> coalesce(sum(p.amount_fen), 0)`,
        [merchants],
      );
      expect(drift).toEqual([]);
      await expectOneCloseEventPerBatch(db, upstream, merchants);
      await eventually(
        async () => new Set(upstream.eventsOfType('pos.clearing.payment.cleared').filter((e) => merchants.includes(e.data['merchantId'] as string)).map((e) => e.data['paymentId'])).size === paid.length,
        'one payment.cleared per payment',
      );
    } finally {
      await upstream.close();
      await second?.close();
      await first.close();
      await db.close();
    }
  });
  it('holds a batch in CLOSING while a void accepted for it is parked, and closes it by itself once the void is replayed', async () => {
    const prefix = `${uniqueName('held')}.`;
    const schema = uniqueName('clearing_held');
    const upstream = new Upstream(stack, prefix);
    await upstream.observeClearing(uniqueName('observer'));
    const service = await bootService(clearingServiceDefinition, stack, env(prefix, schema));
    const db = await ClearingDatabase.connect(stack, schema);
    const errors = jest.spyOn(Logger.prototype, 'error');
    const awaitingVoids = async () => {
      const text = await (await fetch(`${service.url}/metrics`)).text();
      return Number(/^pos_clearing_batches_awaiting_voids (\d+)$/m.exec(text)?.[1]);
    };
    try {
      const merchantId = `H-${schema.slice(-6)}`;
      const now = new Date().toISOString();
      const kept = payment({ merchantId, succeededAt: now, amountFen: 1_000 });
      const voided = payment({ merchantId, succeededAt: now, amountFen: 2_000 });
      await upstream.paid([kept, voided]);
      await eventually(async () => (await db.assignedCount()) === 2, 'both payments assigned');
      const batchId = await eventually(() => db.batchOf(voided.paymentId), 'the voided payment assigned');
      expect(await db.batchOf(kept.paymentId)).toBe(batchId);

      // The accepted void fails every attempt (its write is refused), so clearing parks it.
      await db.query(`CREATE FUNCTION refuse_void() RETURNS trigger LANGUAGE plpgsql AS $$
                        BEGIN RAISE EXCEPTION 'voided_payments refuses %', NEW.payment_id; END $$`);
      await db.query(`CREATE TRIGGER refuse_void BEFORE INSERT ON voided_payments FOR EACH ROW EXECUTE FUNCTION refuse_void()`);
      await upstream.voided([voidOf(voided, batchId)]);
      const [parked] = await upstream.collect(deadLetterTopicOf(Topics.voidEvents), uniqueName('dlq'), 1);
      expect(parked.headers[DeadLetterHeaders.reason]).toBe('RETRIES_EXHAUSTED');
      await db.query(`DROP TRIGGER refuse_void ON voided_payments`);

      // The void service closes the gate, counting the void it accepted; clearing lacks it.
      await eventually(async () => upstream.eventsOfType('pos.clearing.batch.closing').some((e) => e.data['batchId'] === batchId), 'the batch closing');
      const gate: VoidGateClosed = { batchId, merchantId, closedAt: new Date().toISOString(), acceptedVoids: 1 };
      await upstream.send(Topics.voidEvents, [envelope('pos.void.gate-closed', merchantId, gate)]);
      await eventually(async () => (await db.query(`SELECT 1 FROM void_gates WHERE batch_id = $1`, [batchId])).length === 1, 'the gate-closed applied');
      await sleep(1_500);
      expect((await db.query<{ state: string }>(`SELECT state FROM batches WHERE batch_id = $1`, [batchId]))[0].state).toBe('CLOSING');
      expect(upstream.eventsOfType('pos.clearing.batch.closed').filter((e) => e.data['batchId'] === batchId)).toEqual([]);
      expect(await awaitingVoids()).toBe(1);
      expect(errors.mock.calls.map(([message]) => String(message))).toContainEqual(
        expect.stringContaining(`batch ${batchId} waits in CLOSING: the void service accepted 1 void(s) for it, 0 recorded`),
      );

      // The operator replays the parked void (as `ops dlq replay` does: same bytes and ce_id).
      const headers = Object.fromEntries(Object.entries(parked.headers).filter(([name]) => !name.startsWith('dlq_')));
      await upstream.sendRaw([
        {
          topic: Topics.voidEvents,
          key: parked.key,
          value: parked.value,
          headers: { ...headers, [ReplayHeaders.replayOf]: replayMarkerOf(parked.topic, parked.partition, parked.offset), [ReplayHeaders.replayedAt]: new Date().toISOString() },
        },
      ]);
      const closed = await eventually(async () => {
        const [row] = await db.query<{ state: string; payment_count: string; total_fen: string; voided_count: string; voided_fen: string }>(
          `SELECT state, payment_count::text, total_fen::text, voided_count::text, voided_fen::text FROM batches WHERE batch_id = $1`,
          [batchId],
        );
        return row.state === 'CLOSED' ? row : undefined;
      }, 'the batch closed after the replay');
      expect(closed).toEqual({ state: 'CLOSED', payment_count: '1', total_fen: '1000', voided_count: '1', voided_fen: '2000' });
      await eventually(async () => upstream.eventsOfType('pos.clearing.batch.closed').some((e) => e.data['batchId'] === batchId), 'the batch.closed event');
      const closedEvents = upstream.eventsOfType('pos.clearing.batch.closed').filter((e) => e.data['batchId'] === batchId);
      expect(closedEvents.map((e) => e.data)).toEqual([expect.objectContaining({ paymentCount: 1, totalFen: 1_000, voidedCount: 1, voidedFen: 2_000 })]);
      await eventually(async () => upstream.eventsOfType('pos.clearing.payment.cleared').some((e) => e.data['batchId'] === batchId), 'the payment.cleared event');
      expect(upstream.eventsOfType('pos.clearing.payment.cleared').filter((e) => e.data['batchId'] === batchId).map((e) => e.data['paymentId'])).toEqual([kept.paymentId]);
      expect(await awaitingVoids()).toBe(0);
    } finally {
      errors.mockRestore();
      await upstream.close();
      await service.close();
      await db.close();
    }
  });
});
