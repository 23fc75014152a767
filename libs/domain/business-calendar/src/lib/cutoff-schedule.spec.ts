import fc from 'fast-check';
import { CalendarError } from './calendar-error';
import { CutoffSchedule, cutoffWindowOf, formatCutoffSchedule, nextCutoffAfter, parseCutoffSchedule, previousCutoffAtOrBefore } from './cutoff-schedule';
import { timeOfDay } from './time-of-day';

const at = (text: string): Date => new Date(text);
const iso = (date: Date): string => date.toISOString();

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    if (error instanceof CalendarError) return error.code;
    throw error;
  }
  return undefined;
}

const unionPay = parseCutoffSchedule('daily@23:00');
const midnight = parseCutoffSchedule('daily@00:00');
const everyFiveSeconds = parseCutoffSchedule('every:5s');

const scheduleArb: fc.Arbitrary<CutoffSchedule> = fc.oneof(
  fc.record({ hour: fc.integer({ min: 0, max: 23 }), minute: fc.integer({ min: 0, max: 59 }), second: fc.integer({ min: 0, max: 59 }) }).map(
    ({ hour, minute, second }): CutoffSchedule => ({ kind: 'daily', at: timeOfDay(hour, minute, second) }),
  ),
  fc.oneof(fc.integer({ min: 1, max: 120 }), fc.integer({ min: 1, max: 86_400 })).map((periodSeconds): CutoffSchedule => ({ kind: 'every', periodSeconds })),
);
const zonedInstant = fc.date({ min: at('1992-01-02T00:00:00+08:00'), max: at('2200-12-31T23:59:59.999+08:00'), noInvalidDate: true });

describe('parseCutoffSchedule', () => {
  it.each([
    ['daily@23:00', { kind: 'daily', at: { hour: 23, minute: 0, second: 0 } }],
    ['daily@23:00:00', { kind: 'daily', at: { hour: 23, minute: 0, second: 0 } }],
    ['daily@00:00', { kind: 'daily', at: { hour: 0, minute: 0, second: 0 } }],
    ['every:5s', { kind: 'every', periodSeconds: 5 }],
    ['every:2m', { kind: 'every', periodSeconds: 120 }],
    ['every:1h', { kind: 'every', periodSeconds: 3600 }],
    ['every:24h', { kind: 'every', periodSeconds: 86_400 }],
    ['every:86400s', { kind: 'every', periodSeconds: 86_400 }],
  ])('parses %p', (text, expected) => {
    expect(parseCutoffSchedule(text)).toEqual(expected);
  });

  it.each([
    ['', 'INVALID_SCHEDULE'],
    ['23:00', 'INVALID_SCHEDULE'],
    ['DAILY@23:00', 'INVALID_SCHEDULE'],
    [' daily@23:00', 'INVALID_SCHEDULE'],
    ['daily:23:00', 'INVALID_SCHEDULE'],
    ['every@5s', 'INVALID_SCHEDULE'],
    ['every:5', 'INVALID_SCHEDULE'],
    ['every:5x', 'INVALID_SCHEDULE'],
    ['every:05s', 'INVALID_SCHEDULE'],
    ['every:1.5s', 'INVALID_SCHEDULE'],
    ['every:-5s', 'INVALID_SCHEDULE'],
    ['every:5s ', 'INVALID_SCHEDULE'],
    ['weekly@MON', 'UNKNOWN_SCHEDULE_KIND'],
    ['cron:0 23 * * *', 'UNKNOWN_SCHEDULE_KIND'],
    ['daily@24:00', 'INVALID_TIME_OF_DAY'],
    ['daily@23:00 ', 'INVALID_TIME_OF_DAY'],
    ['daily@', 'INVALID_TIME_OF_DAY'],
    ['every:0s', 'INVALID_SCHEDULE_PERIOD'],
    ['every:25h', 'INVALID_SCHEDULE_PERIOD'],
    ['every:86401s', 'INVALID_SCHEDULE_PERIOD'],
    ['every:99999999999999999999s', 'INVALID_SCHEDULE_PERIOD'],
  ])('refuses %p with %s', (text, code) => {
    expect(codeOf(() => parseCutoffSchedule(text))).toBe(code);
  });
});

describe('formatCutoffSchedule', () => {
  it.each([
    ['daily@23:00', 'daily@23:00:00'],
    ['every:5s', 'every:5s'],
    ['every:60s', 'every:1m'],
    ['every:90s', 'every:90s'],
    ['every:120m', 'every:2h'],
  ])('writes %p canonically as %p', (text, canonical) => {
    expect(formatCutoffSchedule(parseCutoffSchedule(text))).toBe(canonical);
  });

  it('round-trips through parseCutoffSchedule', () => {
    fc.assert(
      fc.property(scheduleArb, (schedule) => {
        expect(parseCutoffSchedule(formatCutoffSchedule(schedule))).toEqual(schedule);
      }),
    );
  });
});

describe('UnionPay day-cut, daily@23:00', () => {
  it('puts 22:59:59.999 in the window closing at 23:00 the same day', () => {
    const window = cutoffWindowOf(unionPay, at('2024-03-10T22:59:59.999+08:00'));
    expect(iso(window.opensAt)).toBe(iso(at('2024-03-09T23:00:00+08:00')));
    expect(iso(window.closesAt)).toBe(iso(at('2024-03-10T23:00:00+08:00')));
  });

  it('puts 23:00:00.000 exactly in the next window', () => {
    const cutoff = at('2024-03-10T23:00:00.000+08:00');
    const window = cutoffWindowOf(unionPay, cutoff);
    expect(iso(window.opensAt)).toBe(iso(cutoff));
    expect(iso(window.closesAt)).toBe(iso(at('2024-03-11T23:00:00+08:00')));
    expect(iso(previousCutoffAtOrBefore(unionPay, cutoff))).toBe(iso(cutoff));
    expect(iso(nextCutoffAfter(unionPay, cutoff))).toBe(iso(at('2024-03-11T23:00:00+08:00')));
  });

  it('crosses the year end', () => {
    expect(iso(nextCutoffAfter(unionPay, at('2023-12-31T23:30:00+08:00')))).toBe(iso(at('2024-01-01T23:00:00+08:00')));
    expect(iso(nextCutoffAfter(unionPay, at('2024-02-28T23:00:00+08:00')))).toBe(iso(at('2024-02-29T23:00:00+08:00')));
  });
});

describe('midnight cutoff, daily@00:00', () => {
  it('cuts at 00:00 Asia/Shanghai, i.e. 16:00 UTC', () => {
    expect(iso(nextCutoffAfter(midnight, at('2024-03-10T15:59:59.999Z')))).toBe('2024-03-10T16:00:00.000Z');
    expect(iso(nextCutoffAfter(midnight, at('2024-03-10T16:00:00.000Z')))).toBe('2024-03-11T16:00:00.000Z');
    expect(iso(previousCutoffAtOrBefore(midnight, at('2024-03-10T16:00:00.000Z')))).toBe('2024-03-10T16:00:00.000Z');
  });

  it('refuses instants where the fixed offset does not hold', () => {
    expect(codeOf(() => nextCutoffAfter(midnight, at('1990-07-01T00:00:00Z')))).toBe('OUT_OF_RANGE');
  });
});

describe('every:5s', () => {
  it('aligns windows to the Unix epoch, so instances agree without coordination', () => {
    const window = cutoffWindowOf(everyFiveSeconds, new Date(1_700_000_003_999));
    expect(window.opensAt.getTime()).toBe(1_700_000_000_000);
    expect(window.closesAt.getTime()).toBe(1_700_000_005_000);
  });

  it('puts an instant exactly at a cutoff in the next window', () => {
    const window = cutoffWindowOf(everyFiveSeconds, new Date(1_700_000_005_000));
    expect(window.opensAt.getTime()).toBe(1_700_000_005_000);
    expect(window.closesAt.getTime()).toBe(1_700_000_010_000);
    expect(nextCutoffAfter(everyFiveSeconds, new Date(1_700_000_004_999)).getTime()).toBe(1_700_000_005_000);
  });

  it('works at and before the epoch, where no zone is involved', () => {
    expect(cutoffWindowOf(everyFiveSeconds, new Date(0))).toEqual({ opensAt: new Date(0), closesAt: new Date(5000) });
    expect(cutoffWindowOf(everyFiveSeconds, new Date(-1))).toEqual({ opensAt: new Date(-5000), closesAt: new Date(0) });
  });

  it('refuses an Invalid Date and a literal schedule with a bad period', () => {
    expect(codeOf(() => nextCutoffAfter(everyFiveSeconds, new Date(Number.NaN)))).toBe('INVALID_INSTANT');
    expect(codeOf(() => nextCutoffAfter({ kind: 'every', periodSeconds: 0 }, new Date()))).toBe('INVALID_SCHEDULE_PERIOD');
    expect(codeOf(() => nextCutoffAfter({ kind: 'every', periodSeconds: 2.5 }, new Date()))).toBe('INVALID_SCHEDULE_PERIOD');
  });

  it('refuses a window beyond the range of a Date', () => {
    expect(codeOf(() => nextCutoffAfter(everyFiveSeconds, new Date(8.64e15)))).toBe('OUT_OF_RANGE');
  });
});

describe('cutoff windows (properties)', () => {
  it('contain their instant, half-open, and last exactly one period', () => {
    fc.assert(
      fc.property(scheduleArb, zonedInstant, (schedule, instant) => {
        const { opensAt, closesAt } = cutoffWindowOf(schedule, instant);
        const periodMs = schedule.kind === 'daily' ? 86_400_000 : schedule.periodSeconds * 1000;
        expect(opensAt.getTime()).toBeLessThanOrEqual(instant.getTime());
        expect(instant.getTime()).toBeLessThan(closesAt.getTime());
        expect(closesAt.getTime() - opensAt.getTime()).toBe(periodMs);
        expect(previousCutoffAtOrBefore(schedule, instant)).toEqual(opensAt);
        expect(nextCutoffAfter(schedule, instant)).toEqual(closesAt);
      }),
      { numRuns: 1000 },
    );
  });

  it('tile time: each instant lies in exactly one window, and the windows abut', () => {
    fc.assert(
      fc.property(scheduleArb, zonedInstant, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (schedule, instant, fraction) => {
        const window = cutoffWindowOf(schedule, instant);
        const length = window.closesAt.getTime() - window.opensAt.getTime();
        const other = new Date(window.opensAt.getTime() + Math.floor(fraction * length));
        // Every instant of the window maps to that same window, from its first to its last millisecond...
        expect(cutoffWindowOf(schedule, other)).toEqual(window);
        expect(cutoffWindowOf(schedule, window.opensAt)).toEqual(window);
        expect(cutoffWindowOf(schedule, new Date(window.closesAt.getTime() - 1))).toEqual(window);
        // ...and the neighbours start and end exactly at its bounds, so no instant is in two windows.
        expect(cutoffWindowOf(schedule, window.closesAt).opensAt).toEqual(window.closesAt);
        expect(cutoffWindowOf(schedule, new Date(window.opensAt.getTime() - 1)).closesAt).toEqual(window.opensAt);
      }),
      { numRuns: 1000 },
    );
  });

  it('agree across any schedule instance: the window depends only on schedule text and instant', () => {
    fc.assert(
      fc.property(scheduleArb, zonedInstant, (schedule, instant) => {
        const elsewhere = parseCutoffSchedule(formatCutoffSchedule(schedule));
        expect(cutoffWindowOf(elsewhere, new Date(instant.getTime()))).toEqual(cutoffWindowOf(schedule, instant));
      }),
    );
  });
});
