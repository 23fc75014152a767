import { cutoffWindowAt, PublishedSchedule } from './expected-clearing';
import { SeededRandom } from './random';

/**
 * A simulated business day, planned up front from a seed: the same seed and sizes give the same
 * scenario. Times are milliseconds relative to the first cutoff the run waits for (T1): negative
 * is before it. The plan also says what each step should lead to, so the report can explain
 * every rejection and every dead-lettered message.
 */

export type Channel = 'WECHAT' | 'ALIPAY' | 'UNIONPAY_CARD';
export type PlannedOutcome = 'SUCCESS' | 'DECLINED' | 'USERPAYING_THEN_SUCCESS' | 'USERPAYING_THEN_FAILURE' | 'TIMEOUT_REVERSED';

/** The payment simulator picks its answer from the last two digits of the payment code or card reference. */
export const OUTCOME_SUFFIX: Record<PlannedOutcome, string> = {
  SUCCESS: '00',
  DECLINED: '91',
  USERPAYING_THEN_SUCCESS: '92',
  USERPAYING_THEN_FAILURE: '93',
  TIMEOUT_REVERSED: '94',
};

export interface PlannedPayment {
  readonly kind: 'payment';
  readonly at: number;
  readonly merchantId: string;
  readonly terminalId: string;
  readonly channel: Channel;
  readonly amountFen: number;
  readonly outTradeNo: string;
  readonly via: 'HTTP' | 'KAFKA';
  readonly outcome: PlannedOutcome;
  readonly paymentCode?: string;
  readonly card?: { readonly cardRef: string; readonly batchNo: string; readonly voucherNo: string };
  /** Sent again: identical (same answer), modified (refused), or twice at once (one payment). */
  readonly duplicate?: 'IDENTICAL' | 'MODIFIED' | 'CONCURRENT';
  /**
   * Paid just before a cutoff while clearing is held still (a hold-back step): its event reaches
   * clearing after the cutoff and the close grace, and it must still be cleared on its own day.
   */
  readonly heldBack?: boolean;
}

export type VoidVariant =
  | 'BEFORE_CUTOFF'
  | 'AFTER_CUTOFF'
  | 'LATE_PAYMENT_SAME_NIGHT'
  | 'AFTER_SETTLEMENT'
  | 'PARTIAL_AMOUNT'
  | 'NO_SUPERVISOR'
  | 'OTHER_MERCHANT'
  | 'RETRIED'
  | 'DOUBLE'
  | 'VIA_KAFKA'
  /** Sent before its payment exists: answered PAYMENT_NOT_FOUND (retry later), asked again with the same key until accepted. */
  | 'ASKED_AGAIN'
  /** Accepted, then parked by clearing (its write refused), the batch waiting in CLOSING until the operator replays it. */
  | 'PARKED_AND_REPLAYED';

export interface PlannedVoid {
  readonly kind: 'void';
  readonly at: number;
  readonly variant: VoidVariant;
  readonly payment: PlannedPayment;
  /** The merchant that sends the void (another one for OTHER_MERCHANT). */
  readonly merchantId: string;
  readonly idempotencyKey: string;
  readonly amountFen: number;
  readonly withSupervisor: boolean;
  /** Every answer the void may rightly get, each with why; the first is the one planned for. */
  readonly expected: readonly ExpectedAnswer[];
}

/**
 * An answer a void may rightly get. Where timing decides, `when` says on which side of the
 * payment's void deadline (its cutoff, or its terminal's settlement) the answer is right, judged by
 * the driver's own clock: when it sent the request and when the answer came.
 */
export interface ExpectedAnswer {
  readonly decision: 'ACCEPTED' | 'REJECTED';
  /** Any of these reasons (a rejection). */
  readonly reasons?: readonly string[];
  readonly remedy?: string;
  readonly when?: 'SENT_BEFORE_DEADLINE' | 'ANSWERED_AT_OR_AFTER_DEADLINE' | 'ANOTHER_VOID_ACCEPTED';
  readonly why: string;
}

const PAST_DEADLINE_REASONS = ['CUTOFF_PASSED', 'ALREADY_CLEARED', 'VOID_WINDOW_EXPIRED'];

/**
 * A full, authorised void of a succeeded payment by its own merchant. Accepted when it beats the
 * payment's deadline; the two other answers are right only in the situations they name.
 */
export const FULL_VOID: readonly ExpectedAnswer[] = [
  { decision: 'ACCEPTED', when: 'SENT_BEFORE_DEADLINE', why: 'a full void of a succeeded payment, sent before its cutoff' },
  {
    decision: 'REJECTED',
    reasons: PAST_DEADLINE_REASONS,
    when: 'ANSWERED_AT_OR_AFTER_DEADLINE',
    why: "decided at or after the payment's cutoff or its terminal's settlement (WeChat: CUTOFF_PASSED or ALREADY_CLEARED; Alipay and UnionPay: VOID_WINDOW_EXPIRED too)",
  },
  {
    decision: 'REJECTED',
    reasons: ['PAYMENT_NOT_FOUND', 'PAYMENT_PENDING', 'CLEARING_PENDING'],
    remedy: 'RETRY_LATER',
    why: "the void service learns of the payment's success (and clearing of its batch) through Kafka, and had not yet",
  },
];

/** Two voids of one payment at once (two keys): each may be the one that lost to the other. */
export const ONE_OF_TWO_VOIDS: readonly ExpectedAnswer[] = [
  ...FULL_VOID,
  { decision: 'REJECTED', reasons: ['ALREADY_VOIDED'], when: 'ANOTHER_VOID_ACCEPTED', why: 'the other request of the pair was accepted first' },
];

const only = (answer: Omit<ExpectedAnswer, 'why'>, why: string): readonly ExpectedAnswer[] => [{ ...answer, why }];

export interface PlannedSettlement {
  readonly kind: 'settlement';
  readonly at: number;
  readonly merchantId: string;
  readonly terminalId: string;
  readonly batchNo: string;
}

export interface PlannedMalformed {
  readonly kind: 'malformed';
  readonly at: number;
  readonly topic: 'payments.commands.v1' | 'voids.commands.v1';
  readonly variant: 'BAD_JSON' | 'UNKNOWN_VERSION' | 'SCHEMA_INVALID' | 'UNKNOWN_TYPE';
  readonly eventId: string;
  readonly merchantId: string;
  readonly expectedReason: string;
}

export interface PlannedInvalidRequest {
  readonly kind: 'invalid-request';
  readonly at: number;
  readonly merchantId: string;
  readonly variant: 'ZERO_AMOUNT' | 'NEGATIVE_AMOUNT' | 'FRACTIONAL_AMOUNT' | 'WRONG_CURRENCY' | 'CARD_WITHOUT_BATCH';
}

/**
 * The operator changes a cutoff mid-day (docs/operations.md, "Changing a cutoff"): a schedule
 * version `every:<periodMs>` in force from a cutoff of the current schedule still ahead.
 */
export interface PlannedScheduleChange {
  readonly kind: 'schedule-change';
  readonly at: number;
  /** Relative to T1, like `at`: a cutoff of the schedule in force. */
  readonly effectiveFrom: number;
  readonly periodMs: number;
}

/** Clearing held still from `at` until `until` (a stalled host): the events of that span reach it afterwards. */
export interface PlannedHoldBack {
  readonly kind: 'hold-back';
  readonly at: number;
  readonly until: number;
}

export type PlannedStep =
  | PlannedPayment
  | PlannedVoid
  | PlannedSettlement
  | PlannedMalformed
  | PlannedInvalidRequest
  | PlannedScheduleChange
  | PlannedHoldBack;

export interface DayOptions {
  readonly seed: number;
  readonly merchants: number;
  readonly payments: number;
  /** The cutoff period of the stack's schedule (`every:<n>s`), in ms. */
  readonly periodMs: number;
  /**
   * Adds the operator's scenarios, for a runner that can act as the operator (the system test):
   * a cutoff change mid-day, clearing held still across a cutoff while a payment succeeds, and a
   * void parked in the dead-letter topic and replayed.
   */
  readonly operator?: boolean;
}

/** The stack's close grace (`CLEARING_CLOSE_GRACE_MS`, default): a batch starts closing this long after its cutoff. */
export const CLOSE_GRACE_MS = 2_000;

export interface DayPlan {
  readonly options: DayOptions;
  readonly merchants: readonly string[];
  /** Sorted by time. */
  readonly steps: readonly PlannedStep[];
  /** The cutoff schedule the plan expects, its instants relative to T1 (a cutoff of the first version). */
  readonly schedule: PublishedSchedule;
  /** The run covers [start, end) relative to T1. */
  readonly start: number;
  readonly end: number;
}

const CARD_TERMINAL = 'POS-CARD-1';
const WALLET_TERMINALS = ['POS-1', 'POS-2'];

function merchantIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `M${String(i + 1).padStart(3, '0')}`);
}

/** Where a payment is taken and with what: a card on the card POS, a payment code on a wallet POS. */
function instrumentOf(
  random: SeededRandom,
  channel: Channel,
  outcomeSuffix: string,
  batchNo: string,
  voucherNo: string,
): Pick<PlannedPayment, 'terminalId' | 'paymentCode' | 'card'> {
  if (channel === 'UNIONPAY_CARD') {
    return { terminalId: CARD_TERMINAL, card: { cardRef: `tok_${random.digits(14)}${outcomeSuffix}`, batchNo, voucherNo } };
  }
  return { terminalId: random.pick(WALLET_TERMINALS), paymentCode: `${channel === 'WECHAT' ? '13' : '28'}${random.digits(14)}${outcomeSuffix}` };
}

export function planDay(options: DayOptions): DayPlan {
  const random = new SeededRandom(options.seed);
  const merchants = merchantIds(options.merchants);
  const period = options.periodMs;
  // Payments run from 0.8 periods before T1 to 1.2 periods after it: one cutoff inside, one more at T2.
  const start = -Math.round(period * 0.8);
  const paymentsUntil = Math.round(period * 1.2);
  const steps: PlannedStep[] = [];
  const cardBatch = new Map(merchants.map((m) => [m, 1]));
  const settlementAt = Math.round(period * 0.35);
  const settledMerchant = merchants[0];
  // The operator's cutoff change: the period halved from T2 on (a cutoff of the current schedule).
  const schedule: PublishedSchedule = options.operator
    ? [{ periodMs: period }, { periodMs: Math.max(1_000, Math.round(period / 2_000) * 1_000), effectiveFrom: period }]
    : [{ periodMs: period }];
  let order = 0;

  const payments: PlannedPayment[] = [];
  for (let i = 0; i < options.payments; i++) {
    const at = start + Math.round(((paymentsUntil - start) * (i + random.next())) / options.payments);
    const merchantId = random.pick(merchants);
    const channel = random.weighted<Channel>([
      ['WECHAT', 40],
      ['ALIPAY', 35],
      ['UNIONPAY_CARD', 25],
    ]);
    const outcome = random.weighted<PlannedOutcome>([
      ['SUCCESS', 82],
      ['DECLINED', 6],
      ['USERPAYING_THEN_SUCCESS', 5],
      ['USERPAYING_THEN_FAILURE', 3],
      ['TIMEOUT_REVERSED', 4],
    ]);
    const amountFen = random.chance(0.05) ? random.int(100_000, 5_000_000) : random.int(1, 50_000);
    const outTradeNo = `D${options.seed}-${String(++order).padStart(5, '0')}`;
    const suffix = OUTCOME_SUFFIX[outcome];
    const afterSettlement = merchantId === settledMerchant && at >= settlementAt;
    const batchNo = String(afterSettlement ? (cardBatch.get(merchantId) ?? 1) + 1 : (cardBatch.get(merchantId) ?? 1)).padStart(6, '0');
    const instrument = instrumentOf(random, channel, suffix, batchNo, String(order).padStart(6, '0'));
    const payment: PlannedPayment = {
      kind: 'payment',
      at,
      merchantId,
      channel,
      amountFen,
      outTradeNo,
      via: random.chance(0.15) ? 'KAFKA' : 'HTTP',
      outcome,
      ...instrument,
    };
    const duplicate = payment.via === 'HTTP' ? random.weighted<PlannedPayment['duplicate'] | 'NONE'>([
      ['NONE', 90],
      ['IDENTICAL', 5],
      ['MODIFIED', 2],
      ['CONCURRENT', 3],
    ]) : 'NONE';
    payments.push(duplicate === 'NONE' ? payment : { ...payment, duplicate });
  }
  steps.push(...payments);
  steps.push({ kind: 'settlement', at: settlementAt, merchantId: settledMerchant, terminalId: CARD_TERMINAL, batchNo: '000001' });

  let voidNo = 0;
  const key = () => `void-${options.seed}-${String(++voidNo).padStart(5, '0')}`;
  const succeeded = payments.filter((p) => p.outcome === 'SUCCESS' && p.via === 'HTTP');
  const voidOf = (payment: PlannedPayment, at: number, variant: VoidVariant, overrides: Partial<PlannedVoid> = {}): PlannedVoid => ({
    expected: variant === 'DOUBLE' ? ONE_OF_TWO_VOIDS : FULL_VOID,
    kind: 'void',
    at,
    variant,
    payment,
    merchantId: payment.merchantId,
    idempotencyKey: key(),
    amountFen: payment.amountFen,
    withSupervisor: payment.channel === 'UNIONPAY_CARD',
    ...overrides,
  });
  for (const payment of succeeded) {
    const windowEnd = cutoffWindowAt(payment.at, schedule).closesAt;
    const roomBeforeCutoff = windowEnd - payment.at;
    const roll = random.next();
    if (roll < 0.18 && roomBeforeCutoff > 4_000) {
      steps.push(voidOf(payment, payment.at + random.int(1_500, 3_000), 'BEFORE_CUTOFF'));
    } else if (roll < 0.26 && payment.at < -3_000 && payment.at > -period / 2) {
      steps.push(voidOf(payment, random.int(1_500, 6_000), 'AFTER_CUTOFF', {
        expected: only({ decision: 'REJECTED', reasons: PAST_DEADLINE_REASONS }, 'sent seconds after the cutoff of the payment, which succeeded seconds before it'),
      }));
    } else if (roll < 0.3 && roomBeforeCutoff > 4_000) {
      steps.push(voidOf(payment, payment.at + 2_000, 'PARTIAL_AMOUNT', {
        amountFen: Math.max(1, Math.floor(payment.amountFen / 2)),
        // Half of 1 fen rounds up to the whole amount: that is a full void.
        expected: payment.amountFen > 1 ? only({ decision: 'REJECTED', reasons: ['AMOUNT_MISMATCH'] }, 'a void is for the full amount only') : FULL_VOID,
      }));
    } else if (roll < 0.33 && roomBeforeCutoff > 4_000) {
      steps.push(voidOf(payment, payment.at + 2_000, 'RETRIED'));
    } else if (roll < 0.36 && roomBeforeCutoff > 4_000) {
      steps.push(voidOf(payment, payment.at + 2_000, 'DOUBLE'));
    } else if (roll < 0.38 && merchants.length > 1 && roomBeforeCutoff > 4_000) {
      const other = merchants.find((m) => m !== payment.merchantId) ?? payment.merchantId;
      steps.push(voidOf(payment, payment.at + 2_000, 'OTHER_MERCHANT', {
        merchantId: other,
        expected: only({ decision: 'REJECTED', reasons: ['PAYMENT_NOT_FOUND'] }, "another merchant's payment is reported as unknown"),
      }));
    } else if (roll < 0.4 && payment.channel === 'UNIONPAY_CARD' && roomBeforeCutoff > 4_000) {
      steps.push(voidOf(payment, payment.at + 2_000, 'NO_SUPERVISOR', {
        withSupervisor: false,
        expected: only({ decision: 'REJECTED', reasons: ['SUPERVISOR_AUTH_REQUIRED'] }, 'a card void (消费撤销) needs the supervisor'),
      }));
    } else if (roll < 0.43 && roomBeforeCutoff > 4_000) {
      steps.push(voidOf(payment, payment.at + 2_000, 'VIA_KAFKA'));
    }
  }
  // The two voids below expect one answer each, so they go to payments no other void touches.
  const voided = new Set(steps.flatMap((s) => (s.kind === 'void' ? [s.payment] : [])));
  const unvoided = succeeded.filter((p) => !voided.has(p));
  // DOMAIN.md: a payment seconds after the cutoff belongs to tomorrow; voiding it tonight is allowed.
  const late = unvoided.find((p) => p.at > 500 && p.at < 4_000 && p.merchantId !== settledMerchant);
  if (late) steps.push(voidOf(late, late.at + 2_500, 'LATE_PAYMENT_SAME_NIGHT', {
    expected: only({ decision: 'ACCEPTED' }, 'a payment seconds after the cutoff belongs to the next batch, still open'),
  }));
  // A card payment of the settled batch: voiding it after the terminal settled must fail.
  const settledCard = unvoided.find((p) => p.merchantId === settledMerchant && p.channel === 'UNIONPAY_CARD' && p.at > 0 && p.at < settlementAt - 1_000);
  if (settledCard) {
    steps.push(voidOf(settledCard, settlementAt + 3_000, 'AFTER_SETTLEMENT', {
      expected: only({ decision: 'REJECTED', reasons: ['ALREADY_CLEARED'] }, 'the terminal settled (结算) its batch seconds before'),
    }));
  }
  if (options.operator) steps.push(...operatorScenarios(options, random, { start, schedule, merchants, settledMerchant, free: unvoided.filter((p) => p !== late && p !== settledCard), order, voidOf }));

  const malformed: [PlannedMalformed['topic'], PlannedMalformed['variant'], string][] = [
    ['payments.commands.v1', 'BAD_JSON', 'MALFORMED_ENVELOPE'],
    ['payments.commands.v1', 'UNKNOWN_VERSION', 'UNSUPPORTED_SCHEMA_VERSION'],
    ['payments.commands.v1', 'SCHEMA_INVALID', 'SCHEMA_VIOLATION'],
    ['voids.commands.v1', 'SCHEMA_INVALID', 'SCHEMA_VIOLATION'],
    ['voids.commands.v1', 'UNKNOWN_TYPE', 'UNKNOWN_EVENT_TYPE'],
  ];
  malformed.forEach(([topic, variant, expectedReason], i) =>
    steps.push({
      kind: 'malformed',
      at: start + Math.round(((paymentsUntil - start) * (i + 0.5)) / malformed.length),
      topic,
      variant,
      eventId: `malformed-${options.seed}-${i + 1}`,
      merchantId: random.pick(merchants),
      expectedReason,
    }),
  );
  const invalid: PlannedInvalidRequest['variant'][] = ['ZERO_AMOUNT', 'NEGATIVE_AMOUNT', 'FRACTIONAL_AMOUNT', 'WRONG_CURRENCY', 'CARD_WITHOUT_BATCH'];
  invalid.forEach((variant, i) =>
    steps.push({ kind: 'invalid-request', at: start + 1_000 + i * 500, merchantId: random.pick(merchants), variant }),
  );

  steps.sort((a, b) => a.at - b.at);
  const end = Math.max(paymentsUntil, ...steps.map((s) => s.at)) + 1_000;
  return { options, merchants, schedule, steps, start: Math.min(start, steps[0]?.at ?? start), end };
}

/**
 * The operator's scenarios (DayOptions.operator):
 * - a cutoff change published during the run, 30 s before the first payment: the rolling restart
 *   (a boot that takes seconds on a busy machine, two rebalances of clearing's consumers) is over
 *   before the payments start, and the version still takes effect well after clearing's notice
 *   (10 s after the new instance boots);
 * - clearing held still from 2.5 s before T1 until the close grace after it has passed, and a
 *   payment succeeding in that span: its event reaches clearing after the cutoff;
 * - a void sent before its payment exists (RETRY_LATER, asked again with the same key);
 * - a void accepted and parked by clearing, replayed by the operator once its batch waits.
 */
function operatorScenarios(
  options: DayOptions,
  random: SeededRandom,
  day: {
    start: number;
    schedule: PublishedSchedule;
    merchants: readonly string[];
    settledMerchant: string;
    free: readonly PlannedPayment[];
    order: number;
    voidOf: (payment: PlannedPayment, at: number, variant: VoidVariant, overrides?: Partial<PlannedVoid>) => PlannedVoid;
  },
): PlannedStep[] {
  const [, change] = day.schedule;
  const steps: PlannedStep[] = [
    { kind: 'schedule-change', at: day.start - 30_000, effectiveFrom: change.effectiveFrom ?? options.periodMs, periodMs: change.periodMs },
    { kind: 'hold-back', at: -2_500, until: CLOSE_GRACE_MS + 1_500 },
  ];
  const merchantId = day.merchants.find((m) => m !== day.settledMerchant) ?? day.settledMerchant;
  const outTradeNo = `D${options.seed}-${String(day.order + 1).padStart(5, '0')}`;
  steps.push({
    kind: 'payment',
    at: -1_200,
    merchantId,
    channel: 'WECHAT',
    amountFen: random.int(1, 50_000),
    outTradeNo,
    via: 'HTTP',
    outcome: 'SUCCESS',
    heldBack: true,
    ...instrumentOf(random, 'WECHAT', OUTCOME_SUFFIX.SUCCESS, '000001', '000000'),
  });
  // Wallet payments early in the first window, far from the hold-back and the cutoff.
  const [asked, parked] = day.free.filter((p) => p.channel !== 'UNIONPAY_CARD' && p.at > day.start + 1_000 && p.at < -6_000);
  // Asked again until final: accepted before the cutoff, or refused once it passed (a slow stack), never left retrying.
  if (asked) steps.push(day.voidOf(asked, asked.at - 400, 'ASKED_AGAIN', { expected: FULL_VOID.filter((a) => a.remedy !== 'RETRY_LATER') }));
  if (parked) {
    const why = 'a full void sent seconds before the cutoff; clearing parks it, the operator replays it';
    steps.push(day.voidOf(parked, parked.at + 2_000, 'PARKED_AND_REPLAYED', { expected: only({ decision: 'ACCEPTED', when: 'SENT_BEFORE_DEADLINE' }, why) }));
  }
  return steps;
}

/**
 * The race of DOMAIN.md as a plan: payments spread over three cutoff periods, and for each
 * succeeded one a void fired at a random instant around its batch's cutoff, some twice at once
 * with two keys, some retried with one key. Which side of the cutoff a void lands on is the race
 * itself, so each may get any answer of FULL_VOID (or ONE_OF_TWO_VOIDS), each right only on its
 * side of the deadline.
 */
export function planRace(options: DayOptions): DayPlan {
  const random = new SeededRandom(options.seed);
  const merchants = merchantIds(options.merchants);
  const period = options.periodMs;
  const start = -period;
  const paymentsUntil = 2 * period;
  const steps: PlannedStep[] = [];
  let voidNo = 0;
  for (let i = 0; i < options.payments; i++) {
    const at = start + Math.round(((paymentsUntil - start) * (i + random.next())) / options.payments);
    const merchantId = random.pick(merchants);
    const channel = random.weighted<Channel>([
      ['WECHAT', 45],
      ['ALIPAY', 45],
      ['UNIONPAY_CARD', 10],
    ]);
    const outTradeNo = `R${options.seed}-${String(i + 1).padStart(5, '0')}`;
    const instrument = instrumentOf(random, channel, OUTCOME_SUFFIX.SUCCESS, '000001', String(i + 1).padStart(6, '0'));
    const payment: PlannedPayment = {
      kind: 'payment',
      at,
      merchantId,
      channel,
      amountFen: random.int(1, 99_999),
      outTradeNo,
      via: 'HTTP',
      outcome: 'SUCCESS',
      ...instrument,
    };
    steps.push(payment);
    const variant = random.weighted<VoidVariant | 'NONE'>([
      ['NONE', 20],
      ['BEFORE_CUTOFF', 50],
      ['DOUBLE', 20],
      ['RETRIED', 10],
    ]);
    if (variant === 'NONE') continue;
    steps.push({
      kind: 'void',
      at: at + random.int(300, Math.round(period * 1.5)),
      variant,
      payment,
      merchantId,
      idempotencyKey: `race-${options.seed}-${String(++voidNo).padStart(5, '0')}`,
      amountFen: payment.amountFen,
      withSupervisor: channel === 'UNIONPAY_CARD',
      expected: variant === 'DOUBLE' ? ONE_OF_TWO_VOIDS : FULL_VOID,
    });
  }
  steps.sort((a, b) => a.at - b.at);
  return { options, merchants, schedule: [{ periodMs: period }], steps, start, end: Math.max(...steps.map((s) => s.at)) + 1_000 };
}
