import { z } from 'zod';
import { merchantAuthConfigShape, operatorAuthConfigShape } from '@pos/service-runtime';
import { parseBusinessDate, parseVersionedCutoffSchedule } from '@pos/business-calendar';
import { SettlementPolicy, settlementPolicyFrom } from '@pos/clearing-domain';
import { Channel, ClearingSchedules, clearingSchedulesFrom } from '@pos/settlement-batches';

/** Parsed again where used; checked here so a bad setting fails the boot with its own message. */
const checked = (check: (text: string) => void) => (text: string | undefined, ctx: z.RefinementCtx) => {
  if (text === undefined) return;
  try {
    check(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
  }
};
const schedule = z.string().optional().superRefine(checked(parseVersionedCutoffSchedule));
const dateList = z
  .string()
  .default('')
  .superRefine(checked((text) => text.split(',').map((d) => d.trim()).filter(Boolean).forEach(parseBusinessDate)));

const flag = z.enum(['true', 'false']).transform((v) => v === 'true');

/** The clearing service's own settings (validated at boot with the common ones). */
export const clearingConfigShape = {
  /**
   * Day-cut (日切) per channel, Asia/Shanghai, as versioned schedules (`daily@23:00; daily@23:30 from
   * 2026-12-05T23:00:00+08:00`); defaults WeChat/Alipay daily@00:00, UnionPay daily@23:00. Every
   * instance must hold the versions stored in the clearing schema (see ScheduleVersions).
   */
  CUTOFF_SCHEDULE_WECHAT: schedule,
  CUTOFF_SCHEDULE_ALIPAY: schedule,
  CUTOFF_SCHEDULE_UNIONPAY_CARD: schedule,
  /** Comma-separated YYYY-MM-DD days on which nothing settles. */
  SETTLEMENT_HOLIDAYS: dateList,
  /** Comma-separated YYYY-MM-DD weekend days that are working days (调休). */
  SETTLEMENT_MAKEUP_WORKING_DAYS: dateList,
  SETTLEMENT_WEEKENDS_ARE_HOLIDAYS: flag.default(true),
  /** T+N working days from clearing date to settlement date. */
  SETTLEMENT_T_PLUS_DAYS: z.coerce.number().int().min(0).max(30).default(1),
  /** Where reconciliation files (对账单) are written. */
  RECONCILIATION_DIR: z.string().min(1).default('./out/reconciliation'),
  /** How often each instance looks for due cutoffs, settlements and unwritten files. */
  CLEARING_TICK_MS: z.coerce.number().int().min(50).max(60_000).default(300),
  /**
   * How long after a cutoff a batch starts closing: payments that succeeded just before the cutoff
   * reach clearing in that time (ADR 0005); later ones are late and keep their clearing date.
   */
  CLEARING_CLOSE_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(2_000),
  /** How long a terminal settlement (结算) over HTTP waits for its batch to close before answering 202. */
  TERMINAL_SETTLEMENT_WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
  /** Merchant keys (sha256, as the payment and void services take them): terminals and merchants read their own data. */
  ...merchantAuthConfigShape,
  /** Operator tokens with roles (viewer, operator, approver), sha256: `alice:operator:<hex>,…`. */
  ...operatorAuthConfigShape,
  /** How long a four-eyes approval request stays open, and an approved one executable. */
  APPROVAL_TTL_MS: z.coerce.number().int().min(60_000).max(7 * 86_400_000).default(3_600_000),
};

/** The setting that holds a channel's cutoff schedule versions, named in messages to operators. */
export function cutoffSettingOf(channel: Channel): `CUTOFF_SCHEDULE_${Channel}` {
  return `CUTOFF_SCHEDULE_${channel}`;
}

export type ClearingConfig = z.infer<z.ZodObject<typeof clearingConfigShape>>;

export interface ClearingSettings {
  readonly schedules: ClearingSchedules;
  readonly settlement: SettlementPolicy;
  readonly reconciliationDir: string;
  readonly tickMs: number;
  readonly closeGraceMs: number;
  readonly terminalSettlementWaitMs: number;
  readonly approvalTtlMs: number;
}

export function clearingSettingsFrom(config: ClearingConfig): ClearingSettings {
  return {
    schedules: clearingSchedulesFrom({
      WECHAT: config.CUTOFF_SCHEDULE_WECHAT,
      ALIPAY: config.CUTOFF_SCHEDULE_ALIPAY,
      UNIONPAY_CARD: config.CUTOFF_SCHEDULE_UNIONPAY_CARD,
    }),
    settlement: settlementPolicyFrom({
      holidays: config.SETTLEMENT_HOLIDAYS,
      makeUpWorkingDays: config.SETTLEMENT_MAKEUP_WORKING_DAYS,
      weekendsAreHolidays: config.SETTLEMENT_WEEKENDS_ARE_HOLIDAYS,
      tPlusDays: config.SETTLEMENT_T_PLUS_DAYS,
    }),
    reconciliationDir: config.RECONCILIATION_DIR,
    tickMs: config.CLEARING_TICK_MS,
    closeGraceMs: config.CLEARING_CLOSE_GRACE_MS,
    terminalSettlementWaitMs: config.TERMINAL_SETTLEMENT_WAIT_MS,
    approvalTtlMs: config.APPROVAL_TTL_MS,
  };
}

export const CLEARING_SETTINGS = Symbol('CLEARING_SETTINGS');
