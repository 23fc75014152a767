import fc from 'fast-check';
import { businessDateOf, parseCutoffSchedule, startOfBusinessDate, addDays } from '@pos/business-calendar';
import { batchKeyOf, clearingSchedulesFrom } from '@pos/settlement-batches';
import { ChannelName, VoidRejectionReasons } from '@pos/contracts';
import { decideVoid, isFinal, GateFacts, PaymentFacts, VoidRequestFacts } from './void-policy';
import { voidRulesFrom } from './void-rules';

const rules = voidRulesFrom();
const schedules = clearingSchedulesFrom({});
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** 2026-11-27 10:00 Asia/Shanghai. */
const PAID = new Date('2026-11-27T02:00:00.000Z');

function payment(channel: ChannelName, overrides: Partial<PaymentFacts> = {}): PaymentFacts {
  return {
    paymentId: '3b5b0a52-8a3e-4d7c-9b4e-3f0f6a1c2d11',
    merchantId: 'M100',
    terminalId: 'T1',
    channel,
    amountFen: 1999,
    outTradeNo: 'ORDER-1',
    status: 'SUCCEEDED',
    orderCreatedAt: overrides.succeededAt ?? PAID,
    succeededAt: PAID,
    cleared: false,
    ...(channel === 'UNIONPAY_CARD' ? { card: { batchNo: '000042', voucherNo: '000007' } } : {}),
    ...overrides,
  };
}

function gateOf(p: PaymentFacts, overrides: Partial<GateFacts> = {}): GateFacts {
  const key = batchKeyOf(
    { merchantId: p.merchantId, terminalId: p.terminalId, channel: p.channel, succeededAt: p.succeededAt ?? p.orderCreatedAt, cardBatchNo: p.card?.batchNo },
    schedules,
  );
  return { batchId: key.batchId, status: 'OPEN', closesAt: key.window.closesAt, ...overrides };
}

function request(channel: ChannelName, overrides: Partial<VoidRequestFacts> = {}): VoidRequestFacts {
  return {
    merchantId: 'M100',
    terminalId: 'T1',
    amountFen: 1999,
    supervisor: channel === 'UNIONPAY_CARD' ? 'VERIFIED' : 'MISSING',
    ...(channel === 'UNIONPAY_CARD' ? { card: { batchNo: '000042', voucherNo: '000007' } } : {}),
    ...overrides,
  };
}

const at = (iso: string) => new Date(iso);

interface Case {
  readonly name: string;
  readonly channel: ChannelName;
  readonly payment?: Partial<PaymentFacts> | 'unknown';
  readonly gate?: Partial<GateFacts>;
  readonly request?: Partial<VoidRequestFacts>;
  readonly now: Date;
  readonly expected: { decision: 'ACCEPTED' } | { decision: 'REJECTED'; reason: string; remedy: string };
}

const accepted = { decision: 'ACCEPTED' } as const;
const rejected = (reason: string, remedy: string) => ({ decision: 'REJECTED', reason, remedy }) as const;
const CHANNELS: ChannelName[] = ['WECHAT', 'ALIPAY', 'UNIONPAY_CARD'];

const cases: Case[] = [
  ...CHANNELS.flatMap((channel): Case[] => [
    { name: 'a correct void an hour after the payment', channel, now: at('2026-11-27T03:00:00Z'), expected: accepted },
    { name: 'an unknown payment', channel, payment: 'unknown', now: at('2026-11-27T03:00:00Z'), expected: rejected('PAYMENT_NOT_FOUND', 'RETRY_LATER') },
    { name: "another merchant's payment", channel, request: { merchantId: 'M200' }, now: at('2026-11-27T03:00:00Z'), expected: rejected('PAYMENT_NOT_FOUND', 'RETRY_LATER') },
    { name: 'a payment still pending (USERPAYING)', channel, payment: { status: 'PENDING', succeededAt: undefined }, now: at('2026-11-27T03:00:00Z'), expected: rejected('PAYMENT_PENDING', 'RETRY_LATER') },
    { name: 'a failed payment', channel, payment: { status: 'FAILED' }, now: at('2026-11-27T03:00:00Z'), expected: rejected('PAYMENT_NOT_SUCCEEDED', 'NONE') },
    { name: 'a reversed payment', channel, payment: { status: 'REVERSED' }, now: at('2026-11-27T03:00:00Z'), expected: rejected('PAYMENT_NOT_SUCCEEDED', 'NONE') },
    { name: 'a payment voided before', channel, payment: { voidedBy: 'v-1' }, now: at('2026-11-27T03:00:00Z'), expected: rejected('ALREADY_VOIDED', 'NONE') },
    { name: 'a payment whose earlier void the channel refused', channel, payment: { voidRefusedBy: 'v-1' }, now: at('2026-11-27T03:00:00Z'), expected: rejected('CHANNEL_REFUSED', 'REFUND') },
    { name: 'a refused void of a batch cut off since: the refusal is told', channel, payment: { voidRefusedBy: 'v-1' }, gate: { status: 'CLOSED', closeReason: 'CUTOFF' }, now: at('2026-11-27T03:00:00Z'), expected: rejected('CHANNEL_REFUSED', 'REFUND') },
    { name: 'a cleared payment', channel, payment: { cleared: true }, now: at('2026-11-27T03:00:00Z'), expected: rejected('ALREADY_CLEARED', 'REFUND') },
    { name: 'a batch closed by terminal settlement', channel, gate: { status: 'CLOSED', closeReason: 'TERMINAL_SETTLEMENT' }, now: at('2026-11-27T03:00:00Z'), expected: rejected('ALREADY_CLEARED', 'REFUND') },
    { name: 'a batch closed at its cutoff', channel, gate: { status: 'CLOSED', closeReason: 'CUTOFF' }, now: at('2026-11-27T03:00:00Z'), expected: rejected('CUTOFF_PASSED', 'REFUND') },
    { name: 'a partial amount', channel, request: { amountFen: 1000 }, now: at('2026-11-27T03:00:00Z'), expected: rejected('AMOUNT_MISMATCH', 'REFUND') },
    { name: 'more than the payment', channel, request: { amountFen: 2000 }, now: at('2026-11-27T03:00:00Z'), expected: rejected('AMOUNT_MISMATCH', 'CORRECT_REQUEST') },
  ]),
  // WECHAT: 7 days since the order, and the batch (daily@00:00) not yet cut off.
  { name: 'WECHAT at 23:59:59.999 of the pay day', channel: 'WECHAT', now: at('2026-11-27T15:59:59.999Z'), expected: accepted },
  { name: 'WECHAT at 00:00 after the pay day: cutoff', channel: 'WECHAT', now: at('2026-11-27T16:00:00.000Z'), expected: rejected('CUTOFF_PASSED', 'REFUND') },
  { name: 'WECHAT from another terminal of the merchant', channel: 'WECHAT', request: { terminalId: 'T2' }, now: at('2026-11-27T03:00:00Z'), expected: accepted },
  {
    name: 'WECHAT 7 days after the order, batch still open (long cutoff schedule)',
    channel: 'WECHAT',
    gate: { closesAt: at('2026-12-31T00:00:00Z') },
    now: new Date(PAID.getTime() + 7 * DAY),
    expected: rejected('VOID_WINDOW_EXPIRED', 'REFUND'),
  },
  // ALIPAY: before 24:00 Asia/Shanghai of the trade day.
  { name: 'ALIPAY at 23:59:59.999 Shanghai', channel: 'ALIPAY', gate: { closesAt: at('2027-01-01T00:00:00Z') }, now: at('2026-11-27T15:59:59.999Z'), expected: accepted },
  { name: 'ALIPAY at 00:00 Shanghai next day', channel: 'ALIPAY', gate: { closesAt: at('2027-01-01T00:00:00Z') }, now: at('2026-11-27T16:00:00.000Z'), expected: rejected('VOID_WINDOW_EXPIRED', 'REFUND') },
  // UNIONPAY_CARD: same batch, 23:00 day-cut, card reference, supervisor, original terminal.
  { name: 'UNIONPAY_CARD at 22:59:59.999', channel: 'UNIONPAY_CARD', now: at('2026-11-27T14:59:59.999Z'), expected: accepted },
  { name: 'UNIONPAY_CARD at the 23:00 day-cut', channel: 'UNIONPAY_CARD', now: at('2026-11-27T15:00:00.000Z'), expected: rejected('CUTOFF_PASSED', 'REFUND') },
  { name: 'UNIONPAY_CARD on another terminal', channel: 'UNIONPAY_CARD', request: { terminalId: 'T2' }, now: at('2026-11-27T03:00:00Z'), expected: rejected('TERMINAL_MISMATCH', 'CORRECT_REQUEST') },
  { name: 'UNIONPAY_CARD with the wrong voucher', channel: 'UNIONPAY_CARD', request: { card: { batchNo: '000042', voucherNo: '000008' } }, now: at('2026-11-27T03:00:00Z'), expected: rejected('CARD_REFERENCE_MISMATCH', 'CORRECT_REQUEST') },
  { name: 'UNIONPAY_CARD with the wrong batch', channel: 'UNIONPAY_CARD', request: { card: { batchNo: '000041', voucherNo: '000007' } }, now: at('2026-11-27T03:00:00Z'), expected: rejected('CARD_REFERENCE_MISMATCH', 'CORRECT_REQUEST') },
  { name: 'UNIONPAY_CARD without a card reference', channel: 'UNIONPAY_CARD', request: { card: undefined }, now: at('2026-11-27T03:00:00Z'), expected: rejected('CARD_REFERENCE_MISMATCH', 'CORRECT_REQUEST') },
  { name: 'UNIONPAY_CARD without a supervisor', channel: 'UNIONPAY_CARD', request: { supervisor: 'MISSING' }, now: at('2026-11-27T03:00:00Z'), expected: rejected('SUPERVISOR_AUTH_REQUIRED', 'CORRECT_REQUEST') },
  { name: 'UNIONPAY_CARD with a wrong supervisor credential', channel: 'UNIONPAY_CARD', request: { supervisor: 'INVALID' }, now: at('2026-11-27T03:00:00Z'), expected: rejected('SUPERVISOR_AUTH_REQUIRED', 'CORRECT_REQUEST') },
  { name: 'UNIONPAY_CARD with a locked supervisor', channel: 'UNIONPAY_CARD', request: { supervisor: 'LOCKED' }, now: at('2026-11-27T03:00:00Z'), expected: rejected('SUPERVISOR_LOCKED', 'RETRY_LATER') },
  { name: 'WECHAT ignores a locked supervisor', channel: 'WECHAT', request: { supervisor: 'LOCKED' }, now: at('2026-11-27T03:00:00Z'), expected: accepted },
];

describe('decideVoid: the policy table', () => {
  it.each(cases.map((c) => [`${c.channel}: ${c.name}`, c] as const))('%s', (_, c) => {
    const p = c.payment === 'unknown' ? undefined : payment(c.channel, c.payment);
    const gate = p && p.status === 'SUCCEEDED' ? gateOf(p, c.gate) : undefined;
    const decision = decideVoid(request(c.channel, c.request), p, gate, rules, c.now);
    expect(decision).toMatchObject(c.expected);
    expect(decision.message.length).toBeGreaterThan(0);
  });

  it('says VOID_TOO_EARLY (retry later) inside a configured minimum age, and accepts after it', () => {
    const wechat15s = voidRulesFrom({ minAge: { WECHAT: '15s' } });
    const p = payment('WECHAT');
    const gate = gateOf(p);
    expect(decideVoid(request('WECHAT'), p, gate, wechat15s, new Date(PAID.getTime() + 14_999))).toMatchObject(rejected('VOID_TOO_EARLY', 'RETRY_LATER'));
    expect(decideVoid(request('WECHAT'), p, gate, wechat15s, new Date(PAID.getTime() + 15_000))).toMatchObject(accepted);
  });

  it('reports the deadline that applied: the earlier of the batch cutoff and the channel window', () => {
    const p = payment('WECHAT');
    expect(decideVoid(request('WECHAT'), p, gateOf(p), rules, PAID).deadline).toEqual(at('2026-11-27T16:00:00.000Z'));
    const longBatch = gateOf(p, { closesAt: at('2027-01-01T00:00:00Z') });
    expect(decideVoid(request('WECHAT'), p, longBatch, rules, PAID).deadline).toEqual(new Date(PAID.getTime() + 7 * DAY));
    expect(decideVoid(request('WECHAT'), undefined, undefined, rules, PAID).deadline).toBeUndefined();
  });

  it('answers CLEARING_PENDING (retry later) for a succeeded payment whose batch clearing has not named yet', () => {
    expect(decideVoid(request('WECHAT'), payment('WECHAT'), undefined, rules, PAID)).toMatchObject(rejected('CLEARING_PENDING', 'RETRY_LATER'));
  });

  it('answers PAYMENT_REFERENCE_MISMATCH (correct the request) when the order number names another payment', () => {
    const p = payment('WECHAT');
    expect(decideVoid(request('WECHAT', { outTradeNo: 'ORDER-2' }), p, gateOf(p), rules, PAID)).toMatchObject(
      rejected('PAYMENT_REFERENCE_MISMATCH', 'CORRECT_REQUEST'),
    );
    expect(decideVoid(request('WECHAT', { outTradeNo: 'ORDER-1' }), p, gateOf(p), rules, PAID)).toMatchObject(accepted);
  });

  it('keeps the idempotency key only for final answers: retry-later answers, a missing supervisor and a locked one may be asked again', () => {
    const transient = ['PAYMENT_NOT_FOUND', 'PAYMENT_PENDING', 'CLEARING_PENDING', 'VOID_TOO_EARLY', 'SUPERVISOR_AUTH_REQUIRED', 'SUPERVISOR_LOCKED'] as const;
    for (const reason of VoidRejectionReasons) {
      expect([reason, isFinal({ decision: 'REJECTED', reason })]).toEqual([reason, !(transient as readonly string[]).includes(reason)]);
    }
    expect(isFinal({ decision: 'ACCEPTED' })).toBe(true);
  });

  it('lets configuration drop the supervisor and terminal requirements', () => {
    const relaxed = voidRulesFrom({ supervisorChannels: '', originalTerminalChannels: '' });
    const p = payment('UNIONPAY_CARD');
    expect(decideVoid(request('UNIONPAY_CARD', { supervisor: 'MISSING', terminalId: 'T9' }), p, gateOf(p), relaxed, PAID)).toMatchObject(accepted);
  });
});

// ---------- properties ----------

/** Any instant from 1995 to 2090, biased towards Shanghai day boundaries (16:00Z) and 23:00 day-cuts (15:00Z). */
const instant = fc.oneof(
  fc.integer({ min: Date.UTC(1995, 0, 1), max: Date.UTC(2090, 0, 1) }),
  fc
    .tuple(fc.integer({ min: 9000, max: 43000 }), fc.constantFrom(15 * HOUR, 16 * HOUR), fc.integer({ min: -2000, max: 2000 }))
    .map(([day, edge, jitter]) => day * DAY + edge + jitter),
).map((ms) => new Date(ms));
const offsetMs = fc.oneof(fc.integer({ min: 0, max: 3 * DAY }), fc.integer({ min: -2000, max: 2000 }).map((j) => DAY - 8 * HOUR + j));
const channel = fc.constantFrom<ChannelName>('WECHAT', 'ALIPAY', 'UNIONPAY_CARD');

/** Shanghai wall-clock hour, computed independently of the library under test. */
const shanghaiHour = (d: Date) => Number(new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Shanghai', hour: '2-digit', hourCycle: 'h23' }).format(d));
const shanghaiDate = (d: Date) => new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(d);

describe('decideVoid: properties around cutoffs and time-zone edges', () => {
  it('accepts a correct void exactly while the channel window and the batch are open', () => {
    fc.assert(
      fc.property(channel, instant, offsetMs, (ch, paidAt, after) => {
        const p = payment(ch, { succeededAt: paidAt, orderCreatedAt: paidAt });
        const now = new Date(paidAt.getTime() + after);
        const decision = decideVoid(request(ch), p, gateOf(p), rules, now);
        let open: boolean;
        if (ch === 'UNIONPAY_CARD') {
          // Open until the next 23:00 Shanghai: same date if paid before 23:00, else the next date's.
          const date = shanghaiDate(paidAt);
          const cut = startOfBusinessDate(businessDateOf(paidAt)).getTime() + 23 * HOUR;
          const deadline = shanghaiHour(paidAt) < 23 ? cut : cut + DAY;
          expect(businessDateOf(paidAt)).toBe(date);
          open = now.getTime() < deadline;
        } else {
          // Both wallets: only on the Shanghai calendar day of the payment (WeChat's batch, Alipay's trade day).
          open = shanghaiDate(now) === shanghaiDate(paidAt);
        }
        expect(decision.decision).toBe(open ? 'ACCEPTED' : 'REJECTED');
        if (!open) expect(decision).toMatchObject({ remedy: 'REFUND' });
        expect((decision.deadline?.getTime() ?? Number.NaN) > now.getTime()).toBe(open);
      }),
      { numRuns: 2000 },
    );
  });

  it('never accepts once it has refused with REFUND: time only closes windows', () => {
    fc.assert(
      fc.property(channel, instant, offsetMs, fc.integer({ min: 1, max: 10 * DAY }), (ch, paidAt, after, later) => {
        const p = payment(ch, { succeededAt: paidAt, orderCreatedAt: paidAt });
        const gate = gateOf(p);
        const first = decideVoid(request(ch), p, gate, rules, new Date(paidAt.getTime() + after));
        fc.pre(first.decision === 'REJECTED');
        const second = decideVoid(request(ch), p, gate, rules, new Date(paidAt.getTime() + after + later));
        expect(second.decision).toBe('REJECTED');
      }),
    );
  });

  it('never accepts on a closed gate or a cleared payment, whatever the time', () => {
    fc.assert(
      fc.property(channel, instant, offsetMs, fc.constantFrom('CUTOFF' as const, 'TERMINAL_SETTLEMENT' as const), fc.boolean(), (ch, paidAt, after, reason, viaClearing) => {
        const p = payment(ch, { succeededAt: paidAt, orderCreatedAt: paidAt, cleared: viaClearing });
        const gate = viaClearing ? gateOf(p) : gateOf(p, { status: 'CLOSED', closeReason: reason });
        const decision = decideVoid(request(ch), p, gate, rules, new Date(paidAt.getTime() + after));
        expect(decision).toMatchObject({ decision: 'REJECTED', remedy: 'REFUND' });
      }),
    );
  });

  it("answers another merchant's payment exactly like an unknown one", () => {
    fc.assert(
      fc.property(channel, instant, offsetMs, fc.constantFrom<PaymentFacts['status']>('PENDING', 'SUCCEEDED', 'FAILED', 'REVERSED'), (ch, paidAt, after, status) => {
        const p = payment(ch, { succeededAt: paidAt, orderCreatedAt: paidAt, status, merchantId: 'M999' });
        const now = new Date(paidAt.getTime() + after);
        const foreign = decideVoid(request(ch), p, gateOf(p), rules, now);
        expect(foreign).toEqual(decideVoid(request(ch), undefined, undefined, rules, now));
      }),
    );
  });

  it('follows a periodic test schedule: accepted before the batch closes, CUTOFF_PASSED from the instant it does', () => {
    const fast = clearingSchedulesFrom({ WECHAT: 'every:5s' });
    fc.assert(
      fc.property(instant, fc.integer({ min: 0, max: 20_000 }), (paidAt, after) => {
        const p = payment('WECHAT', { succeededAt: paidAt, orderCreatedAt: paidAt });
        const key = batchKeyOf({ merchantId: 'M100', terminalId: 'T1', channel: 'WECHAT', succeededAt: paidAt }, fast);
        const gate: GateFacts = { batchId: key.batchId, status: 'OPEN', closesAt: key.window.closesAt };
        const now = new Date(paidAt.getTime() + after);
        const decision = decideVoid(request('WECHAT'), p, gate, rules, now);
        if (now < key.window.closesAt) expect(decision.decision).toBe('ACCEPTED');
        else expect(decision).toMatchObject({ reason: 'CUTOFF_PASSED', remedy: 'REFUND' });
      }),
    );
  });

  it('keeps an ALIPAY trade day a whole Shanghai calendar day on both sides of UTC midnight', () => {
    const day = businessDateOf(PAID);
    const start = startOfBusinessDate(day);
    const end = startOfBusinessDate(addDays(day, 1));
    const p = payment('ALIPAY', { succeededAt: start, orderCreatedAt: start });
    const gate = gateOf(p, { closesAt: at('2030-01-01T00:00:00Z') });
    expect(decideVoid(request('ALIPAY'), p, gate, rules, new Date(end.getTime() - 1)).decision).toBe('ACCEPTED');
    expect(decideVoid(request('ALIPAY'), p, gate, rules, end)).toMatchObject({ reason: 'VOID_WINDOW_EXPIRED' });
    expect(parseCutoffSchedule('daily@00:00')).toEqual(rules.ALIPAY.window.kind === 'UNTIL_CUTOFF' ? rules.ALIPAY.window.schedule : undefined);
  });
});
