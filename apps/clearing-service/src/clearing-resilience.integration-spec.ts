import { BootedService, bootService } from '@pos/service-testing';
import { testStack, uniqueName } from '@pos/testing';
import { PaymentSucceeded } from '@pos/contracts';
import { clearingServiceDefinition } from './app/clearing-service.definition';
import { ClearingDatabase, eventually, payment, Upstream } from './testing/clearing-harness';

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
});
