import { planDay } from './app/plan';
import { renderText } from './app/report';
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
    } finally {
      await broker.close();
    }
  }, 240_000);
});
