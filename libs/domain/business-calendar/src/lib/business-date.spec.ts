import fc from 'fast-check';
import { addDays, BusinessDate, businessDateOf, formatShanghai, isBusinessDate, parseBusinessDate, startOfBusinessDate } from './business-date';
import { BUSINESS_ZONE } from './business-zone';
import { CalendarError } from './calendar-error';

const d = (text: string): BusinessDate => parseBusinessDate(text);
const at = (text: string): Date => new Date(text);

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    if (error instanceof CalendarError) return error.code;
    throw error;
  }
  return undefined;
}

/** Instants where Asia/Shanghai is known to be a fixed UTC+8 (and a bit beyond the years this system will see). */
const zonedInstant = fc.date({ min: at('1992-01-01T00:00:00+08:00'), max: at('2200-12-31T23:59:59.999+08:00'), noInvalidDate: true });
/** Away from the lower bound, so that day arithmetic in a property never steps out of range. */
const modernInstant = fc.date({ min: at('2000-01-01T00:00:00+08:00'), max: at('2200-12-31T23:59:59.999+08:00'), noInvalidDate: true });
const businessDate = modernInstant.map(businessDateOf);

const intlDate = new Intl.DateTimeFormat('en-CA', { timeZone: BUSINESS_ZONE, year: 'numeric', month: '2-digit', day: '2-digit' });
const intlTime = new Intl.DateTimeFormat('en-CA', { timeZone: BUSINESS_ZONE, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });

describe('parseBusinessDate / isBusinessDate', () => {
  it.each(['2024-01-01', '2024-02-29', '2000-02-29', '1992-01-01', '9999-12-31'])('accepts %p', (text) => {
    expect(parseBusinessDate(text)).toBe(text);
    expect(isBusinessDate(text)).toBe(true);
  });

  it.each(['2023-02-29', '2100-02-29', '2024-04-31', '2024-13-01', '2024-00-10', '2024-01-00', '2024-1-01', '20240101', '2024-01-01T00:00', ' 2024-01-01', '', '２０２４-01-01'])(
    'refuses %p as INVALID_BUSINESS_DATE',
    (text) => {
      expect(codeOf(() => parseBusinessDate(text))).toBe('INVALID_BUSINESS_DATE');
      expect(isBusinessDate(text)).toBe(false);
    },
  );

  it('refuses dates before the fixed offset held as OUT_OF_RANGE', () => {
    expect(codeOf(() => parseBusinessDate('1991-12-31'))).toBe('OUT_OF_RANGE');
  });

  it('refuses non-strings', () => {
    expect(isBusinessDate(new Date())).toBe(false);
    expect(isBusinessDate(20240101)).toBe(false);
    expect(isBusinessDate(null)).toBe(false);
  });
});

describe('businessDateOf', () => {
  it('turns over at 00:00 Asia/Shanghai, which is 16:00 UTC the day before', () => {
    expect(businessDateOf(at('2024-03-10T15:59:59.999Z'))).toBe('2024-03-10');
    expect(businessDateOf(at('2024-03-10T16:00:00.000Z'))).toBe('2024-03-11');
    expect(businessDateOf(at('2024-03-10T23:59:59.999+08:00'))).toBe('2024-03-10');
    expect(businessDateOf(at('2024-03-11T00:00:00.000+08:00'))).toBe('2024-03-11');
  });

  it('handles year ends and leap days', () => {
    expect(businessDateOf(at('2023-12-31T15:59:59.999Z'))).toBe('2023-12-31');
    expect(businessDateOf(at('2023-12-31T16:00:00.000Z'))).toBe('2024-01-01');
    expect(businessDateOf(at('2024-02-28T16:00:00.000Z'))).toBe('2024-02-29');
    expect(businessDateOf(at('2024-02-29T16:00:00.000Z'))).toBe('2024-03-01');
    expect(businessDateOf(at('2023-02-28T16:00:00.000Z'))).toBe('2023-03-01');
  });

  it('refuses an Invalid Date instead of returning garbage', () => {
    expect(codeOf(() => businessDateOf(new Date('not a date')))).toBe('INVALID_INSTANT');
  });

  it('refuses instants before 1992, when China still had DST', () => {
    expect(codeOf(() => businessDateOf(at('1991-12-31T15:59:59.999Z')))).toBe('OUT_OF_RANGE');
    expect(businessDateOf(at('1991-12-31T16:00:00.000Z'))).toBe('1992-01-01');
    // Why the range: in the summer of 1990 Shanghai was at UTC+9, so the fixed offset would be an hour off.
    expect(intlTime.format(at('1990-07-01T15:30:00Z'))).toBe('00:30:00');
  });

  it('agrees with Intl time-zone data for Asia/Shanghai (guards the fixed-offset assumption)', () => {
    fc.assert(
      fc.property(zonedInstant, (instant) => {
        expect(businessDateOf(instant)).toBe(intlDate.format(instant));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('startOfBusinessDate', () => {
  it('is 00:00 Asia/Shanghai, 16:00 UTC on the previous day', () => {
    expect(startOfBusinessDate(d('2024-01-01')).toISOString()).toBe('2023-12-31T16:00:00.000Z');
    expect(startOfBusinessDate(d('2024-03-01')).toISOString()).toBe('2024-02-29T16:00:00.000Z');
  });

  it('is the first instant of the date', () => {
    fc.assert(
      fc.property(modernInstant, (instant) => {
        const date = businessDateOf(instant);
        const start = startOfBusinessDate(date);
        expect(businessDateOf(start)).toBe(date);
        expect(businessDateOf(new Date(start.getTime() - 1))).toBe(addDays(date, -1));
        expect(start.getTime()).toBeLessThanOrEqual(instant.getTime());
        expect(instant.getTime()).toBeLessThan(startOfBusinessDate(addDays(date, 1)).getTime());
      }),
    );
  });
});

describe('addDays', () => {
  it('crosses month ends, year ends and leap days', () => {
    expect(addDays(d('2024-02-28'), 1)).toBe('2024-02-29');
    expect(addDays(d('2024-02-29'), 1)).toBe('2024-03-01');
    expect(addDays(d('2023-02-28'), 1)).toBe('2023-03-01');
    expect(addDays(d('2023-12-31'), 1)).toBe('2024-01-01');
    expect(addDays(d('2024-01-01'), -1)).toBe('2023-12-31');
    expect(addDays(d('2024-03-10'), 0)).toBe('2024-03-10');
    expect(addDays(d('2024-01-01'), 366)).toBe('2025-01-01');
  });

  it('refuses fractional day counts and results outside the supported years', () => {
    expect(codeOf(() => addDays(d('2024-01-01'), 0.5))).toBe('INVALID_DAY_COUNT');
    expect(codeOf(() => addDays(d('2024-01-01'), NaN))).toBe('INVALID_DAY_COUNT');
    expect(codeOf(() => addDays(d('1992-01-01'), -1))).toBe('OUT_OF_RANGE');
    expect(codeOf(() => addDays(d('9999-12-31'), 1))).toBe('OUT_OF_RANGE');
    expect(codeOf(() => addDays(d('2024-01-01'), Number.MAX_SAFE_INTEGER))).toBe('OUT_OF_RANGE');
  });

  it('refuses a forged business date', () => {
    expect(codeOf(() => addDays('2024-02-30' as BusinessDate, 1))).toBe('INVALID_BUSINESS_DATE');
  });

  it('composes and moves by whole days in the business zone', () => {
    fc.assert(
      fc.property(businessDate, fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: -1000, max: 1000 }), (date, a, b) => {
        expect(addDays(addDays(date, a), b)).toBe(addDays(date, a + b));
        expect(startOfBusinessDate(addDays(date, a)).getTime() - startOfBusinessDate(date).getTime()).toBe(a * 86_400_000);
      }),
    );
  });
});

describe('formatShanghai', () => {
  it('writes RFC 3339 with the +08:00 offset', () => {
    expect(formatShanghai(at('2023-12-31T16:00:00.000Z'))).toBe('2024-01-01T00:00:00.000+08:00');
    expect(formatShanghai(at('2024-03-10T14:59:59.999Z'))).toBe('2024-03-10T22:59:59.999+08:00');
  });

  it('names the same instant, and agrees with Intl on the wall-clock time', () => {
    fc.assert(
      fc.property(zonedInstant, (instant) => {
        const text = formatShanghai(instant);
        expect(text).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+08:00$/);
        expect(new Date(text).getTime()).toBe(instant.getTime());
        expect(text.slice(0, 10)).toBe(businessDateOf(instant));
        expect(text.slice(11, 19)).toBe(intlTime.format(instant));
      }),
    );
  });
});
