import { checkInvariants } from '../app/invariants';
import { ObservedBatch, ObservedEvent, Observation } from '../app/observation';
import { planDay, PlannedPayment } from '../app/plan';
import { DayReport } from '../app/report';

/**
 * A day report built from a planned day without running the stack: the plan's payments as
 * payments.events.v1 announced them, one CLOSED batch per merchant and channel with their totals,
 * a batch whose total is the largest safe number of fen (so the day's total passes 2^53), a dead
 * letter whose reason is markup, and the invariants as `checkInvariants` judges this observation
 * (several FAIL: no voids, files or HTTP answers were observed).
 */
export function reportFixture(): DayReport {
  const plan = planDay({ seed: 7, merchants: 2, payments: 30, periodMs: 30_000 });
  const firstCutoffAt = Date.UTC(2026, 10, 27, 4, 0, 0);
  const payments = plan.steps.filter((s): s is PlannedPayment => s.kind === 'payment');
  const events: ObservedEvent[] = payments.map((p, i) => ({
    topic: 'payments.events.v1',
    partition: 0,
    offset: String(i),
    key: p.merchantId,
    headers: { ce_id: `evt-${i}`, ce_type: p.outcome === 'DECLINED' ? 'pos.payment.failed' : 'pos.payment.succeeded' },
    id: `evt-${i}`,
    type: p.outcome === 'DECLINED' ? 'pos.payment.failed' : 'pos.payment.succeeded',
    data: {
      paymentId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      merchantId: p.merchantId,
      terminalId: p.terminalId,
      channel: p.channel,
      amountFen: p.amountFen,
      currency: 'CNY',
      outTradeNo: p.outTradeNo,
      succeededAt: new Date(firstCutoffAt + p.at).toISOString(),
    },
    timestamp: firstCutoffAt + p.at,
  }));
  events.push({
    topic: 'payments.commands.v1.dlq',
    partition: 0,
    offset: '0',
    key: 'M001',
    headers: { ce_id: 'bad-1', dlq_reason: '<script>alert("x")</script> & MALFORMED' },
    timestamp: firstCutoffAt,
  });
  const batches = new Map<string, ObservedBatch>();
  for (const event of events.filter((e) => e.type === 'pos.payment.succeeded')) {
    const merchantId = String(event.data?.['merchantId']);
    const channel = String(event.data?.['channel']);
    const batchId = `B-${merchantId}-${channel}`;
    const totals = batches.get(batchId)?.totals ?? { paymentCount: 0, totalFen: 0, voidedCount: 0, voidedFen: 0 };
    batches.set(batchId, {
      batchId,
      merchantId,
      channel,
      terminalId: null,
      clearingDate: '2026-11-27',
      state: 'CLOSED',
      closeReason: 'CUTOFF',
      opensAt: '2026-11-26T16:00:00.000Z',
      closesAt: '2026-11-27T16:00:00.000Z',
      closedAt: '2026-11-27T16:00:01.000Z',
      totals: { ...totals, paymentCount: totals.paymentCount + 1, totalFen: totals.totalFen + Number(event.data?.['amountFen']) },
    });
  }
  batches.set('B-LARGEST', {
    batchId: 'B-LARGEST',
    merchantId: 'M002',
    channel: 'ALIPAY',
    terminalId: null,
    clearingDate: '2026-11-27',
    state: 'CLOSED',
    closeReason: 'CUTOFF',
    opensAt: '2026-11-26T16:00:00.000Z',
    closesAt: '2026-11-27T16:00:00.000Z',
    closedAt: '2026-11-27T16:00:01.000Z',
    totals: { paymentCount: 1, totalFen: Number.MAX_SAFE_INTEGER, voidedCount: 1, voidedFen: 123_456 },
  });
  const observation: Observation = {
    schedule: [{ periodMs: plan.options.periodMs }],
    operator: { published: [], heldBack: [], replays: [] },
    payments: new Map(),
    voids: new Map(),
    voidCommandsSentAt: new Map(),
    invalidRequests: [],
    settlements: [],
    events,
    batches: [...batches.values()],
    files: [],
  };
  return {
    plan,
    observation,
    invariants: checkInvariants(plan, observation),
    firstCutoffAt,
    cutoffs: [firstCutoffAt, firstCutoffAt + plan.options.periodMs],
    startedAt: firstCutoffAt + plan.start,
    finishedAt: firstCutoffAt + plan.end,
  };
}
