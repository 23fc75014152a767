import { planRace } from './app/plan';
import { renderText } from './app/report';
import { SystemUnderTest } from './testing/system-harness';

/**
 * The race of DOMAIN.md: two instances of every service, a cutoff every few seconds, voids fired at
 * random instants around the cutoffs (some twice at once, some retried), and a void-service instance
 * crashed and replaced in the middle. Afterwards, for every payment: never both voided and cleared,
 * accepted voids excluded, batch totals exact, every request decided exactly once.
 */
describe('voids racing the cutoff', () => {
  const plan = planRace({ seed: 2026, merchants: 3, payments: 90, periodMs: 4_000 });
  const system = new SystemUnderTest('every:4s', plan.merchants);

  beforeAll(async () => {
    for (const name of ['payment-service', 'clearing-service', 'void-service'] as const) {
      await Promise.all([system.start(name), system.start(name)]);
    }
  }, 240_000);

  afterAll(() => system.stop(), 60_000);

  it('never lets a void and a cutoff both win, through a crash of a void-service instance', async () => {
    const broker = system.broker();
    const run = system.dayRun(plan, broker);
    // The run waits for its first cutoff, then lasts about three periods: crash in the middle of it.
    const crash = new Promise<void>((resolve, reject) => {
      setTimeout(() => system.crashAndRestart('void-service', 0).then(resolve, reject), Math.abs(plan.start) + 4_000 + 4_000);
    });
    try {
      const report = await run.run();
      await crash;
      const failed = report.invariants.filter((i) => !i.passed);
      if (failed.length) console.log(renderText(report));
      expect(failed).toEqual([]);

      const decisions = report.observation.events.filter((e) => e.type === 'pos.void.accepted' || e.type === 'pos.void.rejected');
      const reasons = new Set(decisions.map((e) => (e.type === 'pos.void.accepted' ? 'ACCEPTED' : String(e.data?.['reason']))));
      // Both sides of the race happened: voids won before cutoffs, cutoffs won against later voids.
      expect(reasons).toContain('ACCEPTED');
      expect([...reasons].some((r) => r === 'CUTOFF_PASSED' || r === 'ALREADY_CLEARED')).toBe(true);
      expect(reasons).toContain('ALREADY_VOIDED');
      expect(report.observation.events.some((e) => e.type === 'pos.clearing.batch.closed')).toBe(true);
    } finally {
      await broker.close();
    }
  }, 300_000);
});
