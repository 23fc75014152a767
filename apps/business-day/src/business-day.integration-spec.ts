import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { displayYuan } from '@pos/money';
import { planDay } from './app/plan';
import { renderText, writeReport } from './app/report';
import { readReportInBrowser } from './testing/report-browser';
import { SystemUnderTest } from './testing/system-harness';

/**
 * The main job end to end: a small business day through the same driver `npm start` runs, against
 * the three services as processes on real Kafka and PostgreSQL. Every invariant must PASS.
 */
describe('a small business day, end to end', () => {
  const plan = planDay({ seed: 42, merchants: 2, payments: 40, periodMs: 12_000 });
  const system = new SystemUnderTest('every:12s', plan.merchants);

  beforeAll(async () => {
    await Promise.all([system.start('payment-service'), system.start('clearing-service'), system.start('void-service')]);
  }, 180_000);

  afterAll(() => system.stop(), 60_000);

  it('passes every invariant', async () => {
    const broker = system.broker();
    try {
      const report = await system.dayRun(plan, broker).run();
      const text = renderText(report);
      const failed = report.invariants.filter((i) => !i.passed);
      if (failed.length) console.log(text);
      expect(failed).toEqual([]);
      expect(report.observation.batches.some((b) => b.state === 'CLOSED')).toBe(true);
      expect(report.invariants).toHaveLength(10);

      // The report as its reader sees it: report.html of this day, in headless Chromium.
      const dir = mkdtempSync(join(tmpdir(), 'pos-report-'));
      try {
        const page = await readReportInBrowser(writeReport(dir, report).htmlPath);
        expect(page.tables['invariants'].rows.map((r) => `${r[0]} ${r[1]}`)).toEqual(report.invariants.map((i) => `PASS ${i.name}`));
        expect(page.texts['verdict']).toBe('All invariants PASS.');
        const cleared = report.observation.batches.reduce((sum, b) => sum + BigInt(b.totals?.totalFen ?? 0), 0n);
        expect(page.tables['totals'].rows[1].slice(2)).toEqual([displayYuan(cleared), String(cleared)]);
        expect(cleared > 0n).toBe(true);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    } finally {
      await broker.close();
    }
  }, 240_000);
});
