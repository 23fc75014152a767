import fc from 'fast-check';
import { businessDateOf } from './business-date';
import { clearingDateOf } from './clearing-date';
import { cutoffWindowOf } from './cutoff-schedule';
import { parseTimeOfDay, timeOfDay } from './time-of-day';

const at = (text: string): Date => new Date(text);
const UNIONPAY_DAY_CUT = timeOfDay(23, 0);
const MIDNIGHT = timeOfDay(0, 0);

const zonedInstant = fc.date({ min: at('1992-01-02T00:00:00+08:00'), max: at('2200-12-31T23:59:59.999+08:00'), noInvalidDate: true });
const cutoffArb = fc
  .record({ hour: fc.integer({ min: 0, max: 23 }), minute: fc.integer({ min: 0, max: 59 }), second: fc.integer({ min: 0, max: 59 }) })
  .map(({ hour, minute, second }) => timeOfDay(hour, minute, second));

describe('clearingDateOf', () => {
  it('UnionPay 23:00: 22:59:59.999 is today, 23:00:00.000 is tomorrow', () => {
    expect(clearingDateOf(at('2024-03-10T22:59:59.999+08:00'), UNIONPAY_DAY_CUT)).toBe('2024-03-10');
    expect(clearingDateOf(at('2024-03-10T23:00:00.000+08:00'), UNIONPAY_DAY_CUT)).toBe('2024-03-11');
    expect(clearingDateOf(at('2024-03-10T23:59:59.999+08:00'), UNIONPAY_DAY_CUT)).toBe('2024-03-11');
    expect(clearingDateOf(at('2024-03-11T00:00:00.000+08:00'), UNIONPAY_DAY_CUT)).toBe('2024-03-11');
  });

  it('UnionPay 23:00 across month end, year end and leap day', () => {
    expect(clearingDateOf(at('2023-12-31T22:59:59.999+08:00'), UNIONPAY_DAY_CUT)).toBe('2023-12-31');
    expect(clearingDateOf(at('2023-12-31T23:00:00.000+08:00'), UNIONPAY_DAY_CUT)).toBe('2024-01-01');
    expect(clearingDateOf(at('2024-02-28T23:00:00.000+08:00'), UNIONPAY_DAY_CUT)).toBe('2024-02-29');
    expect(clearingDateOf(at('2024-02-29T23:00:00.000+08:00'), UNIONPAY_DAY_CUT)).toBe('2024-03-01');
    expect(clearingDateOf(at('2023-02-28T23:00:00.000+08:00'), UNIONPAY_DAY_CUT)).toBe('2023-03-01');
    expect(clearingDateOf(at('2024-04-30T23:00:00.000+08:00'), UNIONPAY_DAY_CUT)).toBe('2024-05-01');
  });

  it('00:00 (WeChat, Alipay): the calendar date in Asia/Shanghai, 16:00 UTC being the turn', () => {
    expect(clearingDateOf(at('2024-03-10T23:59:59.999+08:00'), MIDNIGHT)).toBe('2024-03-10');
    expect(clearingDateOf(at('2024-03-10T15:59:59.999Z'), MIDNIGHT)).toBe('2024-03-10');
    expect(clearingDateOf(at('2024-03-10T16:00:00.000Z'), MIDNIGHT)).toBe('2024-03-11');
    expect(clearingDateOf(at('2024-12-31T16:00:00.000Z'), MIDNIGHT)).toBe('2025-01-01');
  });

  it('with a 00:00 cutoff equals businessDateOf', () => {
    fc.assert(
      fc.property(zonedInstant, (instant) => {
        expect(clearingDateOf(instant, MIDNIGHT)).toBe(businessDateOf(instant));
      }),
    );
  });

  it('is the calendar date, or the next one from the cutoff time onwards', () => {
    fc.assert(
      fc.property(zonedInstant, cutoffArb, (instant, cutoff) => {
        const wallClock = instant.getTime() - Date.parse(`${businessDateOf(instant)}T00:00:00+08:00`);
        const cutoffMs = ((cutoff.hour * 60 + cutoff.minute) * 60 + cutoff.second) * 1000;
        const calendarDate = businessDateOf(instant);
        const expected = cutoffMs > 0 && wallClock >= cutoffMs ? businessDateOf(new Date(instant.getTime() + 86_400_000)) : calendarDate;
        expect(clearingDateOf(instant, cutoff)).toBe(expected);
      }),
    );
  });

  it('is monotonic in the instant', () => {
    fc.assert(
      fc.property(zonedInstant, zonedInstant, cutoffArb, (a, b, cutoff) => {
        const [earlier, later] = a.getTime() <= b.getTime() ? [a, b] : [b, a];
        expect(clearingDateOf(earlier, cutoff) <= clearingDateOf(later, cutoff)).toBe(true);
      }),
    );
  });

  it('is constant over a cutoff window, so a batch has one clearing date', () => {
    fc.assert(
      fc.property(zonedInstant, cutoffArb, (instant, cutoff) => {
        const window = cutoffWindowOf({ kind: 'daily', at: cutoff }, instant);
        expect(clearingDateOf(window.opensAt, cutoff)).toBe(clearingDateOf(instant, cutoff));
        expect(clearingDateOf(new Date(window.closesAt.getTime() - 1), cutoff)).toBe(clearingDateOf(instant, cutoff));
      }),
    );
  });

  it('accepts a cutoff from configuration', () => {
    expect(clearingDateOf(at('2024-03-10T23:00:00+08:00'), parseTimeOfDay('23:00:00'))).toBe('2024-03-11');
  });
});
