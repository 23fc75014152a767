import { cutoffWindowAt } from './expected-clearing';
import { CLOSE_GRACE_MS, planDay, planRace } from './plan';

const options = { seed: 7, merchants: 4, payments: 300, periodMs: 30_000 };

describe('planDay', () => {
  it('plans the same day for the same seed, and another for another seed', () => {
    expect(planDay(options)).toEqual(planDay(options));
    expect(planDay({ ...options, seed: 8 }).steps).not.toEqual(planDay(options).steps);
  });

  it('covers what a business day must show', () => {
    const plan = planDay(options);
    const payments = plan.steps.filter((s) => s.kind === 'payment');
    expect(payments).toHaveLength(300);
    expect(new Set(payments.map((p) => p.kind === 'payment' && p.channel))).toEqual(new Set(['WECHAT', 'ALIPAY', 'UNIONPAY_CARD']));
    expect(new Set(payments.map((p) => p.kind === 'payment' && p.outcome)).size).toBe(5);
    expect(payments.some((p) => p.kind === 'payment' && p.via === 'KAFKA')).toBe(true);
    expect(payments.some((p) => p.kind === 'payment' && p.at < 0) && payments.some((p) => p.kind === 'payment' && p.at > 0)).toBe(true);
    const variants = new Set(plan.steps.flatMap((s) => (s.kind === 'void' ? [s.variant] : [])));
    for (const v of ['BEFORE_CUTOFF', 'AFTER_CUTOFF', 'AFTER_SETTLEMENT', 'LATE_PAYMENT_SAME_NIGHT', 'PARTIAL_AMOUNT', 'RETRIED', 'DOUBLE']) {
      expect(variants).toContain(v);
    }
    expect(plan.steps.filter((s) => s.kind === 'settlement')).toHaveLength(1);
    expect(plan.steps.filter((s) => s.kind === 'malformed').length).toBeGreaterThanOrEqual(4);
    expect(plan.steps.filter((s) => s.kind === 'invalid-request').length).toBeGreaterThanOrEqual(4);
  });

  it('keeps steps in time order, voids after their payment, and order numbers unique', () => {
    const plan = planDay(options);
    const times = plan.steps.map((s) => s.at);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    for (const step of plan.steps) if (step.kind === 'void') expect(step.at).toBeGreaterThan(step.payment.at);
    const orders = plan.steps.flatMap((s) => (s.kind === 'payment' ? [s.outTradeNo] : []));
    expect(new Set(orders).size).toBe(orders.length);
  });

  it('voids each payment at most once, so every void with an expected answer can get it', () => {
    // The default day of `npm start` once planned two voids for one payment.
    for (const sizes of [options, { seed: 20261127, merchants: 4, payments: 240, periodMs: 30_000 }]) {
      const voided = planDay(sizes).steps.flatMap((s) => (s.kind === 'void' ? [s.payment.outTradeNo] : []));
      expect(new Set(voided).size).toBe(voided.length);
    }
  });

  it('gives every planned void the answers it may rightly get, each with why', () => {
    for (const plan of [planDay(options), planRace({ ...options, payments: 90 })]) {
      for (const step of plan.steps) {
        if (step.kind !== 'void') continue;
        expect(step.expected.length).toBeGreaterThan(0);
        for (const answer of step.expected) expect(answer.why).toMatch(/\w{3}/);
      }
    }
    const double = planRace({ ...options, payments: 90 }).steps.find((s) => s.kind === 'void' && s.variant === 'DOUBLE');
    expect(double?.kind === 'void' && double.expected.some((a) => a.when === 'ANOTHER_VOID_ACCEPTED')).toBe(true);
  });

  it('gives card payments after the terminal settlement the next POS batch number', () => {
    const plan = planDay(options);
    const settlement = plan.steps.find((s) => s.kind === 'settlement');
    if (settlement?.kind !== 'settlement') throw new Error('no settlement');
    for (const step of plan.steps) {
      if (step.kind !== 'payment' || step.channel !== 'UNIONPAY_CARD' || step.merchantId !== settlement.merchantId) continue;
      expect(step.card?.batchNo).toBe(step.at >= settlement.at ? '000002' : '000001');
    }
  });

  describe("with the operator's scenarios (the system test's day)", () => {
    const plan = planDay({ seed: 42, merchants: 2, payments: 40, periodMs: 12_000, operator: true });
    const payments = plan.steps.flatMap((s) => (s.kind === 'payment' ? [s] : []));

    it("publishes the cutoff change at a cutoff still ahead, further ahead than clearing's notice, before the first payment", () => {
      const change = plan.steps.find((s) => s.kind === 'schedule-change');
      if (change?.kind !== 'schedule-change') throw new Error('no cutoff change');
      expect(plan.schedule).toEqual([{ periodMs: 12_000 }, { periodMs: 6_000, effectiveFrom: 12_000 }]);
      expect(change).toMatchObject({ effectiveFrom: 12_000, periodMs: 6_000 });
      // Clearing refuses a version taking effect less than 10 s after it boots; the boot takes seconds more.
      expect(change.effectiveFrom - change.at).toBeGreaterThanOrEqual(30_000);
      expect(change.at).toBeLessThan(Math.min(...payments.map((p) => p.at)));
      expect(plan.start).toBe(change.at);
    });

    it('holds clearing across the first cutoff until after the close grace, while a payment succeeds just before the cutoff', () => {
      const hold = plan.steps.find((s) => s.kind === 'hold-back');
      if (hold?.kind !== 'hold-back') throw new Error('no hold-back');
      expect(hold.at).toBeLessThan(0);
      expect(hold.until).toBeGreaterThan(CLOSE_GRACE_MS);
      const late = payments.filter((p) => p.heldBack);
      expect(late).toHaveLength(1);
      expect(late[0]).toMatchObject({ outcome: 'SUCCESS', via: 'HTTP' });
      expect(late[0].at).toBeGreaterThan(hold.at);
      expect(late[0].at).toBeLessThan(0);
      expect(new Set(payments.map((p) => p.outTradeNo)).size).toBe(payments.length);
    });

    it('asks a void before its payment exists, and parks another accepted one, both in the first window before the hold', () => {
      const voids = plan.steps.flatMap((s) => (s.kind === 'void' ? [s] : []));
      const asked = voids.find((v) => v.variant === 'ASKED_AGAIN');
      const parked = voids.find((v) => v.variant === 'PARKED_AND_REPLAYED');
      expect(asked && asked.at < asked.payment.at).toBe(true);
      expect(parked && parked.at > parked.payment.at && parked.at < -2_500).toBe(true);
      expect(parked?.expected.map((e) => e.decision)).toEqual(['ACCEPTED']);
      // Never a RETRY_LATER answer as the last: a void asked again must end on a final one.
      expect(asked?.expected.map((e) => e.remedy)).not.toContain('RETRY_LATER');
      const voided = voids.map((v) => v.payment.outTradeNo);
      expect(new Set(voided).size).toBe(voided.length);
    });

    it('plans the voids meant to beat the cutoff against the changed schedule: each leaves its payment more than 4 s before its cutoff', () => {
      const busy = planDay({ seed: 7, merchants: 4, payments: 300, periodMs: 12_000, operator: true });
      const timed = busy.steps.flatMap((s) => (s.kind === 'void' && ['BEFORE_CUTOFF', 'PARTIAL_AMOUNT', 'RETRIED', 'DOUBLE', 'VIA_KAFKA'].includes(s.variant) ? [s] : []));
      expect(timed.some((v) => v.payment.at >= 12_000)).toBe(true);
      for (const v of timed) expect(cutoffWindowAt(v.payment.at, busy.schedule).closesAt - v.payment.at).toBeGreaterThan(4_000);
    });

    it('leaves the scenarios out of a day without an operator', () => {
      const plain = planDay({ seed: 42, merchants: 2, payments: 40, periodMs: 12_000 });
      expect(plain.steps.some((s) => s.kind === 'schedule-change' || s.kind === 'hold-back' || (s.kind === 'payment' && s.heldBack))).toBe(false);
      expect(plain.schedule).toEqual([{ periodMs: 12_000 }]);
    });
  });
});
