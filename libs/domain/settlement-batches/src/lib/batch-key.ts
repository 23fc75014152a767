import {
  BusinessDate,
  businessDateOf,
  cutoffWindowIn,
  CutoffWindow,
  formatShanghai,
  parseVersionedCutoffSchedule,
  VersionedCutoffSchedule,
} from '@pos/business-calendar';

export type Channel = 'WECHAT' | 'ALIPAY' | 'UNIONPAY_CARD';

/**
 * Each channel's clearing day-cut (日切) over time, as versioned schedules, so a cutoff change takes
 * effect at an instant every instance agrees on; see DOMAIN.md for the defaults.
 */
export type ClearingSchedules = Readonly<Record<Channel, VersionedCutoffSchedule>>;

export const DEFAULT_CUTOFF_SCHEDULES: Readonly<Record<Channel, string>> = {
  WECHAT: 'daily@00:00',
  ALIPAY: 'daily@00:00',
  UNIONPAY_CARD: 'daily@23:00',
};

/** Reads `CUTOFF_SCHEDULE_<CHANNEL>` style settings (versioned schedule text), falling back to the defaults. */
export function clearingSchedulesFrom(settings: Partial<Record<Channel, string | undefined>>): ClearingSchedules {
  const schedule = (channel: Channel) => parseVersionedCutoffSchedule(settings[channel] ?? DEFAULT_CUTOFF_SCHEDULES[channel]);
  return { WECHAT: schedule('WECHAT'), ALIPAY: schedule('ALIPAY'), UNIONPAY_CARD: schedule('UNIONPAY_CARD') };
}

/** What batch assignment needs to know about a succeeded payment. */
export interface BatchablePayment {
  readonly merchantId: string;
  readonly terminalId: string;
  readonly channel: Channel;
  readonly succeededAt: Date;
  /** Card payments carry the POS terminal's batch number. */
  readonly cardBatchNo?: string;
}

export interface BatchKey {
  /**
   * Stable, readable and the same in every service and on every replay: `:`-separated fields, the
   * merchant and terminal ids percent-encoded (see batchIdField) so that no two keys share an id.
   */
  readonly batchId: string;
  readonly merchantId: string;
  readonly channel: Channel;
  readonly terminalId?: string;
  readonly batchNo?: string;
  readonly window: CutoffWindow;
  /** The business date (Asia/Shanghai) on which the clearing window ends. */
  readonly clearingDate: BusinessDate;
}

/**
 * A free-text field of a batch id: `%` and the separator `:` percent-encoded, so the fields of an
 * id are recovered by splitting on `:` and two different field lists never give the same id
 * (merchant `M:1` with channel `WECHAT` and merchant `M` with terminal `1` used to collide).
 */
export function batchIdField(text: string): string {
  return text.replace(/[%:]/g, (c) => (c === '%' ? '%25' : '%3A'));
}

/**
 * When the batch's window opened, in the business zone people reconcile in (Asia/Shanghai, with
 * its offset), compact: `20261204T230000+0800`; milliseconds only when the window has them.
 */
export function batchIdTime(instant: Date): string {
  const [, date, time, millis] = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})\.(\d{3})\+08:00$/.exec(formatShanghai(instant)) ?? [];
  if (date === undefined) throw new Error(`cannot name a batch window opening at ${instant.toISOString()}`);
  return `${date.replace(/-/g, '')}T${time.replace(/:/g, '')}${millis === '000' ? '' : `.${millis}`}+0800`;
}

/**
 * The settlement batch a payment belongs to, from its own success time and its channel's clearing
 * calendar alone: per merchant and channel per clearing window, and for cards per terminal and
 * POS batch number as well. Pure and deterministic, so the clearing service (which assigns) and
 * the void service (which guards voids per batch) always agree.
 */
export function batchKeyOf(payment: BatchablePayment, schedules: ClearingSchedules): BatchKey {
  const window = cutoffWindowIn(schedules[payment.channel], payment.succeededAt);
  const clearingDate = businessDateOf(new Date(window.closesAt.getTime() - 1));
  const opened = batchIdTime(window.opensAt);
  const merchant = batchIdField(payment.merchantId);
  if (payment.channel === 'UNIONPAY_CARD') {
    if (!payment.cardBatchNo) throw new Error('a card payment needs its POS batch number');
    return {
      batchId: `${merchant}:${batchIdField(payment.terminalId)}:${batchIdField(payment.cardBatchNo)}:UNIONPAY_CARD:${opened}`,
      merchantId: payment.merchantId,
      channel: payment.channel,
      terminalId: payment.terminalId,
      batchNo: payment.cardBatchNo,
      window,
      clearingDate,
    };
  }
  return {
    batchId: `${merchant}:${payment.channel}:${opened}`,
    merchantId: payment.merchantId,
    channel: payment.channel,
    window,
    clearingDate,
  };
}
