import { cutoffWindowIn, formatShanghai, parseVersionedCutoffSchedule } from '@pos/business-calendar';
import { PaymentSucceeded } from '@pos/contracts';
import { ServiceDefinition } from '@pos/service-runtime';
import { BootedService, bootService } from '@pos/service-testing';
import { batchKeyOf, clearingSchedulesFrom } from '@pos/settlement-batches';
import { testStack, uniqueName } from '@pos/testing';
import { clearingServiceDefinition } from './app/clearing-service.definition';
import { scheduleChangeNoticeMs } from './app/schedule-versions';
import { ClearingDatabase, eventually, payment, Upstream } from './testing/clearing-harness';

const TICK_MS = 250;
const NOTICE_MS = scheduleChangeNoticeMs(TICK_MS);
const OLD_PERIOD_MS = 4_000;
const NEW_PERIOD_MS = 6_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const sleepUntil = (ms: number) => sleep(Math.max(0, ms - Date.now()));
const iso = (ms: number) => new Date(ms).toISOString();

/** A cutoff of every:4s at least `aheadMs` from now: where a change to every:6s may take effect. */
const oldCutoffAfter = (aheadMs: number) => Math.ceil((Date.now() + aheadMs) / OLD_PERIOD_MS) * OLD_PERIOD_MS;
const changedAt = (effectiveFromMs: number) => `every:4s; every:6s from ${formatShanghai(new Date(effectiveFromMs))}`;

interface BatchRowJson {
  batch_id: string;
  sequence: number;
  opens_at: Date;
  closes_at: Date;
  state: string;
  cutoff_at: Date | null;
}

describe('cutoff schedule versions across clearing instances', () => {
  const stack = testStack();
  const env = (prefix: string, schema: string, wechatSchedule: string) => ({
    DATABASE_SCHEMA: schema,
    KAFKA_TOPIC_PREFIX: prefix,
    CUTOFF_SCHEDULE_WECHAT: wechatSchedule,
    CLEARING_TICK_MS: String(TICK_MS),
    RECONCILIATION_DIR: `/tmp/${schema}`,
  });
  const readiness = async (service: BootedService) => {
    const response = await fetch(`${service.url}/health/ready`);
    return { status: response.status, body: (await response.json()) as { error?: Record<string, Record<string, string>> } };
  };
  const storedVersions = (db: ClearingDatabase) =>
    db.query<{ position: number; effective_from: Date | null; schedule: string }>(
      `SELECT position, effective_from, schedule FROM cutoff_schedule_versions WHERE channel = 'WECHAT' ORDER BY position`,
    );

  it('changes the cutoff mid-day in a rolling restart: payments before and after follow their versions, and no two batches overlap', async () => {
    const prefix = `${uniqueName('ver')}.`;
    const schema = uniqueName('clearing_ver');
    const merchantId = `V-${schema.slice(-8)}`;
    const upstream = new Upstream(stack, prefix);
    await upstream.observeClearing(uniqueName('observer'));
    const old = await bootService(clearingServiceDefinition, stack, env(prefix, schema, 'every:4s'));
    let oldRunning = true;
    let changed: BootedService | undefined;
    const db = await ClearingDatabase.connect(stack, schema);
    try {
      const paid: PaymentSucceeded[] = [];
      const pay = async (succeededAtMs: number) => {
        const p = payment({ merchantId, succeededAt: iso(succeededAtMs), amountFen: 100 + paid.length });
        paid.push(p);
        await upstream.paid([p]);
      };
      await pay(Date.now());
      await eventually(async () => (await db.assignedCount()) === 1, 'the first payment assigned under every:4s');

      // The change takes effect at a cutoff of every:4s a few seconds after the notice.
      const effectiveFrom = oldCutoffAfter(NOTICE_MS + 4_000);
      const versioned = changedAt(effectiveFrom);
      changed = await bootService(clearingServiceDefinition, stack, env(prefix, schema, versioned));
      expect((await storedVersions(db)).map((v) => [v.position, v.effective_from?.getTime() ?? null, v.schedule])).toEqual([
        [0, null, 'every:4s'],
        [1, effectiveFrom, 'every:6s'],
      ]);
      // The instance still on the old configuration learns of the stored change without a restart.
      await eventually(async () => (await readiness(old)).status === 503, 'the old instance to report itself not ready');
      expect((await readiness(changed)).status).toBe(200);
      await pay(Date.now());
      oldRunning = false;
      await old.close();

      const firstNewCutoff = Math.ceil((effectiveFrom + 1) / NEW_PERIOD_MS) * NEW_PERIOD_MS;
      const instants = [effectiveFrom - 1, effectiveFrom, firstNewCutoff - 1, firstNewCutoff, firstNewCutoff + NEW_PERIOD_MS - 1, firstNewCutoff + NEW_PERIOD_MS];
      for (const at of instants) {
        await sleepUntil(at);
        await pay(at);
      }
      await eventually(async () => (await db.assignedCount()) === paid.length, `all ${paid.length} payments assigned`);

      // Every payment is in the batch its success time gives under the versions, every:4s then every:6s.
      const schedules = clearingSchedulesFrom({ WECHAT: versioned });
      for (const p of paid) {
        const key = batchKeyOf({ ...p, succeededAt: new Date(p.succeededAt) }, schedules);
        expect({ payment: p.succeededAt, batch: await db.batchOf(p.paymentId) }).toEqual({ payment: p.succeededAt, batch: key.batchId });
      }
      const windowOf = (ms: number) => cutoffWindowIn(parseVersionedCutoffSchedule(versioned), new Date(ms));
      expect(windowOf(effectiveFrom - 1)).toEqual({ opensAt: new Date(effectiveFrom - OLD_PERIOD_MS), closesAt: new Date(effectiveFrom) });
      expect(windowOf(effectiveFrom)).toEqual({ opensAt: new Date(effectiveFrom), closesAt: new Date(firstNewCutoff) });
      expect(windowOf(firstNewCutoff)).toEqual({ opensAt: new Date(firstNewCutoff), closesAt: new Date(firstNewCutoff + NEW_PERIOD_MS) });

      // The batches themselves carry those windows, and tile time without overlap.
      await upstream.answerGates(merchantId);
      await eventually(
        async () => (await db.query(`SELECT 1 FROM batches WHERE merchant_id = $1 AND state NOT IN ('CLOSED', 'SETTLED')`, [merchantId])).length === 0,
        'every batch closed',
      );
      const batches = await db.query<BatchRowJson & Record<string, unknown>>(
        `SELECT batch_id, sequence, opens_at, closes_at, state, cutoff_at FROM batches WHERE merchant_id = $1 AND channel = 'WECHAT' ORDER BY opens_at`,
        [merchantId],
      );
      expect(batches.every((b) => b.sequence === 1)).toBe(true);
      for (const b of batches) {
        expect(cutoffWindowIn(parseVersionedCutoffSchedule(versioned), b.opens_at)).toEqual({ opensAt: b.opens_at, closesAt: b.closes_at });
        expect(b.cutoff_at).toEqual(b.closes_at);
      }
      for (let i = 1; i < batches.length; i++) expect(batches[i].opens_at.getTime()).toBeGreaterThanOrEqual(batches[i - 1].closes_at.getTime());
      expect(batches.map((b) => b.closes_at.getTime())).toEqual(expect.arrayContaining([effectiveFrom, firstNewCutoff, firstNewCutoff + NEW_PERIOD_MS]));
    } finally {
      await upstream.close();
      if (oldRunning) await old.close();
      await changed?.close();
      await db.close();
    }
  });

  it('an instance lacking a stored version assigns nothing from its effective instant on, and catches up when restarted with it', async () => {
    const prefix = `${uniqueName('lag')}.`;
    const schema = uniqueName('clearing_lag');
    const merchantId = `L-${schema.slice(-8)}`;
    const upstream = new Upstream(stack, prefix);
    await upstream.observeClearing(uniqueName('observer'));
    const lagging = await bootService(clearingServiceDefinition, stack, env(prefix, schema, 'every:4s'));
    let laggingRunning = true;
    let restarted: BootedService | undefined;
    const db = await ClearingDatabase.connect(stack, schema);
    try {
      const effectiveFrom = oldCutoffAfter(NOTICE_MS + 2_000);
      const versioned = changedAt(effectiveFrom);
      // Another instance stores the change and leaves; the lagging one is alone with the old configuration.
      const other = await bootService(clearingServiceDefinition, stack, env(prefix, schema, versioned));
      await other.close();
      await eventually(async () => (await readiness(lagging)).status === 503, 'the lagging instance to report itself not ready');
      const { body } = await readiness(lagging);
      expect(body.error?.['cutoffSchedules']?.['WECHAT']).toContain(
        `the clearing schema holds version 2, "every:6s from ${formatShanghai(new Date(effectiveFrom))}", which this instance's CUTOFF_SCHEDULE_WECHAT lacks`,
      );

      const early = payment({ merchantId, succeededAt: new Date().toISOString() });
      await upstream.paid([early]);
      await eventually(async () => (await db.batchOf(early.paymentId)) !== undefined, 'a payment before the change assigned');

      await sleepUntil(effectiveFrom + 500);
      // Arriving after the change, but succeeded before it: its window is the same under either
      // version, so the lagging instance still assigns it. Sent first: the partition (one merchant) is
      // ordered, and the refused payment holds up what follows it there.
      const beforeChange = payment({ merchantId, succeededAt: iso(effectiveFrom - 100) });
      const afterChange = payment({ merchantId, succeededAt: iso(effectiveFrom + 100) });
      await upstream.paid([beforeChange, afterChange]);
      const schedules = clearingSchedulesFrom({ WECHAT: versioned });
      const keyOf = (p: PaymentSucceeded) => batchKeyOf({ ...p, succeededAt: new Date(p.succeededAt) }, schedules).batchId;
      await eventually(async () => (await db.batchOf(beforeChange.paymentId)) === keyOf(beforeChange), 'the payment before the change assigned after it');
      await sleep(4_000);
      expect(await db.batchOf(afterChange.paymentId)).toBeUndefined();

      laggingRunning = false;
      await lagging.close();
      restarted = await bootService(clearingServiceDefinition, stack, env(prefix, schema, versioned));
      expect((await readiness(restarted)).status).toBe(200);
      await eventually(async () => (await db.batchOf(afterChange.paymentId)) !== undefined, 'the payment after the change assigned after the restart');
      expect(await db.batchOf(afterChange.paymentId)).toBe(keyOf(afterChange));
      const [afterBatch] = await db.query<{ opens_at: Date; closes_at: Date }>(`SELECT opens_at, closes_at FROM batches WHERE batch_id = $1`, [keyOf(afterChange)]);
      expect(afterBatch).toEqual({ opens_at: new Date(effectiveFrom), closes_at: new Date(Math.ceil((effectiveFrom + 1) / NEW_PERIOD_MS) * NEW_PERIOD_MS) });
    } finally {
      await upstream.close();
      if (laggingRunning) await lagging.close();
      await restarted?.close();
      await db.close();
    }
  });

  it('refuses to boot with a cutoff change taking effect in the past, or sooner than the notice, or a rewritten first version', async () => {
    const prefix = `${uniqueName('past')}.`;
    const schema = uniqueName('clearing_past');
    const running = await bootService(clearingServiceDefinition, stack, env(prefix, schema, 'every:4s'));
    const db = await ClearingDatabase.connect(stack, schema);
    try {
      // Named apart, so that the connections of the refused boots can be told from the running instance's.
      const refused: ServiceDefinition = { ...clearingServiceDefinition, identity: { ...clearingServiceDefinition.identity, name: 'clearing-service-refused' } };
      const past = oldCutoffAfter(-60_000);
      await expect(bootService(refused, stack, env(prefix, schema, changedAt(past)))).rejects.toThrow(
        `clearing cannot start: cutoff schedule of WECHAT (CUTOFF_SCHEDULE_WECHAT): version 2, "every:6s from ${formatShanghai(new Date(past))}" of the configuration, ` +
          `taking effect at ${formatShanghai(new Date(past))}, is not among the versions in force (version 1, "every:4s"): ` +
          'a cutoff change must take effect at a future cutoff of the current schedule',
      );
      const tooSoon = oldCutoffAfter(1);
      await expect(bootService(refused, stack, env(prefix, schema, changedAt(tooSoon)))).rejects.toThrow(/must take effect at a future cutoff of the current schedule/);
      await expect(bootService(refused, stack, env(prefix, schema, 'every:6s'))).rejects.toThrow(
        /version 1, "every:6s" of the configuration, in force from the beginning, is not among the versions in force \(version 1, "every:4s"\)/,
      );
      expect((await storedVersions(db)).map((v) => v.schedule)).toEqual(['every:4s']);
      // A refused boot closes what it opened: no database connection is left behind.
      await eventually(
        async () => (await db.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = 'clearing-service-refused'`)).length === 0,
        'the refused boots’ connections to close',
        5_000,
      );
      expect((await readiness(running)).status).toBe(200);
    } finally {
      await running.close();
      await db.close();
    }
  });
});
