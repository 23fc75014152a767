/**
 * What clearing should make of the day, worked out by the driver itself from what it can see
 * without asking clearing: payments' success times on `payments.events.v1` and the cutoff schedule
 * versions the day was run with and published during the run (`every:<period>`, the same for
 * every channel). Deliberately written here
 * and not imported from the clearing libraries, so a mistake there cannot hide in the check.
 *
 * Batch ids are never rebuilt here: clearing may split one clearing group into several batches
 * (a terminal settlement's successor, a late payment's adjustment batch), so expectations are per
 * clearing group, and observed batches are put in their group by the identity their own events carry.
 */

/** Asia/Shanghai is UTC+8 all year (no DST). */
const SHANGHAI_OFFSET_MS = 8 * 60 * 60 * 1000;

/** A cutoff window [opensAt, closesAt). */
export interface CutoffWindow {
  readonly opensAt: number;
  readonly closesAt: number;
}

/**
 * A cutoff schedule version as the driver published it: `every:<period>` (epoch-aligned), in force
 * from `effectiveFrom` until the next version's; the first version is in force from the beginning.
 */
export interface ScheduleVersion {
  readonly periodMs: number;
  readonly effectiveFrom?: number;
}

/** The day's schedule versions, oldest first, as the driver published them (never read from clearing). */
export type PublishedSchedule = readonly ScheduleVersion[];

/** As the setting writes it: `every:12s; every:6s from 2026-11-27T02:00:24.000Z`. */
export function describeSchedule(schedule: PublishedSchedule): string {
  return schedule.map((v) => `every:${v.periodMs / 1000}s${v.effectiveFrom === undefined ? '' : ` from ${new Date(v.effectiveFrom).toISOString()}`}`).join('; ');
}

/**
 * The window holding an instant under the version in force at that instant: the version's
 * epoch-aligned window, opening no earlier than the version's effective instant and closing no
 * later than the next version's.
 */
export function cutoffWindowAt(instant: number, schedule: PublishedSchedule): CutoffWindow {
  const index = schedule.findLastIndex((v, i) => i === 0 || (v.effectiveFrom ?? Number.NEGATIVE_INFINITY) <= instant);
  const version = schedule[index];
  const next = schedule[index + 1]?.effectiveFrom;
  const opensAt = Math.floor(instant / version.periodMs) * version.periodMs;
  return {
    opensAt: Math.max(opensAt, version.effectiveFrom ?? opensAt),
    closesAt: Math.min(opensAt + version.periodMs, next ?? Number.POSITIVE_INFINITY),
  };
}

/** The cutoffs of the schedule in [from, until): where each window closes. */
export function cutoffsBetween(from: number, until: number, schedule: PublishedSchedule): number[] {
  const cutoffs: number[] = [];
  for (let window = cutoffWindowAt(from, schedule); window.closesAt < until; window = cutoffWindowAt(window.closesAt, schedule)) cutoffs.push(window.closesAt);
  return cutoffs;
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
export function expectedClearingOf(payment: SucceededPayment, schedule: PublishedSchedule): ExpectedClearing {
  const window = cutoffWindowAt(payment.succeededAt, schedule);
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

export function voidDeadlineOf(payment: SucceededPayment, schedule: PublishedSchedule, settlements: readonly RequestedSettlement[]): VoidDeadline {
  const { window } = expectedClearingOf(payment, schedule);
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
