import fc from 'fast-check';
import { addDays, BusinessDate, businessDateOf, parseBusinessDate } from './business-date';
import { CalendarError } from './calendar-error';
import { SettlementCalendar, settlementDateOf } from './settlement';

const d = (text: string): BusinessDate => parseBusinessDate(text);
const dates = (...texts: string[]): Set<BusinessDate> => new Set(texts.map(d));

const weekendsOnly: SettlementCalendar = { holidays: new Set(), weekendsAreHolidays: true };
// 2024 National Day: Oct 1-7 off; Sunday Sep 29 and Saturday Oct 12 are make-up working days.
const china2024: SettlementCalendar = {
  holidays: dates('2024-10-01', '2024-10-02', '2024-10-03', '2024-10-04', '2024-10-07'),
  weekendsAreHolidays: true,
  makeUpWorkingDays: dates('2024-09-29', '2024-10-12'),
};

describe('settlementDateOf', () => {
  it('is T+1 by default: the next working day', () => {
    expect(settlementDateOf(d('2024-03-11'), weekendsOnly)).toBe('2024-03-12'); // Monday -> Tuesday
    expect(settlementDateOf(d('2024-03-15'), weekendsOnly)).toBe('2024-03-18'); // Friday -> Monday
    expect(settlementDateOf(d('2024-03-16'), weekendsOnly)).toBe('2024-03-18'); // Saturday -> Monday
    expect(settlementDateOf(d('2024-03-17'), weekendsOnly)).toBe('2024-03-18'); // Sunday -> Monday
  });

  it('crosses month ends, year ends and leap days', () => {
    expect(settlementDateOf(d('2024-02-28'), weekendsOnly)).toBe('2024-02-29');
    expect(settlementDateOf(d('2024-02-29'), weekendsOnly)).toBe('2024-03-01');
    expect(settlementDateOf(d('2024-12-31'), { holidays: dates('2025-01-01'), weekendsAreHolidays: true })).toBe('2025-01-02');
  });

  it('skips public holidays and honours make-up working days', () => {
    expect(settlementDateOf(d('2024-09-28'), china2024)).toBe('2024-09-29'); // Saturday -> make-up Sunday
    expect(settlementDateOf(d('2024-09-30'), china2024)).toBe('2024-10-08');
    expect(settlementDateOf(d('2024-10-11'), china2024)).toBe('2024-10-12'); // Friday -> make-up Saturday
    expect(settlementDateOf(d('2024-10-12'), china2024)).toBe('2024-10-14');
  });

  it('lets holidays win over make-up working days', () => {
    const conflicting: SettlementCalendar = { holidays: dates('2024-03-16'), weekendsAreHolidays: true, makeUpWorkingDays: dates('2024-03-16') };
    expect(settlementDateOf(d('2024-03-15'), conflicting)).toBe('2024-03-18');
  });

  it('counts weekends as working days when told to', () => {
    const everyDay: SettlementCalendar = { holidays: dates('2024-03-17'), weekendsAreHolidays: false };
    expect(settlementDateOf(d('2024-03-15'), everyDay)).toBe('2024-03-16');
    expect(settlementDateOf(d('2024-03-16'), everyDay)).toBe('2024-03-18');
  });

  it('supports T+0 and T+N', () => {
    expect(settlementDateOf(d('2024-03-15'), weekendsOnly, 0)).toBe('2024-03-15');
    expect(settlementDateOf(d('2024-03-16'), weekendsOnly, 0)).toBe('2024-03-18');
    expect(settlementDateOf(d('2024-03-14'), weekendsOnly, 2)).toBe('2024-03-18');
    expect(settlementDateOf(d('2024-09-27'), china2024, 3)).toBe('2024-10-08'); // Fri -> Sun 29 (make-up), Mon 30, Tue Oct 8
  });

  it.each([-1, 1.5, NaN, 367])('refuses offset %p', (tPlus) => {
    expect(() => settlementDateOf(d('2024-03-15'), weekendsOnly, tPlus)).toThrow(expect.objectContaining({ code: 'INVALID_SETTLEMENT_OFFSET' }));
  });

  it('refuses a forged clearing date', () => {
    expect(() => settlementDateOf('2024-02-30' as BusinessDate, { holidays: new Set(), weekendsAreHolidays: false })).toThrow(CalendarError);
  });

  it('lands on a working day strictly after the clearing date, skipping exactly the non-working days', () => {
    const calendarArb = fc.record({
      holidays: fc.uniqueArray(fc.integer({ min: 0, max: 60 }), { maxLength: 20 }),
      weekendsAreHolidays: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.date({ min: new Date('2000-01-01T00:00:00+08:00'), max: new Date('2100-01-01T00:00:00+08:00'), noInvalidDate: true }), calendarArb, fc.integer({ min: 1, max: 10 }), (instant, cal, tPlus) => {
        const clearing = businessDateOf(instant);
        const calendar: SettlementCalendar = { holidays: new Set(cal.holidays.map((n) => addDays(clearing, n))), weekendsAreHolidays: cal.weekendsAreHolidays };
        const isWorking = (date: BusinessDate): boolean => {
          const weekday = new Date(`${date}T00:00:00Z`).getUTCDay();
          return !calendar.holidays.has(date) && !(calendar.weekendsAreHolidays && (weekday === 0 || weekday === 6));
        };
        const settlement = settlementDateOf(clearing, calendar, tPlus);
        expect(settlement > clearing).toBe(true);
        expect(isWorking(settlement)).toBe(true);
        let workingDays = 0;
        for (let date = addDays(clearing, 1); date <= settlement; date = addDays(date, 1)) {
          if (isWorking(date)) workingDays += 1;
        }
        expect(workingDays).toBe(tPlus);
      }),
    );
  });
});
