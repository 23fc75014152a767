/**
 * What clearing should make of the day, worked out by the driver itself from what it can see
 * without asking clearing: payments' success times on `payments.events.v1` and the cutoff schedule
 * the day was run with (`every:<period>`, the same for every channel). Deliberately written here
 * and not imported from the clearing libraries, so a mistake there cannot hide in the check.
 *
 * Batch ids are never rebuilt here: clearing may split one clearing group into several batches
 * (a terminal settlement's successor, a late payment's adjustment batch), so expectations are per
 * clearing group, and observed batches are put in their group by the identity their own events carry.
 */

/** Asia/Shanghai is UTC+8 all year (no DST). */
const SHANGHAI_OFFSET_MS = 8 * 60 * 60 * 1000;

/** The cutoff window [opensAt, closesAt) holding an instant, under an epoch-aligned `every:<period>` schedule. */
export interface CutoffWindow {
  readonly opensAt: number;
  readonly closesAt: number;
}

export function cutoffWindowAt(instant: number, periodMs: number): CutoffWindow {
  const opensAt = Math.floor(instant / periodMs) * periodMs;
  return { opensAt, closesAt: opensAt + periodMs };
}

/** The calendar date (YYYY-MM-DD) of an instant in Asia/Shanghai. */
export function shanghaiDateOf(instant: number): string {
  return new Date(instant + SHANGHAI_OFFSET_MS).toISOString().slice(0, 10);
}

/**
 * Where a payment is cleared: per merchant and channel per clearing date, and for cards per
 * terminal and POS batch number as well (as DOMAIN.md describes the channels' batches).
 */
export interface ClearingGroup {
  readonly merchantId: string;
  readonly channel: string;
  readonly clearingDate: string;
  readonly terminalId?: string;
  readonly batchNo?: string;
}

export function groupKeyOf(group: ClearingGroup): string {
  return [group.merchantId, group.channel, group.clearingDate, group.terminalId ?? '-', group.batchNo ?? '-'].join('/');
}

/** A succeeded payment as `payments.events.v1` announced it. */
export interface SucceededPayment {
  readonly paymentId: string;
  readonly merchantId: string;
  readonly terminalId: string;
  readonly channel: string;
  readonly amountFen: number;
  readonly outTradeNo: string;
  readonly succeededAt: number;
  readonly cardBatchNo?: string;
}

export interface ExpectedClearing {
  readonly group: ClearingGroup;
  /** The cutoff window of the payment's success time: every payment of one batch shares it. */
  readonly window: CutoffWindow;
}

/**
 * The one place that says which clearing group a payment belongs to: the cutoff window its
 * success time falls in, named by the Asia/Shanghai date on which that window ends (a window
 * closing at 00:00 belongs to the day before).
 */
export function expectedClearingOf(payment: SucceededPayment, periodMs: number): ExpectedClearing {
  const window = cutoffWindowAt(payment.succeededAt, periodMs);
  const clearingDate = shanghaiDateOf(window.closesAt - 1);
  const card = payment.channel === 'UNIONPAY_CARD';
  return {
    group: {
      merchantId: payment.merchantId,
      channel: payment.channel,
      clearingDate,
      ...(card ? { terminalId: payment.terminalId, batchNo: payment.cardBatchNo } : {}),
    },
    window,
  };
}

/** A terminal settlement (结算) the driver requested, with when it sent the request and got the answer. */
export interface RequestedSettlement {
  readonly merchantId: string;
  readonly terminalId: string;
  readonly batchNo: string;
  readonly sentAt: number;
  readonly answeredAt: number;
}

/**
 * The last instant a void of the payment can be accepted, as a range because the driver only
 * knows when it sent a settlement request and when the answer came, not the instant clearing
 * acted on it. `latest` is the cutoff of the payment's window; `earliest` is earlier when the
 * payment's terminal batch was settled inside that window before the payment could have left it.
 */
export interface VoidDeadline {
  readonly earliest: number;
  readonly latest: number;
}

export function voidDeadlineOf(payment: SucceededPayment, periodMs: number, settlements: readonly RequestedSettlement[]): VoidDeadline {
  const { window } = expectedClearingOf(payment, periodMs);
  const settled = settlements.filter(
    (s) =>
      payment.channel === 'UNIONPAY_CARD' &&
      s.merchantId === payment.merchantId &&
      s.terminalId === payment.terminalId &&
      s.batchNo === payment.cardBatchNo &&
      s.sentAt < window.closesAt &&
      s.answeredAt > window.opensAt &&
      payment.succeededAt < s.answeredAt,
  );
  const earliest = Math.min(window.closesAt, ...settled.map((s) => Math.max(s.sentAt, window.opensAt)));
  return { earliest, latest: window.closesAt };
}
