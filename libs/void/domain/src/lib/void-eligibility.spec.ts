import { ChannelName, VoidRejectionReason } from '@pos/contracts';
import { batchKeyOf, clearingSchedulesFrom } from '@pos/settlement-batches';
import { assessVoid, decideVoid, GateFacts, PaymentFacts, VoidRequestFacts } from './void-policy';
import { voidRulesFrom } from './void-rules';

const rules = voidRulesFrom();
const schedules = clearingSchedulesFrom({});
const DAY = 86_400_000;
/** 2026-11-27 10:00 Asia/Shanghai. */
const PAID = new Date('2026-11-27T02:00:00.000Z');
/** An hour later. */
const NOW = new Date('2026-11-27T03:00:00.000Z');
const at = (iso: string) => new Date(iso);

function payment(channel: ChannelName, overrides: Partial<PaymentFacts> = {}): PaymentFacts {
  return {
    paymentId: '3b5b0a52-8a3e-4d7c-9b4e-3f0f6a1c2d11',
    merchantId: 'M100',
    terminalId: 'T1',
    channel,
    amountFen: 1999,
    outTradeNo: 'ORDER-1',
    status: 'SUCCEEDED',
    orderCreatedAt: PAID,
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

/** The void a terminal would send for the payment, with a verified supervisor where one is needed. */
function correctVoidOf(p: PaymentFacts, overrides: Partial<VoidRequestFacts> = {}): VoidRequestFacts {
  return {
    merchantId: p.merchantId,
    terminalId: p.terminalId,
    amountFen: p.amountFen,
    ...(p.card ? { card: p.card } : {}),
    supervisor: rules[p.channel].requireSupervisor ? 'VERIFIED' : 'MISSING',
    ...overrides,
  };
}

const CHANNELS: ChannelName[] = ['WECHAT', 'ALIPAY', 'UNIONPAY_CARD'];

describe('assessVoid: would a void be accepted now', () => {
  it.each(CHANNELS)('%s: yes, until the batch cutoff, with the seconds left, the batch and the supervisor flag', (channel) => {
    const p = payment(channel);
    const gate = gateOf(p);
    const eligibility = assessVoid({ merchantId: 'M100' }, p, gate, rules, NOW);
    const expectedDeadline = gate.closesAt;
    expect(eligibility).toEqual({
      eligible: true,
      deadline: expectedDeadline,
      secondsLeft: Math.floor((expectedDeadline.getTime() - NOW.getTime()) / 1_000),
      batchId: gate.batchId,
      channel,
      supervisorRequired: channel === 'UNIONPAY_CARD',
      message: expect.any(String),
    });
    // The same deadline as the decision on the void a terminal would send now.
    expect(decideVoid(correctVoidOf(p), p, gate, rules, NOW)).toMatchObject({ decision: 'ACCEPTED', deadline: expectedDeadline });
  });

  it('says a supervisor is needed for a card void, which a decision without one rejects', () => {
    const p = payment('UNIONPAY_CARD');
    const gate = gateOf(p);
    expect(assessVoid({ merchantId: 'M100' }, p, gate, rules, NOW)).toMatchObject({ eligible: true, supervisorRequired: true });
    expect(decideVoid(correctVoidOf(p, { supervisor: 'MISSING' }), p, gate, rules, NOW)).toMatchObject({ reason: 'SUPERVISOR_AUTH_REQUIRED' });
    // Configured off for cards, on for WeChat: the flag follows the rules.
    const swapped = voidRulesFrom({ supervisorChannels: 'WECHAT' });
    expect(assessVoid({ merchantId: 'M100' }, p, gate, swapped, NOW)).toMatchObject({ eligible: true, supervisorRequired: false });
    const w = payment('WECHAT');
    expect(assessVoid({ merchantId: 'M100' }, w, gateOf(w), swapped, NOW)).toMatchObject({ eligible: true, supervisorRequired: true });
  });

  it('reports the earlier of the batch cutoff and the channel window as the deadline', () => {
    const p = payment('WECHAT');
    const longBatch = gateOf(p, { closesAt: at('2027-01-01T00:00:00Z') });
    expect(assessVoid({ merchantId: 'M100' }, p, longBatch, rules, NOW)).toMatchObject({ eligible: true, deadline: new Date(PAID.getTime() + 7 * DAY) });
  });

  it('counts the seconds left down to 0 just before the deadline', () => {
    const p = payment('WECHAT');
    const gate = gateOf(p);
    expect(assessVoid({ merchantId: 'M100' }, p, gate, rules, new Date(gate.closesAt.getTime() - 999))).toMatchObject({ eligible: true, secondsLeft: 0 });
    expect(assessVoid({ merchantId: 'M100' }, p, gate, rules, gate.closesAt)).toMatchObject({ eligible: false, reason: 'CUTOFF_PASSED' });
  });

  interface No {
    readonly name: string;
    readonly channel?: ChannelName;
    readonly payment?: Partial<PaymentFacts> | 'unknown';
    readonly gate?: Partial<GateFacts> | 'none';
    readonly merchantId?: string;
    readonly terminalId?: string;
    readonly rules?: ReturnType<typeof voidRulesFrom>;
    readonly now?: Date;
    readonly reason: VoidRejectionReason;
    readonly remedy: string;
  }
  const noes: No[] = [
    { name: 'an unknown payment', payment: 'unknown', reason: 'PAYMENT_NOT_FOUND', remedy: 'RETRY_LATER' },
    { name: "another merchant's payment, exactly like an unknown one", merchantId: 'M200', reason: 'PAYMENT_NOT_FOUND', remedy: 'RETRY_LATER' },
    { name: 'a payment still pending', payment: { status: 'PENDING', succeededAt: undefined }, gate: 'none', reason: 'PAYMENT_PENDING', remedy: 'RETRY_LATER' },
    { name: 'a failed payment', payment: { status: 'FAILED' }, gate: 'none', reason: 'PAYMENT_NOT_SUCCEEDED', remedy: 'NONE' },
    { name: 'a payment clearing has not placed in a batch yet', gate: 'none', reason: 'CLEARING_PENDING', remedy: 'RETRY_LATER' },
    { name: 'a payment voided before', payment: { voidedBy: 'v-1' }, reason: 'ALREADY_VOIDED', remedy: 'NONE' },
    { name: 'a cleared payment', payment: { cleared: true }, reason: 'ALREADY_CLEARED', remedy: 'REFUND' },
    { name: 'a batch closed by terminal settlement', gate: { status: 'CLOSED', closeReason: 'TERMINAL_SETTLEMENT' }, reason: 'ALREADY_CLEARED', remedy: 'REFUND' },
    { name: 'a batch closed at its cutoff', gate: { status: 'CLOSED', closeReason: 'CUTOFF' }, reason: 'CUTOFF_PASSED', remedy: 'REFUND' },
    { name: 'past the batch cutoff by the clock', now: at('2026-11-27T16:00:00Z'), reason: 'CUTOFF_PASSED', remedy: 'REFUND' },
    {
      name: "past the channel's window",
      gate: { closesAt: at('2027-01-01T00:00:00Z') },
      now: new Date(PAID.getTime() + 7 * DAY),
      reason: 'VOID_WINDOW_EXPIRED',
      remedy: 'REFUND',
    },
    { name: 'a card void asked for another terminal', channel: 'UNIONPAY_CARD', terminalId: 'T2', reason: 'TERMINAL_MISMATCH', remedy: 'CORRECT_REQUEST' },
    {
      name: 'too soon after the payment',
      rules: voidRulesFrom({ minAge: { WECHAT: '15s' } }),
      now: new Date(PAID.getTime() + 14_999),
      reason: 'VOID_TOO_EARLY',
      remedy: 'RETRY_LATER',
    },
  ];

  it.each(noes.map((c) => [c.name, c] as const))('no: %s, with the reason, remedy, message and deadline of the decision', (_, c) => {
    const channel = c.channel ?? 'WECHAT';
    const p = c.payment === 'unknown' ? undefined : payment(channel, c.payment);
    const gate = p && c.gate !== 'none' ? gateOf(p, c.gate) : undefined;
    const used = c.rules ?? rules;
    const now = c.now ?? NOW;
    const eligibility = assessVoid({ merchantId: c.merchantId ?? 'M100', ...(c.terminalId ? { terminalId: c.terminalId } : {}) }, p, gate, used, now);
    expect(eligibility).toMatchObject({ eligible: false, reason: c.reason, remedy: c.remedy });

    // What the void a terminal would send now answers: the same reason, remedy, message and deadline.
    const sent = p
      ? correctVoidOf(p, { merchantId: c.merchantId ?? 'M100', ...(c.terminalId ? { terminalId: c.terminalId } : {}) })
      : { merchantId: 'M100', terminalId: 'T1', amountFen: 1999, supervisor: 'MISSING' as const };
    const decision = decideVoid(sent, p, gate, used, now);
    if (decision.decision !== 'REJECTED' || eligibility.eligible) throw new Error(`expected both to refuse, got ${decision.decision}`);
    expect({ reason: eligibility.reason, remedy: eligibility.remedy, message: eligibility.message, deadline: eligibility.deadline }).toEqual({
      reason: decision.reason,
      remedy: decision.remedy,
      message: decision.message,
      deadline: decision.deadline,
    });
  });
});
