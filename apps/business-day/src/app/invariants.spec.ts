import { checkInvariants, doubleVoidProblem, InvariantResult } from './invariants';
import { HttpAnswer, ObservedBatch, ObservedEvent, Observation } from './observation';
import { DayPlan, FULL_VOID, ONE_OF_TWO_VOIDS, PlannedPayment, PlannedVoid, planDay } from './plan';
import { ReconciliationFile, StatedTotals } from './reconciliation-csv';

const PERIOD = 10_000;
/** A cutoff of the day's `every:10s` schedule; the window [T, T + 10 s) clears on 2026-11-27 (Asia/Shanghai). */
const T = Date.parse('2026-11-27T02:00:00.000Z');
const at = (ms: number) => new Date(T + ms).toISOString();

let offset = 0;
const event = (topic: string, type: string, data: Record<string, unknown>, timestamp = T): ObservedEvent => ({
  topic,
  partition: 0,
  offset: String(offset++),
  key: String(data['merchantId'] ?? ''),
  headers: { ce_type: type, ce_id: `e${offset}` },
  id: `e${offset}`,
  type,
  data,
  timestamp,
});

const succeeded = (paymentId: string, amountFen: number, ms: number, extra: Record<string, unknown> = {}) =>
  event('payments.events.v1', 'pos.payment.succeeded', {
    paymentId, merchantId: 'M001', terminalId: 'POS-1', channel: 'WECHAT', amountFen, currency: 'CNY', outTradeNo: `O-${paymentId}`, succeededAt: at(ms), channelTradeNo: `W-${paymentId}`, ...extra,
  });
const accepted = (paymentId: string, idempotencyKey: string, ms = 2_500) =>
  event('voids.events.v1', 'pos.void.accepted', { paymentId, merchantId: 'M001', idempotencyKey, voidId: `v-${idempotencyKey}`, batchId: 'B1', decidedAt: at(ms) }, T + ms);
const executed = (paymentId: string, idempotencyKey: string, ms = 2_600) =>
  event('voids.events.v1', 'pos.void.executed', {
    voidId: `v-${idempotencyKey}`, paymentId, merchantId: 'M001', batchId: 'B1', channel: 'WECHAT', operation: 'WECHAT_REVERSE', channelReference: `R-${paymentId}`, attempts: 1, executedAt: at(ms),
  }, T + ms);
const confirmed = (paymentId: string, idempotencyKey: string, ms = 2_600) =>
  event('voids.events.v1', 'pos.void.confirmed', { voidId: `v-${idempotencyKey}`, paymentId, merchantId: 'M001', channel: 'WECHAT', amountFen: 300, confirmedAt: at(ms) }, T + ms);
const refused = (paymentId: string, idempotencyKey: string, ms = 2_600) =>
  event('voids.events.v1', 'pos.void.channel-refused', {
    voidId: `v-${idempotencyKey}`, paymentId, merchantId: 'M001', batchId: 'B1', channel: 'WECHAT', operation: 'WECHAT_REVERSE', channelCode: 'REVERSE_EXPIRE', attempts: 1, refusedAt: at(ms), remedy: 'REFUND',
  }, T + ms);
const gateClosed = (batchId: string, acceptedVoids: number, refusedVoids: number, ms = PERIOD) =>
  event('voids.events.v1', 'pos.void.gate-closed', { batchId, merchantId: 'M001', closedAt: at(ms), acceptedVoids, refusedVoids }, T + ms);
const wallet = { merchantId: 'M001', channel: 'WECHAT', clearingDate: '2026-11-27' };
const card = { merchantId: 'M001', channel: 'UNIONPAY_CARD', clearingDate: '2026-11-27', terminalId: 'POS-CARD-1', batchNo: '000001' };
const opened = (batchId: string, identity: Record<string, unknown>, window = { opensAt: at(0), closesAt: at(PERIOD) }) =>
  event('clearing.events.v1', 'pos.clearing.batch.opened', { batchId, ...identity, ...window });
const closed = (batchId: string, identity: Record<string, unknown>, totals: StatedTotals) =>
  event('clearing.events.v1', 'pos.clearing.batch.closed', { batchId, ...identity, reason: 'CUTOFF', closedAt: at(PERIOD), ...totals }, T + PERIOD);
const cleared = (paymentId: string, batchId: string, amountFen: number) =>
  event('clearing.events.v1', 'pos.clearing.payment.cleared', { paymentId, merchantId: 'M001', batchId, amountFen, clearedAt: at(PERIOD) });

const B1: StatedTotals = { paymentCount: 1, totalFen: 500, voidedCount: 1, voidedFen: 300 };
const B2: StatedTotals = { paymentCount: 1, totalFen: 700, voidedCount: 0, voidedFen: 0 };

/** A day the checks must pass: p1 cleared and p2 voided in the WeChat batch, p3 cleared in the card batch. */
function consistentEvents(): ObservedEvent[] {
  return [
    succeeded('p1', 500, 1_000),
    succeeded('p2', 300, 2_000),
    succeeded('p3', 700, 3_000, { terminalId: 'POS-CARD-1', channel: 'UNIONPAY_CARD', card: { batchNo: '000001', voucherNo: '000003' } }),
    accepted('p2', 'k2'),
    executed('p2', 'k2'),
    confirmed('p2', 'k2'),
    opened('B1', wallet),
    opened('B2', card),
    closed('B1', wallet, B1),
    cleared('p1', 'B1', 500),
    closed('B2', card, B2),
    cleared('p3', 'B2', 700),
  ];
}

const view = (batchId: string, identity: { merchantId: string; channel: string; clearingDate: string; terminalId?: string }, totals: StatedTotals, state = 'CLOSED'): ObservedBatch => ({
  batchId, ...identity, terminalId: identity.terminalId ?? null, state, closeReason: 'CUTOFF', opensAt: at(0), closesAt: at(PERIOD), closedAt: at(PERIOD), totals: state === 'CLOSED' ? totals : null,
});

const file = (path: string, lines: ReconciliationFile['lines'], totals: [string, StatedTotals][], dayFile = false): ReconciliationFile => ({
  path, lines, batchTotals: new Map(totals), dayFile,
});

function consistentFiles(): ReconciliationFile[] {
  const b1Lines = [
    { batchId: 'B1', paymentId: 'p1', amountFen: 500, voided: false },
    { batchId: 'B1', paymentId: 'p2', amountFen: 300, voided: true },
  ];
  const b2Lines = [{ batchId: 'B2', paymentId: 'p3', amountFen: 700, voided: false }];
  return [
    file('/recon/2026-11-27/M001/batch_B1.csv', b1Lines, [['B1', B1]]),
    file('/recon/2026-11-27/M001/batch_B2.csv', b2Lines, [['B2', B2]]),
    file('/recon/2026-11-27/M001/merchant_M001_2026-11-27.csv', [...b1Lines, ...b2Lines], [['B1', B1], ['B2', B2]], true),
  ];
}

const emptyPlan: DayPlan = { ...planDay({ seed: 1, merchants: 1, payments: 1, periodMs: PERIOD }), steps: [] };

function observation(overrides: Partial<Observation> = {}): Observation {
  return {
    schedule: [{ periodMs: PERIOD }],
    operator: { published: [], heldBack: [], replays: [] },
    payments: new Map(),
    voids: new Map(),
    voidCommandsSentAt: new Map(),
    invalidRequests: [],
    settlements: [],
    events: consistentEvents(),
    batches: [view('B1', wallet, B1), view('B2', card, B2)],
    files: consistentFiles(),
    ...overrides,
  };
}

const byName = (results: InvariantResult[], prefix: string) => {
  const found = results.find((r) => r.name.startsWith(prefix));
  if (!found) throw new Error(`no check named ${prefix}`);
  return found;
};
const check = (prefix: string, overrides: Partial<Observation> = {}, plan = emptyPlan) => byName(checkInvariants(plan, observation(overrides)), prefix);
const MEMBERSHIP = 'Batch membership and totals';
const EXECUTED = 'Every accepted void has one final execution';
const EXCLUDED = 'Every accepted void is excluded';

/** The consistent events with one of them replaced. */
function replacing(type: string, batchId: string, replacement: ObservedEvent | undefined): ObservedEvent[] {
  const events = consistentEvents();
  const i = events.findIndex((e) => e.type === type && e.data?.['batchId'] === batchId);
  return replacement ? events.map((e, j) => (j === i ? replacement : e)) : events.filter((_, j) => j !== i);
}

describe('checkInvariants', () => {
  it('passes a consistent day, and says which sources each check compared', () => {
    const results = checkInvariants(emptyPlan, observation());
    expect(results.filter((r) => !r.passed)).toEqual([]);
    expect(byName(results, MEMBERSHIP).sources).toEqual(
      expect.arrayContaining(['payments.events.v1', 'voids.events.v1', "the day's cutoff schedule (every:10s)", 'pos.clearing.batch.closed (topic)', 'reconciliation files read from disk', 'clearing HTTP API (GET /v1/batches)']),
    );
    for (const r of results) expect(r.sources.length).toBeGreaterThan(0);
  });

  describe('batch membership and totals, recomputed', () => {
    it('fails a batch.closed total one fen off what the payments were paid', () => {
      const events = replacing('pos.clearing.batch.closed', 'B1', closed('B1', wallet, { ...B1, totalFen: 501 }));
      const result = check(MEMBERSHIP, { events });
      expect(result.passed).toBe(false);
      expect(result.problems.join('\n')).toMatch(/M001\/WECHAT\/2026-11-27\/-\/-: batch.closed totals add up to 1\/501 fen, the group's payments as paid to 1\/500 fen/);
    });

    it('fails when every clearing output agrees with the others but not with the amount paid', () => {
      const off: StatedTotals = { ...B1, totalFen: 501 };
      const events = replacing('pos.clearing.batch.closed', 'B1', closed('B1', wallet, off));
      const files = consistentFiles().map((f) => ({ ...f, lines: f.lines.map((l) => (l.paymentId === 'p1' ? { ...l, amountFen: 501 } : l)), batchTotals: new Map([...f.batchTotals].map(([id, t]) => [id, id === 'B1' ? off : t])) }));
      const result = check(MEMBERSHIP, { events, files, batches: [view('B1', wallet, off), view('B2', card, B2)] });
      expect(result.passed).toBe(false);
      expect(result.problems.join('\n')).toMatch(/lists p1 at 501 fen, it was paid 500 fen/);
    });

    it('fails a succeeded payment that no batch clears', () => {
      const events = [...consistentEvents(), succeeded('p4', 100, 4_000)];
      const result = check(MEMBERSHIP, { events });
      expect(result.passed).toBe(false);
      expect(result.problems.join('\n')).toMatch(/1 succeeded, unvoided payment\(s\) cleared by no batch of the group: p4/);
    });

    it('fails a payment cleared in the batch of another clearing group', () => {
      // p1 succeeded on Alipay, but the WeChat batch clears it.
      const events = consistentEvents().map((e) => (e.data?.['paymentId'] === 'p1' && e.type === 'pos.payment.succeeded' ? succeeded('p1', 500, 1_000, { channel: 'ALIPAY' }) : e));
      const result = check(MEMBERSHIP, { events });
      expect(result.passed).toBe(false);
      expect(result.problems.join('\n')).toMatch(/payment p1 is in batch B1 of M001\/WECHAT\/2026-11-27\/-\/-, its success time and channel put it in M001\/ALIPAY/);
    });

    it('fails a batch holding payments of two cutoff windows', () => {
      const later = succeeded('p5', 200, PERIOD + 1_000);
      const both: StatedTotals = { ...B1, paymentCount: 2, totalFen: 700 };
      const events = [...replacing('pos.clearing.batch.closed', 'B1', closed('B1', wallet, both)), later, cleared('p5', 'B1', 200)];
      const files = consistentFiles().map((f) =>
        f.dayFile ? f : f.batchTotals.has('B1') ? file(f.path, [...f.lines, { batchId: 'B1', paymentId: 'p5', amountFen: 200, voided: false }], [['B1', both]]) : f,
      );
      const result = check(MEMBERSHIP, { events, files: files.filter((f) => !f.dayFile), batches: [view('B1', wallet, both), view('B2', card, B2)] });
      expect(result.passed).toBe(false);
      expect(result.problems.join('\n')).toMatch(/batch B1 holds payments of 2 cutoff windows/);
    });

    it('fails a batch whose file is not on disk', () => {
      const result = check(MEMBERSHIP, { files: consistentFiles().filter((f) => !f.path.endsWith('batch_B2.csv')) });
      expect(result.passed).toBe(false);
      expect(result.problems).toContain('batch B2: no reconciliation file of its own on disk');
    });

    it("fails a file whose stated total is one fen off its batch's, naming the file it read", () => {
      const files = consistentFiles().map((f) => (f.dayFile ? { ...f, batchTotals: new Map([...f.batchTotals, ['B2', { ...B2, totalFen: 699 }]]) } : f));
      const result = check(MEMBERSHIP, { files });
      expect(result.passed).toBe(false);
      expect(result.problems.join('\n')).toMatch(/batch B2: \/recon\/2026-11-27\/M001\/merchant_M001_2026-11-27.csv states 1\/699 fen/);
    });

    it('fails clearing API totals that differ from batch.closed', () => {
      const result = check(MEMBERSHIP, { batches: [view('B1', wallet, { ...B1, paymentCount: 2 }), view('B2', card, B2)] });
      expect(result.passed).toBe(false);
      expect(result.problems.join('\n')).toMatch(/batch B1: API totals 2\/500/);
    });

    it('fails payment.cleared events that are not the payments the file clears', () => {
      const result = check(MEMBERSHIP, { events: replacing('pos.clearing.payment.cleared', 'B2', undefined) });
      expect(result.passed).toBe(false);
      expect(result.problems.join('\n')).toMatch(/batch B2: 0 payment.cleared events, 1 CLEARED lines/);
    });
  });

  describe('accepted voids excluded', () => {
    it("fails a voided payment among a file's cleared lines", () => {
      const files = consistentFiles().map((f) => ({ ...f, lines: f.lines.map((l) => (l.paymentId === 'p2' ? { ...l, voided: false } : l)) }));
      const results = checkInvariants(emptyPlan, observation({ files }));
      expect(byName(results, EXCLUDED).passed).toBe(false);
      expect(byName(results, EXCLUDED).problems.join('\n')).toMatch(/voided payment p2 is a CLEARED line of \/recon\/2026-11-27\/M001\/batch_B1.csv/);
      expect(byName(results, 'Never both').passed).toBe(false);
      expect(byName(results, MEMBERSHIP).passed).toBe(false);
    });

    it("fails a voided payment missing from the files' voided lines", () => {
      const files = consistentFiles().map((f) => ({ ...f, lines: f.lines.filter((l) => l.paymentId !== 'p2') }));
      const result = check(EXCLUDED, { files });
      expect(result.passed).toBe(false);
      expect(result.problems).toContain('voided payment p2 is a VOIDED line of 0 batch files (expected 1)');
    });

    it('fails voided totals one fen off the voided payment as paid', () => {
      const result = check(EXCLUDED, { events: replacing('pos.clearing.batch.closed', 'B1', closed('B1', wallet, { ...B1, voidedFen: 299 })) });
      expect(result.passed).toBe(false);
      expect(result.problems.join('\n')).toMatch(/batch.closed voided totals 1\/299 fen, the accepted voids' payments add up to 1\/300 fen/);
    });

    it('fails a second accepted void of one payment, but counts a redelivered event once', () => {
      const events = consistentEvents();
      const copy = { ...events[3], offset: '99' };
      expect(check(EXCLUDED, { events: [...events, copy] }).passed).toBe(true);
      expect(check(EXCLUDED, { events: [...events, accepted('p2', 'k2-other')] }).passed).toBe(false);
    });
  });

  describe('voids executed at their channel (ADR 0008)', () => {
    const withoutExecution = () => consistentEvents().filter((e) => e.type !== 'pos.void.executed' && e.type !== 'pos.void.confirmed');

    it('fails an accepted void without a final execution event, and one with two', () => {
      expect(check(EXECUTED, { events: withoutExecution() }).problems).toEqual(['accepted void v-k2 has 0 final execution events (expected 1)']);
      const twice = check(EXECUTED, { events: [...consistentEvents(), refused('p2', 'k2')] });
      expect(twice.problems).toEqual(['accepted void v-k2 has 2 final execution events (expected 1)']);
    });

    it('fails a customer notice sent before the channel executed the void, or for a void it refused', () => {
      const early = check(EXECUTED, { events: [...withoutExecution(), confirmed('p2', 'k2'), executed('p2', 'k2')] });
      expect(early.problems).toEqual(['void v-k2: pos.void.confirmed is not after its pos.void.executed']);
      const toldAnyway = check(EXECUTED, { events: [...withoutExecution(), refused('p2', 'k2'), confirmed('p2', 'k2')] });
      expect(toldAnyway.problems).toEqual(['void v-k2 was refused by its channel (REVERSE_EXPIRE), yet the customer was told it was confirmed']);
    });

    it('fails a gate-closed written before an execution of its batch, or counting them wrong', () => {
      const events = withoutExecution();
      const before = check(EXECUTED, { events: [...events, gateClosed('B1', 1, 0), executed('p2', 'k2'), confirmed('p2', 'k2')] });
      expect(before.problems).toEqual(['batch B1: gate-closed is not after pos.void.executed of void v-k2']);
      const miscounted = check(EXECUTED, { events: [...consistentEvents(), gateClosed('B1', 0, 1)] });
      expect(miscounted.problems).toEqual(['batch B1: gate-closed counts 0 executed and 1 refused voids, the topic has 1 and 0']);
      expect(check(EXECUTED, { events: [...consistentEvents(), gateClosed('B1', 1, 0)] }).passed).toBe(true);
    });

    describe('a void the channel refused', () => {
      // p2's void was accepted, then refused by WeChat: p2 is cleared in B1 with p1.
      const B1_WITH_P2: StatedTotals = { paymentCount: 2, totalFen: 800, voidedCount: 0, voidedFen: 0 };
      const refusedDay = () => [
        ...withoutExecution().filter((e) => e.type !== 'pos.clearing.batch.closed' || e.data?.['batchId'] !== 'B1'),
        refused('p2', 'k2'),
        gateClosed('B1', 0, 1),
        closed('B1', wallet, B1_WITH_P2),
        cleared('p2', 'B1', 300),
      ];
      const b1Lines = [
        { batchId: 'B1', paymentId: 'p1', amountFen: 500, voided: false },
        { batchId: 'B1', paymentId: 'p2', amountFen: 300, voided: false },
      ];
      const b2Lines = [{ batchId: 'B2', paymentId: 'p3', amountFen: 700, voided: false }];
      const files = [
        file('/recon/2026-11-27/M001/batch_B1.csv', b1Lines, [['B1', B1_WITH_P2]]),
        file('/recon/2026-11-27/M001/batch_B2.csv', b2Lines, [['B2', B2]]),
        file('/recon/2026-11-27/M001/merchant_M001_2026-11-27.csv', [...b1Lines, ...b2Lines], [['B1', B1_WITH_P2], ['B2', B2]], true),
      ];
      const batches = [view('B1', wallet, B1_WITH_P2), view('B2', card, B2)];

      it('passes a day where its payment is cleared in its batch', () => {
        const results = checkInvariants(emptyPlan, observation({ events: refusedDay(), files, batches }));
        expect(results.filter((r) => !r.passed)).toEqual([]);
        expect(byName(results, EXECUTED).summary).toBe('1 accepted voids: 0 executed, 1 refused by the channel');
        expect(byName(results, EXCLUDED).summary).toContain('1 refused by the channel and cleared');
      });

      it('fails a day where its payment is still excluded', () => {
        const events = [...withoutExecution(), refused('p2', 'k2')];
        const result = check(MEMBERSHIP, { events });
        expect(result.passed).toBe(false);
        expect(result.problems.join('\n')).toMatch(/1 succeeded, unvoided payment\(s\) cleared by no batch of the group: p2/);
      });
    });
  });

  describe('no batch left open', () => {
    it('fails a batch still CLOSING in the clearing API', () => {
      const result = check('No batch left', { batches: [view('B1', wallet, B1), view('B2', card, B2, 'CLOSING')] });
      expect(result.passed).toBe(false);
      expect(result.problems).toContain('batch B2 is CLOSING in the clearing API');
    });

    it('fails a batch opened on the topic and never closed', () => {
      const result = check('No batch left', { events: [...consistentEvents(), opened('B3', { ...wallet, channel: 'ALIPAY' })] });
      expect(result.passed).toBe(false);
      expect(result.problems).toContain('batch B3 opened and never closed on the topic');
    });
  });

  describe('planned voids and their answers', () => {
    const payment: PlannedPayment = {
      kind: 'payment', at: 1_000, merchantId: 'M001', terminalId: 'POS-1', channel: 'WECHAT', amountFen: 500, outTradeNo: 'O-p1', via: 'KAFKA', outcome: 'SUCCESS', paymentCode: '1300000000000000000',
    };
    const planned: PlannedVoid = {
      kind: 'void', at: 3_000, variant: 'BEFORE_CUTOFF', payment, merchantId: 'M001', idempotencyKey: 'void-k1', amountFen: 500, withSupervisor: false, expected: FULL_VOID,
    };
    const plan = { ...emptyPlan, steps: [payment, planned] };
    const answer = (body: Record<string, unknown>, sentMs: number, answeredMs = sentMs + 50): HttpAnswer => ({ status: 200, body, sentAt: T + sentMs, answeredAt: T + answeredMs });
    const withAnswer = (a: HttpAnswer, key = 'void-k1') => ({ voids: new Map([[key, [a]]]) });
    const ANSWERS = 'Every planned void got an answer';

    it('passes an acceptance sent before the cutoff and a CUTOFF_PASSED answered after it', () => {
      expect(check(ANSWERS, withAnswer(answer({ decision: 'ACCEPTED' }, 3_000)), plan).passed).toBe(true);
      expect(check(ANSWERS, withAnswer(answer({ decision: 'REJECTED', reason: 'CUTOFF_PASSED', remedy: 'REFUND' }, 9_990, 10_010)), plan).passed).toBe(true);
      expect(check(ANSWERS, withAnswer(answer({ decision: 'REJECTED', reason: 'PAYMENT_NOT_FOUND', remedy: 'RETRY_LATER' }, 3_000)), plan).passed).toBe(true);
    });

    it('fails a planned void that got no answer', () => {
      const result = check(ANSWERS, {}, plan);
      expect(result.passed).toBe(false);
      expect(result.problems).toContain('BEFORE_CUTOFF void void-k1 of O-p1 got no answer');
    });

    it('fails a void over Kafka that no decision answered', () => {
      const kafka = { ...planned, variant: 'VIA_KAFKA' as const };
      const result = check(ANSWERS, { voidCommandsSentAt: new Map([['void-k1', T + 3_000]]) }, { ...emptyPlan, steps: [payment, kafka] });
      expect(result.passed).toBe(false);
      expect(result.problems).toContain('VIA_KAFKA void void-k1 of O-p1 got no answer');
    });

    it('fails CUTOFF_PASSED answered before the cutoff, and an acceptance sent after it', () => {
      const early = check(ANSWERS, withAnswer(answer({ decision: 'REJECTED', reason: 'CUTOFF_PASSED', remedy: 'REFUND' }, 3_000)), plan);
      expect(early.passed).toBe(false);
      expect(early.problems[0]).toMatch(/got REJECTED CUTOFF_PASSED \(remedy REFUND\), sent 2026-11-27T02:00:03.000Z, answered 2026-11-27T02:00:03.050Z, deadline 2026-11-27T02:00:10.000Z/);
      expect(check(ANSWERS, withAnswer(answer({ decision: 'ACCEPTED' }, 10_000)), plan).passed).toBe(false);
    });

    it('fails a not-yet-known answer without RETRY_LATER, and any reason the plan does not name', () => {
      expect(check(ANSWERS, withAnswer(answer({ decision: 'REJECTED', reason: 'PAYMENT_NOT_FOUND', remedy: 'NONE' }, 3_000)), plan).passed).toBe(false);
      expect(check(ANSWERS, withAnswer(answer({ decision: 'REJECTED', reason: 'AMOUNT_MISMATCH', remedy: 'REFUND' }, 3_000)), plan).passed).toBe(false);
    });

    it('moves the deadline to a settlement of the card terminal inside the window', () => {
      const cardPayment: PlannedPayment = { ...payment, channel: 'UNIONPAY_CARD', terminalId: 'POS-CARD-1', outTradeNo: 'O-p3', card: { cardRef: 'tok_1', batchNo: '000001', voucherNo: '000003' } };
      const cardVoid = { ...planned, payment: cardPayment };
      const settlement = { merchantId: 'M001', terminalId: 'POS-CARD-1', batchNo: '000001', sentAt: T + 4_000, answeredAt: T + 4_100, answer: answer({}, 4_000) };
      const cleared = answer({ decision: 'REJECTED', reason: 'ALREADY_CLEARED', remedy: 'REFUND' }, 5_000);
      expect(check(ANSWERS, { ...withAnswer(cleared), settlements: [settlement] }, { ...emptyPlan, steps: [cardPayment, cardVoid] }).passed).toBe(true);
      expect(check(ANSWERS, withAnswer(cleared), { ...emptyPlan, steps: [cardPayment, cardVoid] }).passed).toBe(false);
    });

    it('passes ALREADY_VOIDED for one of two voids only when the other was accepted', () => {
      const double = { ...planned, variant: 'DOUBLE' as const, idempotencyKey: 'k2', payment: { ...payment, outTradeNo: 'O-p2' }, expected: ONE_OF_TWO_VOIDS };
      const doublePlan = { ...emptyPlan, steps: [double] };
      const voids = new Map([
        ['k2', [answer({ decision: 'ACCEPTED' }, 2_400)]],
        ['k2-b', [answer({ decision: 'REJECTED', reason: 'ALREADY_VOIDED', remedy: 'NONE' }, 2_400)]],
      ]);
      expect(check(ANSWERS, { voids }, doublePlan).passed).toBe(true);
      const events = consistentEvents().filter((e) => e.type !== 'pos.void.accepted');
      expect(check(ANSWERS, { voids, events }, doublePlan).passed).toBe(false);
    });
  });

  describe('one final decision per idempotency key', () => {
    const payment: PlannedPayment = {
      kind: 'payment', at: 1_000, merchantId: 'M001', terminalId: 'POS-1', channel: 'WECHAT', amountFen: 300, outTradeNo: 'O-p2', via: 'KAFKA', outcome: 'SUCCESS', paymentCode: '1300000000000000000',
    };
    const planned: PlannedVoid = {
      kind: 'void', at: 2_000, variant: 'BEFORE_CUTOFF', payment, merchantId: 'M001', idempotencyKey: 'k2', amountFen: 300, withSupervisor: false, expected: FULL_VOID,
    };
    const plan = { ...emptyPlan, steps: [payment, planned] };
    const ONCE = 'Every void request decided exactly once';
    const reply = (body: Record<string, unknown>, ms: number): HttpAnswer => ({ status: 200, body: { voidId: `v-${ms}`, ...body }, sentAt: T + ms, answeredAt: T + ms + 20 });
    const pending = (ms: number) => reply({ decision: 'REJECTED', reason: 'CLEARING_PENDING', remedy: 'RETRY_LATER', final: false }, ms);
    const acceptedAnswer = reply({ decision: 'ACCEPTED', remedy: 'NONE', final: true, voidId: 'v-k2' }, 2_400);
    const rejectedEvent = (ms: number) =>
      event('voids.events.v1', 'pos.void.rejected', { merchantId: 'M001', idempotencyKey: 'k2', voidId: `v-${ms}`, reason: 'CLEARING_PENDING', remedy: 'RETRY_LATER' }, T + ms);

    it('passes answers that are not final followed by one final decision under the same key', () => {
      const events = [...consistentEvents(), rejectedEvent(2_000), rejectedEvent(2_200)];
      expect(check(ONCE, { events, voids: new Map([['k2', [pending(2_000), pending(2_200), acceptedAnswer]]]) }, plan)).toMatchObject({ passed: true });
    });

    it('fails two final decisions for one key, and a key with no decision at all', () => {
      const twice = check(ONCE, { events: [...consistentEvents(), accepted('p2', 'k2')], voids: new Map([['k2', [acceptedAnswer]]]) }, plan);
      expect(twice.problems[0]).toMatch(/void k2 \(BEFORE_CUTOFF\) has 2 final of 2 decision events/);
      const none = check(ONCE, { events: consistentEvents().filter((e) => e.type !== 'pos.void.accepted'), voids: new Map([['k2', [acceptedAnswer]]]) }, plan);
      expect(none.problems[0]).toMatch(/void k2 \(BEFORE_CUTOFF\) has 0 final of 0 decision events/);
    });

    it('passes a void whose every right answer is not final (another merchant) however often it was asked', () => {
      const foreign = { ...planned, variant: 'OTHER_MERCHANT' as const, expected: [{ decision: 'REJECTED' as const, reasons: ['PAYMENT_NOT_FOUND'], why: 'unknown to it' }] };
      const notFound = (ms: number) => reply({ decision: 'REJECTED', reason: 'PAYMENT_NOT_FOUND', remedy: 'RETRY_LATER', final: false }, ms);
      const events = [...consistentEvents().filter((e) => e.type !== 'pos.void.accepted'), { ...rejectedEvent(2_000), data: { merchantId: 'M001', idempotencyKey: 'k2', voidId: 'v-x', reason: 'PAYMENT_NOT_FOUND', remedy: 'RETRY_LATER' } }];
      expect(check(ONCE, { events, voids: new Map([['k2', [notFound(2_000), notFound(2_300)]]]) }, { ...emptyPlan, steps: [payment, foreign] })).toMatchObject({ passed: true });
    });

    it("fails an answer whose final flag contradicts the documented list, rather than taking the service's word", () => {
      const wrongFlag = reply({ decision: 'REJECTED', reason: 'CLEARING_PENDING', remedy: 'RETRY_LATER', final: true }, 2_000);
      const result = check(ONCE, { voids: new Map([['k2', [wrongFlag, acceptedAnswer]]]) }, plan);
      expect(result.problems).toEqual(expect.arrayContaining(['void k2: CLEARING_PENDING answered final=true']));
    });
  });

  describe('planned payments', () => {
    const payment: PlannedPayment = {
      kind: 'payment', at: 1_000, merchantId: 'M001', terminalId: 'POS-1', channel: 'WECHAT', amountFen: 500, outTradeNo: 'O-p1', via: 'KAFKA', outcome: 'SUCCESS', paymentCode: '1300000000000000000',
    };
    const AS_PLANNED = 'Every planned payment ended as planned';

    it('passes a payment that ended as planned', () => {
      expect(check(AS_PLANNED, {}, { ...emptyPlan, steps: [payment] }).passed).toBe(true);
    });

    it('fails a payment that ended otherwise, or for another amount', () => {
      expect(check(AS_PLANNED, {}, { ...emptyPlan, steps: [{ ...payment, outcome: 'DECLINED' }] }).problems).toContain('payment O-p1 planned DECLINED ended pos.payment.succeeded');
      expect(check(AS_PLANNED, {}, { ...emptyPlan, steps: [{ ...payment, outcome: 'USERPAYING_THEN_SUCCESS' }] }).problems).toContain('payment O-p1 planned USERPAYING_THEN_SUCCESS was never pending');
      expect(check(AS_PLANNED, {}, { ...emptyPlan, steps: [{ ...payment, amountFen: 501 }] }).passed).toBe(false);
      expect(check(AS_PLANNED, {}, { ...emptyPlan, steps: [{ ...payment, outTradeNo: 'O-none' }] }).problems).toContain('payment O-none (SUCCESS) has no final event');
    });
  });

  it('fails on a dead letter nobody sent on purpose', () => {
    const stray = { ...event('payments.events.v1.dlq', 'pos.payment.succeeded', {}), headers: { ce_id: 'x', dlq_reason: 'SCHEMA_VIOLATION' } };
    expect(check('Dead-letter', { events: [...consistentEvents(), stray] }).passed).toBe(false);
  });

  describe('a double void (two requests for one payment at once)', () => {
    const deadline = '2026-11-27T16:00:00.000Z';
    const acceptedBody = { decision: 'ACCEPTED', decidedAt: '2026-11-27T15:59:59.990Z', deadline };
    const refused = (reason: string, decidedAt: string, remedy = 'REFUND') => ({ decision: 'REJECTED', reason, remedy, decidedAt, deadline });

    it('passes one accepted and the other ALREADY_VOIDED, in either order', () => {
      expect(doubleVoidProblem([acceptedBody, refused('ALREADY_VOIDED', '2026-11-27T15:59:59.995Z')])).toBeUndefined();
      expect(doubleVoidProblem([refused('ALREADY_VOIDED', '2026-11-27T15:59:59.995Z'), acceptedBody])).toBeUndefined();
    });

    it('passes the other refused CUTOFF_PASSED when it was decided at or after the accepted one\'s deadline', () => {
      expect(doubleVoidProblem([acceptedBody, refused('CUTOFF_PASSED', '2026-11-27T16:00:00.004Z')])).toBeUndefined();
      expect(doubleVoidProblem([acceptedBody, refused('VOID_WINDOW_EXPIRED', deadline)])).toBeUndefined();
    });

    it('passes the other refused for a payment the void service had not learnt yet, to be retried', () => {
      expect(doubleVoidProblem([refused('PAYMENT_NOT_FOUND', '2026-11-27T15:59:59.985Z', 'RETRY_LATER'), acceptedBody])).toBeUndefined();
      expect(doubleVoidProblem([acceptedBody, refused('PAYMENT_PENDING', '2026-11-27T15:59:59.985Z', 'RETRY_LATER')])).toBeUndefined();
    });

    it('passes both refused for the same reason', () => {
      expect(doubleVoidProblem([refused('CUTOFF_PASSED', '2026-11-27T16:00:01Z'), refused('CUTOFF_PASSED', '2026-11-27T16:00:01Z')])).toBeUndefined();
    });

    it('fails both accepted, the cutoff claimed before the deadline, and any other reason', () => {
      expect(doubleVoidProblem([acceptedBody, { ...acceptedBody }])).toBe('2 accepted');
      expect(doubleVoidProblem([acceptedBody, refused('CUTOFF_PASSED', '2026-11-27T15:59:59.999Z')])).toMatch(/the other CUTOFF_PASSED \(remedy REFUND\) at 2026-11-27T15:59:59.999Z/);
      expect(doubleVoidProblem([acceptedBody, refused('PAYMENT_NOT_FOUND', '2026-11-27T15:59:59.985Z', 'NONE')])).toMatch(/the other PAYMENT_NOT_FOUND/);
      expect(doubleVoidProblem([acceptedBody, refused('AMOUNT_MISMATCH', '2026-11-27T15:59:59.985Z', 'RETRY_LATER')])).toMatch(/the other AMOUNT_MISMATCH/);
      expect(doubleVoidProblem([acceptedBody, undefined])).toMatch(/the other no answer/);
    });
  });
});

describe("the operator's scenarios", () => {
  const WINDOWS = 'Batch windows follow the published cutoff schedule versions';
  const LATE = 'Late payment events keep their clearing day';
  const PARKED = 'A parked accepted void holds its batch in CLOSING';
  const ANSWERS = 'Every planned void got an answer';
  const window = (fromMs: number, untilMs: number) => ({ opensAt: at(fromMs), closesAt: at(untilMs) });
  /** The consistent day with the batches' windows as announced. */
  const withWindows = (b1: { opensAt: string; closesAt: string }, b2: { opensAt: string; closesAt: string }, events = consistentEvents()) =>
    events.map((e) => (e.type !== 'pos.clearing.batch.opened' ? e : opened(String(e.data?.['batchId']), e.data?.['batchId'] === 'B1' ? wallet : card, e.data?.['batchId'] === 'B1' ? b1 : b2)));

  describe('a cutoff change (schedule versions published during the day)', () => {
    // every:10s, then every:5s from T: the window [T, T + 5 s) holds p1, p2 and p3.
    const changed = [{ periodMs: PERIOD }, { periodMs: 5_000, effectiveFrom: T }];
    const published = { published: [{ version: changed[1], startedAt: T - 20_000, doneAt: T - 15_000 }], heldBack: [], replays: [] };

    it("passes batches in the new version's windows, and names the versions it compared", () => {
      const result = check(WINDOWS, { schedule: changed, operator: published, events: withWindows(window(0, 5_000), window(0, 5_000)) });
      expect(result).toMatchObject({ passed: true });
      expect(result.sources).toContain("the day's cutoff schedule (every:10s; every:5s from 2026-11-27T02:00:00.000Z)");
      expect(result.summary).toContain('every:5s from 2026-11-27T02:00:00.000Z published 15 s ahead');
    });

    it('fails a batch window of the old schedule after the change took effect', () => {
      const result = check(WINDOWS, { schedule: changed, operator: published });
      expect(result.passed).toBe(false);
      expect(result.problems).toContain(
        'batch B1 announced the window [2026-11-27T02:00:00.000Z, 2026-11-27T02:00:10.000Z), the published schedule has [2026-11-27T02:00:00.000Z, 2026-11-27T02:00:05.000Z)',
      );
    });

    it("fails a payment outside its batch's window, though its clearing group is right", () => {
      const events = withWindows(window(0, 5_000), window(0, 5_000)).map((e) => (e.data?.['paymentId'] === 'p1' && e.type === 'pos.payment.succeeded' ? succeeded('p1', 500, 6_000) : e));
      const result = check(WINDOWS, { schedule: changed, operator: published, events });
      expect(result.problems).toContain(
        'payment p1 succeeded at 2026-11-27T02:00:06.000Z, outside the window [2026-11-27T02:00:00.000Z, 2026-11-27T02:00:05.000Z) of its batch B1',
      );
    });

    it('fails a published version under which payments succeeded and no batch opened', () => {
      const later = [{ periodMs: PERIOD }, { periodMs: 5_000, effectiveFrom: T + PERIOD }];
      const result = check(WINDOWS, { schedule: later, events: [...consistentEvents(), succeeded('p4', 100, PERIOD + 1_000)] });
      expect(result.problems).toContain('no batch opened under version 2 (every:5s from 2026-11-27T02:00:10.000Z), though 1 payments succeeded under it');
    });
  });

  describe('a late payment event (clearing held still across the cutoff)', () => {
    const late: PlannedPayment = {
      kind: 'payment', at: 1_000, merchantId: 'M001', terminalId: 'POS-1', channel: 'WECHAT', amountFen: 500, outTradeNo: 'O-p1', via: 'HTTP', outcome: 'SUCCESS', paymentCode: '1300000000000000000', heldBack: true,
    };
    const plan = { ...emptyPlan, steps: [late] };
    const held = (untilMs: number) => ({ published: [], heldBack: [{ from: T + 500, until: T + untilMs }], replays: [] });

    it('passes a payment cleared in a batch of its own window and clearing date, and says where it went', () => {
      const result = check(LATE, { operator: held(PERIOD + 3_500) }, plan);
      expect(result).toMatchObject({ passed: true });
      expect(result.summary).toContain('O-p1 succeeded 9 s before the cutoff, cleared in B1 on 2026-11-27');
    });

    it("fails a late payment cleared in the next window's batch, with the next clearing date", () => {
      const next = { ...wallet, clearingDate: '2026-11-28' };
      const events = [
        ...consistentEvents().filter((e) => !(e.type === 'pos.clearing.payment.cleared' && e.data?.['paymentId'] === 'p1')),
        opened('B3', next, window(PERIOD, 2 * PERIOD)),
        closed('B3', next, { paymentCount: 1, totalFen: 500, voidedCount: 0, voidedFen: 0 }),
        cleared('p1', 'B3', 500),
      ];
      const result = check(LATE, { operator: held(PERIOD + 3_500), events }, plan);
      expect(result.passed).toBe(false);
      expect(result.problems).toEqual([
        'payment p1, succeeded at 2026-11-27T02:00:01.000Z, cleared in B3 of M001/WECHAT/2026-11-28/-/-; its success time puts it in M001/WECHAT/2026-11-27/-/-',
        'payment p1, succeeded at 2026-11-27T02:00:01.000Z, cleared in B3 of the window [2026-11-27T02:00:10.000Z, 2026-11-27T02:00:20.000Z)',
      ]);
    });

    it('fails when the event was not late: clearing released before the close grace, or the payment outside the hold', () => {
      expect(check(LATE, { operator: held(PERIOD + 1_000) }, plan).problems[0]).toMatch(/held still only until 2026-11-27T02:00:11.000Z, before its window's cutoff/);
      expect(check(LATE, { operator: held(800) }, plan).problems[0]).toMatch(/succeeded at 2026-11-27T02:00:01.000Z, while clearing was not held still/);
    });
  });

  describe('a parked accepted void, replayed by the operator', () => {
    const payment: PlannedPayment = {
      kind: 'payment', at: 1_000, merchantId: 'M001', terminalId: 'POS-1', channel: 'WECHAT', amountFen: 300, outTradeNo: 'O-p2', via: 'HTTP', outcome: 'SUCCESS', paymentCode: '1300000000000000000',
    };
    const parkedVoid: PlannedVoid = {
      kind: 'void', at: 2_000, variant: 'PARKED_AND_REPLAYED', payment, merchantId: 'M001', idempotencyKey: 'k2', amountFen: 300, withSupervisor: false, expected: FULL_VOID,
    };
    const plan = { ...emptyPlan, steps: [payment, parkedVoid] };
    const original = () => consistentEvents().find((e) => e.type === 'pos.void.accepted') as ObservedEvent;
    const deadLetter = (reason = 'RETRIES_EXHAUSTED'): ObservedEvent => ({ ...original(), topic: 'voids.events.v1.dlq', partition: 1, offset: '7', headers: { ...original().headers, dlq_reason: reason }, timestamp: T + 3_000 });
    const copy = (ms: number): ObservedEvent => ({ ...original(), offset: '99', headers: { ...original().headers, dlq_replay_of: 'voids.events.v1.dlq/1/7' }, timestamp: T + ms });
    const gate = event('voids.events.v1', 'pos.void.gate-closed', { batchId: 'B1', merchantId: 'M001', acceptedVoids: 1 }, T + PERIOD + 100);
    const closedAt = (ms: number) => replacing('pos.clearing.batch.closed', 'B1', { ...closed('B1', wallet, B1), timestamp: T + ms });
    const replays = { published: [], heldBack: [], replays: [{ idempotencyKey: 'k2', closingSeenAt: T + PERIOD + 300 }] };

    it('passes a batch that closed only after the replay, its gate closed before it', () => {
      const result = check(PARKED, { operator: replays, events: [...closedAt(PERIOD + 1_000), deadLetter(), gate, copy(PERIOD + 500)] }, plan);
      expect(result).toMatchObject({ passed: true });
      expect(result.summary).toContain('k2 parked at voids.events.v1.dlq/1/7 (RETRIES_EXHAUSTED), batch B1 CLOSING until the replay');
      expect(check('Dead-letter', { events: [...consistentEvents(), deadLetter()] }, plan).passed).toBe(true);
    });

    it('fails a batch that closed without the parked void, before the replay', () => {
      const result = check(PARKED, { operator: replays, events: [...closedAt(PERIOD + 200), deadLetter(), gate, copy(PERIOD + 500)] }, plan);
      expect(result.problems).toEqual(['batch B1 closed at 2026-11-27T02:00:10.200Z, before the parked void k2 was replayed at 2026-11-27T02:00:10.500Z']);
    });

    it('fails a dead letter never replayed, a void never parked, and a park for another reason', () => {
      expect(check(PARKED, { operator: replays, events: [...closedAt(PERIOD + 1_000), deadLetter(), gate] }, plan).problems).toEqual(['the dead letter voids.events.v1.dlq/1/7 of void k2 was never replayed']);
      expect(check(PARKED, { operator: replays }, plan).problems).toEqual(['accepted void k2 is 0 times on voids.events.v1.dlq (expected parked once)']);
      expect(check('Dead-letter', { events: [...consistentEvents(), deadLetter('SCHEMA_VIOLATION')] }, plan).problems).toEqual(['parked void k2: reason SCHEMA_VIOLATION, expected RETRIES_EXHAUSTED']);
    });

    it('fails when the driver never saw the batch CLOSING before the replay', () => {
      const unseen = { ...replays, replays: [{ idempotencyKey: 'k2', problem: 'the batch was not seen CLOSING' }] };
      const result = check(PARKED, { operator: unseen, events: [...closedAt(PERIOD + 1_000), deadLetter(), gate, copy(PERIOD + 500)] }, plan);
      expect(result.problems).toEqual(['batch B1 was not seen CLOSING in the clearing API before the replay: the batch was not seen CLOSING']);
    });
  });

  describe('a void asked again after RETRY_LATER', () => {
    const payment: PlannedPayment = {
      kind: 'payment', at: 1_000, merchantId: 'M001', terminalId: 'POS-1', channel: 'WECHAT', amountFen: 500, outTradeNo: 'O-p1', via: 'HTTP', outcome: 'SUCCESS', paymentCode: '1300000000000000000',
    };
    const asked: PlannedVoid = {
      kind: 'void', at: 600, variant: 'ASKED_AGAIN', payment, merchantId: 'M001', idempotencyKey: 'k1', amountFen: 500, withSupervisor: false,
      expected: [{ decision: 'ACCEPTED', when: 'SENT_BEFORE_DEADLINE', why: 'accepted once asked again' }],
    };
    const plan = { ...emptyPlan, steps: [payment, asked] };
    const reply = (body: Record<string, unknown>, ms: number): HttpAnswer => ({ status: 200, body, sentAt: T + ms, answeredAt: T + ms + 20 });
    const notFound = (ms: number) => reply({ decision: 'REJECTED', reason: 'PAYMENT_NOT_FOUND', remedy: 'RETRY_LATER', final: false }, ms);
    const acceptedAnswer = reply({ decision: 'ACCEPTED', remedy: 'NONE', final: true }, 1_600);

    it('passes RETRY_LATER answers followed by a final acceptance under the same key, and counts it', () => {
      const voids = new Map([['k1', [notFound(600), notFound(850), acceptedAnswer]]]);
      expect(check(ANSWERS, { voids }, plan)).toMatchObject({ passed: true });
      expect(check('Every void request decided exactly once', { voids }, plan).summary).toContain('1 key(s) answered RETRY_LATER, then finally under the same key');
    });

    it('fails a RETRY_LATER answer that stuck to the key, and a first answer that was already final', () => {
      const stuck = check(ANSWERS, { voids: new Map([['k1', Array.from({ length: 20 }, (_, i) => notFound(600 + i * 250))]]) }, plan);
      expect(stuck.problems).toContainEqual('ASKED_AGAIN void k1 of O-p1: 20 answers under one key, none final: the RETRY_LATER answer stuck to the key');
      const direct = check(ANSWERS, { voids: new Map([['k1', [acceptedAnswer]]]) }, plan);
      expect(direct.problems).toEqual(['ASKED_AGAIN void k1 of O-p1: first answered ACCEPTED, not a RETRY_LATER: the scenario did not happen']);
    });
  });
});
