import { checkInvariants, doubleVoidProblem } from './invariants';
import { ObservedEvent, Observation } from './observation';
import { planDay } from './plan';

const event = (topic: string, type: string, data: Record<string, unknown>, headers: Record<string, string> = {}): ObservedEvent => ({
  topic,
  partition: 0,
  offset: '0',
  key: String(data['merchantId'] ?? ''),
  headers: { ce_type: type, ...headers },
  type,
  data,
  timestamp: 0,
});

const emptyPlan = { ...planDay({ seed: 1, merchants: 1, payments: 1, periodMs: 30_000 }), steps: [] };

function observation(events: ObservedEvent[], batches: Observation['batches'] = []): Observation {
  return { payments: new Map(), voids: new Map(), invalidRequests: [], settlements: [], events, batches };
}

const byName = (results: ReturnType<typeof checkInvariants>, prefix: string) => results.find((r) => r.name.startsWith(prefix));

describe('checkInvariants', () => {
  const batch = {
    batchId: 'B1', merchantId: 'M001', channel: 'WECHAT', terminalId: null, clearingDate: '2026-11-27', state: 'CLOSED', closeReason: 'CUTOFF',
    opensAt: '', closesAt: '', closedAt: '', totals: { paymentCount: 1, totalFen: 500, voidedCount: 1, voidedFen: 300 },
    reconciliation: { path: 'f.csv', clearedRows: 1, clearedFen: 500, voidedRows: 1, statedCount: 1, statedFen: 500 },
  };
  const consistent = [
    event('voids.events.v1', 'pos.void.accepted', { paymentId: 'p2', merchantId: 'M001', batchId: 'B1', idempotencyKey: 'k' }),
    event('clearing.events.v1', 'pos.clearing.payment.cleared', { paymentId: 'p1', batchId: 'B1', amountFen: 500, merchantId: 'M001' }),
    event('clearing.events.v1', 'pos.clearing.batch.closed', { batchId: 'B1', paymentCount: 1, totalFen: 500, merchantId: 'M001' }),
  ];

  it('passes a consistent day', () => {
    const results = checkInvariants(emptyPlan, observation(consistent, [batch]));
    expect(results.filter((r) => !r.passed)).toEqual([]);
  });

  it('fails when a voided payment was cleared', () => {
    const events = [...consistent, event('clearing.events.v1', 'pos.clearing.payment.cleared', { paymentId: 'p2', batchId: 'B1', amountFen: 300 })];
    const results = checkInvariants(emptyPlan, observation(events, [batch]));
    expect(byName(results, 'Never both')?.passed).toBe(false);
    expect(byName(results, 'Batch totals')?.passed).toBe(false);
  });

  it('fails when the file disagrees with the totals by one fen', () => {
    const off = { ...batch, reconciliation: { ...batch.reconciliation, statedFen: 499 } };
    expect(byName(checkInvariants(emptyPlan, observation(consistent, [off])), 'Batch totals')?.passed).toBe(false);
  });

  it('counts a second delivery of the same event once, but a second decision as doubled', () => {
    const accepted = event('voids.events.v1', 'pos.void.accepted', { paymentId: 'p2', merchantId: 'M001', batchId: 'B1', idempotencyKey: 'k', voidId: 'v1' });
    const copy = { ...accepted, offset: '1', id: 'e1', headers: { ...accepted.headers, ce_id: 'e1' } };
    const first = { ...accepted, id: 'e1', headers: { ...accepted.headers, ce_id: 'e1' } };
    const cleared = event('clearing.events.v1', 'pos.clearing.payment.cleared', { paymentId: 'p1', batchId: 'B1', amountFen: 500, merchantId: 'M001' });
    const clearedCopy = { ...cleared, id: 'c1' };
    const events = [first, copy, { ...clearedCopy }, { ...clearedCopy, offset: '9' }, consistent[2]];
    expect(checkInvariants(emptyPlan, observation(events, [batch])).filter((r) => !r.passed)).toEqual([]);
    const second = { ...accepted, id: 'e2', headers: { ...accepted.headers, ce_id: 'e2' }, data: { ...accepted.data, voidId: 'v2' } };
    expect(byName(checkInvariants(emptyPlan, observation([...events, second], [batch])), 'Every accepted void')?.passed).toBe(false);
  });

  it('fails on a dead letter nobody sent on purpose', () => {
    const stray = event('payments.events.v1.dlq', 'pos.payment.succeeded', {}, { ce_id: 'x', dlq_reason: 'SCHEMA_VIOLATION' });
    expect(byName(checkInvariants(emptyPlan, observation([...consistent, stray], [batch])), 'Dead-letter')?.passed).toBe(false);
  });

  describe('a double void (two requests for one payment at once)', () => {
    const deadline = '2026-11-27T16:00:00.000Z';
    const accepted = { decision: 'ACCEPTED', decidedAt: '2026-11-27T15:59:59.990Z', deadline };
    const refused = (reason: string, decidedAt: string, remedy = 'REFUND') => ({ decision: 'REJECTED', reason, remedy, decidedAt, deadline });

    it('passes one accepted and the other ALREADY_VOIDED, in either order', () => {
      expect(doubleVoidProblem([accepted, refused('ALREADY_VOIDED', '2026-11-27T15:59:59.995Z')])).toBeUndefined();
      expect(doubleVoidProblem([refused('ALREADY_VOIDED', '2026-11-27T15:59:59.995Z'), accepted])).toBeUndefined();
    });

    it('passes the other refused CUTOFF_PASSED when it was decided at or after the accepted one\'s deadline', () => {
      expect(doubleVoidProblem([accepted, refused('CUTOFF_PASSED', '2026-11-27T16:00:00.004Z')])).toBeUndefined();
      expect(doubleVoidProblem([accepted, refused('VOID_WINDOW_EXPIRED', deadline)])).toBeUndefined();
    });

    it('passes the other refused for a payment the void service had not learnt yet, to be retried', () => {
      expect(doubleVoidProblem([refused('PAYMENT_NOT_FOUND', '2026-11-27T15:59:59.985Z', 'RETRY_LATER'), accepted])).toBeUndefined();
      expect(doubleVoidProblem([accepted, refused('PAYMENT_PENDING', '2026-11-27T15:59:59.985Z', 'RETRY_LATER')])).toBeUndefined();
    });

    it('passes both refused for the same reason', () => {
      expect(doubleVoidProblem([refused('CUTOFF_PASSED', '2026-11-27T16:00:01Z'), refused('CUTOFF_PASSED', '2026-11-27T16:00:01Z')])).toBeUndefined();
    });

    it('fails both accepted, the cutoff claimed before the deadline, and any other reason', () => {
      expect(doubleVoidProblem([accepted, { ...accepted }])).toBe('2 accepted');
      expect(doubleVoidProblem([accepted, refused('CUTOFF_PASSED', '2026-11-27T15:59:59.999Z')])).toMatch(/the other CUTOFF_PASSED \(remedy REFUND\) at 2026-11-27T15:59:59.999Z/);
      expect(doubleVoidProblem([accepted, refused('PAYMENT_NOT_FOUND', '2026-11-27T15:59:59.985Z', 'NONE')])).toMatch(/the other PAYMENT_NOT_FOUND/);
      expect(doubleVoidProblem([accepted, refused('AMOUNT_MISMATCH', '2026-11-27T15:59:59.985Z', 'RETRY_LATER')])).toMatch(/the other AMOUNT_MISMATCH/);
      expect(doubleVoidProblem([accepted, undefined])).toMatch(/the other no answer/);
    });
  });
});
