import { resolve } from 'node:path';
import { displayYuan } from '@pos/money';
import { planDay } from './app/plan';
import { writeReport } from './app/report';
import { readReportInBrowser } from './testing/report-browser';
import { SystemUnderTest } from './testing/system-harness';

/**
 * The main job end to end: a small business day through the same driver `npm start` runs, against
 * the three services as processes on real Kafka and PostgreSQL, with the operator's scenarios
 * (a cutoff change published mid-day, clearing held still across a cutoff while a payment
 * succeeds, a void asked again after RETRY_LATER, an accepted void parked and replayed with the
 * operator CLI). Every invariant must PASS.
 */
describe('a small business day, end to end', () => {
  const plan = planDay({ seed: 42, merchants: 2, payments: 40, periodMs: 12_000, operator: true });
  const system = new SystemUnderTest('every:12s', plan.merchants);

  beforeAll(async () => {
    await Promise.all([system.start('payment-service'), system.start('clearing-service'), system.start('void-service')]);
  }, 180_000);

  afterAll(() => system.stop(), 60_000);

  it('passes every invariant', async () => {
    const broker = system.broker();
    try {
      const report = await system.dayRun(plan, broker).run();
      // The report as `npm start` writes it (report.txt and report.html): which sources each check
      // compared, the operator's actions.
      const { text, htmlPath } = writeReport(resolve('tmp', 'business-day', system.prefix), report);
      const failed = report.invariants.filter((i) => !i.passed);
      if (failed.length) console.log(text);
      expect(failed).toEqual([]);
      expect(report.observation.batches.some((b) => b.state === 'CLOSED')).toBe(true);
      expect(report.invariants).toHaveLength(14);
      // The scenarios happened, not only their checks: the change, the hold, the replay.
      expect(report.observation.operator.published).toHaveLength(1);
      expect(report.observation.operator.heldBack).toHaveLength(1);
      expect(report.observation.operator.replays.map((r) => r.problem)).toEqual([undefined]);

      // The report as its reader sees it: report.html of this day, in headless Chromium.
      const page = await readReportInBrowser(htmlPath);
      expect(page.tables['invariants'].rows.map((r) => `${r[0]} ${r[1]}`)).toEqual(report.invariants.map((i) => `PASS ${i.name}`));
      expect(page.texts['verdict']).toBe('All invariants PASS.');
      const cleared = report.observation.batches.reduce((sum, b) => sum + BigInt(b.totals?.totalFen ?? 0), 0n);
      expect(page.tables['totals'].rows[1].slice(2)).toEqual([displayYuan(cleared), String(cleared)]);
      expect(cleared > 0n).toBe(true);
    } finally {
      await broker.close();
    }
  }, 240_000);
});
