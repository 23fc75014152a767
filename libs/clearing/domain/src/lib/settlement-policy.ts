import { BusinessDate, businessDateOf, parseBusinessDate, SettlementCalendar, settlementDateOf } from '@pos/business-calendar';

export interface SettlementSettings {
  /** Comma-separated YYYY-MM-DD list (SETTLEMENT_HOLIDAYS). */
  readonly holidays: string;
  readonly weekendsAreHolidays: boolean;
  /** Comma-separated YYYY-MM-DD weekend days that are working days (调休). */
  readonly makeUpWorkingDays: string;
  /** T+N: working days between the clearing date and the settlement date. */
  readonly tPlusDays: number;
}

export interface SettlementPolicy {
  readonly calendar: SettlementCalendar;
  readonly tPlusDays: number;
}

function dateList(text: string): Set<BusinessDate> {
  return new Set(
    text
      .split(',')
      .map((d) => d.trim())
      .filter(Boolean)
      .map(parseBusinessDate),
  );
}

/** Validates the settings once at boot; a bad date fails the boot with the offending text. */
export function settlementPolicyFrom(settings: SettlementSettings): SettlementPolicy {
  return {
    calendar: {
      holidays: dateList(settings.holidays),
      weekendsAreHolidays: settings.weekendsAreHolidays,
      makeUpWorkingDays: dateList(settings.makeUpWorkingDays),
    },
    tPlusDays: settings.tPlusDays,
  };
}

export function settlementDateFor(clearingDate: BusinessDate, policy: SettlementPolicy): BusinessDate {
  return settlementDateOf(clearingDate, policy.calendar, policy.tPlusDays);
}

/** A closed batch settles once the clock has reached 00:00 Asia/Shanghai of its settlement date. */
export function isDueForSettlement(settlementDate: BusinessDate, now: Date): boolean {
  return settlementDate <= businessDateOf(now);
}
