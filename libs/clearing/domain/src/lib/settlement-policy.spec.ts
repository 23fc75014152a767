import fc from 'fast-check';
import { addDays, BusinessDate, parseBusinessDate } from '@pos/business-calendar';
import { isDueForSettlement, settlementDateFor, settlementPolicyFrom } from './settlement-policy';

const policy = (holidays = '', weekendsAreHolidays = true, tPlusDays = 1, makeUpWorkingDays = '') =>
  settlementPolicyFrom({ holidays, weekendsAreHolidays, makeUpWorkingDays, tPlusDays });

describe('settlement policy', () => {
  it('settles T+1 working day, skipping weekends and configured holidays', () => {
    expect(settlementDateFor(parseBusinessDate('2026-11-26'), policy())).toBe('2026-11-27'); // Thu -> Fri
    expect(settlementDateFor(parseBusinessDate('2026-11-27'), policy())).toBe('2026-11-30'); // Fri -> Mon
    expect(settlementDateFor(parseBusinessDate('2026-09-30'), policy('2026-10-01,2026-10-02, 2026-10-05'))).toBe('2026-10-06');
    expect(settlementDateFor(parseBusinessDate('2026-10-09'), policy('', true, 1, '2026-10-10'))).toBe('2026-10-10');
  });

  it('refuses a holiday list with a date that does not exist', () => {
    expect(() => policy('2026-02-30')).toThrow(/no such calendar date/);
  });

  it('is due from 00:00 Asia/Shanghai of the settlement date, not before', () => {
    const date = parseBusinessDate('2026-11-27');
    expect(isDueForSettlement(date, new Date('2026-11-26T15:59:59.999Z'))).toBe(false);
    expect(isDueForSettlement(date, new Date('2026-11-26T16:00:00.000Z'))).toBe(true);
  });

  it('always settles after the clearing date on a working day (T+1)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20_000 }), fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 5 }), (day, holidayOffsets) => {
        const clearing = addDays(parseBusinessDate('2000-01-01'), day);
        const holidays = holidayOffsets.map((o) => addDays(clearing, o));
        const settled: BusinessDate = settlementDateFor(clearing, policy(holidays.join(',')));
        expect(settled > clearing).toBe(true);
        expect(holidays).not.toContain(settled);
        const weekday = new Date(`${settled}T00:00:00Z`).getUTCDay();
        expect(weekday).not.toBe(0);
        expect(weekday).not.toBe(6);
      }),
    );
  });
});
