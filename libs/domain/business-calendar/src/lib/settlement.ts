import { addDays, BusinessDate, epochDayOf, parseBusinessDate } from './business-date';
import { MS_PER_DAY } from './business-zone';
import { CalendarError } from './calendar-error';

/** Which days funds move on. Configuration, because acquirers differ and holidays are announced yearly. */
export interface SettlementCalendar {
  /** Days nothing settles on; they win over everything else. */
  readonly holidays: ReadonlySet<BusinessDate>;
  readonly weekendsAreHolidays: boolean;
  /** Weekend days that are working days (调休 make-up days around Chinese public holidays). */
  readonly makeUpWorkingDays?: ReadonlySet<BusinessDate>;
}

/** No contract settles more than a year after clearing; a larger offset is a configuration slip. */
const MAX_SETTLEMENT_OFFSET_DAYS = 366;
const SUNDAY = 0;
const SATURDAY = 6;

/**
 * The T+N settlement date: the N-th working day after the clearing date. T+0 is the clearing date
 * itself when it is a working day, else the first working day after it.
 */
export function settlementDateOf(clearingDate: BusinessDate, calendar: SettlementCalendar, tPlus = 1): BusinessDate {
  if (!Number.isInteger(tPlus) || tPlus < 0 || tPlus > MAX_SETTLEMENT_OFFSET_DAYS) {
    throw new CalendarError('INVALID_SETTLEMENT_OFFSET', `settlement offset must be a whole number of days from 0 to ${MAX_SETTLEMENT_OFFSET_DAYS}, got ${tPlus}`);
  }
  const start = parseBusinessDate(clearingDate);
  if (tPlus === 0) {
    return firstWorkingDayFrom(start, calendar);
  }
  let date = start;
  for (let day = 0; day < tPlus; day += 1) {
    date = firstWorkingDayFrom(addDays(date, 1), calendar);
  }
  return date;
}

function firstWorkingDayFrom(date: BusinessDate, calendar: SettlementCalendar): BusinessDate {
  let candidate = date;
  while (!isWorkingDay(candidate, calendar)) {
    candidate = addDays(candidate, 1);
  }
  return candidate;
}

function isWorkingDay(date: BusinessDate, calendar: SettlementCalendar): boolean {
  if (calendar.holidays.has(date)) return false;
  if (!calendar.weekendsAreHolidays || calendar.makeUpWorkingDays?.has(date)) return true;
  const weekday = new Date(epochDayOf(date) * MS_PER_DAY).getUTCDay();
  return weekday !== SATURDAY && weekday !== SUNDAY;
}
