import { planDay, planRace } from './plan';

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
});
