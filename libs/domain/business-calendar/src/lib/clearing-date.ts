import { BusinessDate, businessDateOf } from './business-date';
import { cutoffWindowOf } from './cutoff-schedule';
import { TimeOfDay } from './time-of-day';

/**
 * The clearing date of an instant under a daily day-cut (日切) at `cutoff`, Asia/Shanghai. A clearing
 * day is named after the calendar date on which it ends, reading a 00:00 cutoff as 24:00; so with
 * UnionPay's 23:00 cutoff, 23:00:00.000 onwards belongs to the next date, and with 00:00 (WeChat,
 * Alipay) the clearing date is the calendar date. Derived from the cutoff window, so a payment's
 * clearing date and its batch window can never disagree.
 */
export function clearingDateOf(instant: Date, cutoff: TimeOfDay): BusinessDate {
  const { closesAt } = cutoffWindowOf({ kind: 'daily', at: cutoff }, instant);
  return businessDateOf(new Date(closesAt.getTime() - 1));
}
