import fc from 'fast-check';
import { CalendarError } from './calendar-error';
import { CutoffSchedule, cutoffWindowOf, CutoffWindow, nextCutoffAfter, parseCutoffSchedule } from './cutoff-schedule';
import { timeOfDay } from './time-of-day';
import {
  CutoffScheduleVersion,
  cutoffWindowIn,
  formatVersionedCutoffSchedule,
  nextCutoffAfterIn,
  parseVersionedCutoffSchedule,
  VersionedCutoffSchedule,
} from './versioned-cutoff-schedule';

const at = (text: string): Date => new Date(text);
const shanghai = (text: string) => at(`${text}+08:00`);

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    if (error instanceof CalendarError) return error.code;
    throw error;
  }
  return undefined;
}

function messageOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  return '';
}

const scheduleArb: fc.Arbitrary<CutoffSchedule> = fc.oneof(
  fc.record({ hour: fc.integer({ min: 0, max: 23 }), minute: fc.integer({ min: 0, max: 59 }), second: fc.integer({ min: 0, max: 59 }) }).map(
    ({ hour, minute, second }): CutoffSchedule => ({ kind: 'daily', at: timeOfDay(hour, minute, second) }),
  ),
  fc.oneof(fc.integer({ min: 1, max: 120 }), fc.integer({ min: 1, max: 86_400 })).map((periodSeconds): CutoffSchedule => ({ kind: 'every', periodSeconds })),
);

/**
 * A history of up to five versions: each later one takes effect 1 to 4 cutoffs of its predecessor
 * after the previous change (or after `start`), as an operator would schedule it.
 */
const versionsArb: fc.Arbitrary<VersionedCutoffSchedule> = fc
  .record({
    start: fc.date({ min: at('2000-01-01T00:00:00Z'), max: at('2100-01-01T00:00:00Z'), noInvalidDate: true }),
    first: scheduleArb,
    later: fc.array(fc.record({ schedule: scheduleArb, cutoffsLater: fc.integer({ min: 1, max: 4 }) }), { maxLength: 4 }),
  })
  .map(({ start, first, later }) => {
    const versions: CutoffScheduleVersion[] = [{ schedule: first }];
    let from = start;
    for (const { schedule, cutoffsLater } of later) {
      const previous = versions[versions.length - 1].schedule;
      for (let i = 0; i < cutoffsLater; i++) from = nextCutoffAfter(previous, from);
      versions.push({ effectiveFrom: from, schedule });
    }
    return versions;
  });

/** Instants near the changes, where windows are cut short or stretched, as well as anywhere in the range. */
const instantNear = (versions: VersionedCutoffSchedule): fc.Arbitrary<Date> => {
  const changes = versions.flatMap((v) => (v.effectiveFrom ? [v.effectiveFrom.getTime()] : []));
  const anywhere = fc.date({ min: at('1999-01-01T00:00:00Z'), max: at('2101-01-01T00:00:00Z'), noInvalidDate: true });
  if (changes.length === 0) return anywhere;
  const near = fc
    .tuple(fc.constantFrom(...changes), fc.oneof(fc.integer({ min: -2, max: 2 }), fc.integer({ min: -3 * 86_400_000, max: 3 * 86_400_000 })))
    .map(([change, offset]) => new Date(change + offset));
  return fc.oneof(near, anywhere);
};
const versionsAndInstant = versionsArb.chain((versions) => fc.tuple(fc.constant(versions), instantNear(versions)));

const windowText = (window: CutoffWindow) => `[${window.opensAt.toISOString()}, ${window.closesAt.toISOString()})`;

describe('parseVersionedCutoffSchedule', () => {
  it('reads one version exactly as parseCutoffSchedule does', () => {
    expect(parseVersionedCutoffSchedule('daily@23:00')).toEqual([{ schedule: parseCutoffSchedule('daily@23:00') }]);
    expect(parseVersionedCutoffSchedule('every:5s')).toEqual([{ schedule: { kind: 'every', periodSeconds: 5 } }]);
  });

  it('reads later versions with the instant they take effect from, in any offset', () => {
    expect(parseVersionedCutoffSchedule('daily@23:00; daily@23:30 from 2026-12-05T23:00:00+08:00;every:1h from 2026-12-10T15:30:00.000Z')).toEqual([
      { schedule: parseCutoffSchedule('daily@23:00') },
      { effectiveFrom: shanghai('2026-12-05T23:00:00'), schedule: parseCutoffSchedule('daily@23:30') },
      { effectiveFrom: shanghai('2026-12-10T23:30:00'), schedule: parseCutoffSchedule('every:1h') },
    ]);
  });

  it.each([
    ['', 'INVALID_SCHEDULE_VERSION'],
    ['daily@23:00;', 'INVALID_SCHEDULE_VERSION'],
    ['daily@23:00; daily@23:30 2026-12-05T23:00:00+08:00', 'INVALID_SCHEDULE_VERSION'],
    ['daily@23:00; daily@23:30 from  2026-12-05T23:00:00+08:00', 'INVALID_SCHEDULE_VERSION'],
    ['daily@23:00; daily@23:30 since 2026-12-05T23:00:00+08:00', 'INVALID_SCHEDULE_VERSION'],
    ['daily@23:00 from 2026-12-04T23:00:00+08:00', 'INVALID_SCHEDULE_VERSION'],
    ['daily@23:00; daily@23:30', 'INVALID_SCHEDULE_VERSION'],
    ['daily@23:00; daily@23:30 from 2026-12-05T23:00:00', 'INVALID_SCHEDULE_VERSION'],
    ['daily@23:00; daily@23:30 from 2026-12-05 23:00:00+08:00', 'INVALID_SCHEDULE_VERSION'],
    ['daily@23:00; daily@23:30 from 2026-12-05t23:00:00+08:00', 'INVALID_SCHEDULE_VERSION'],
    ['daily@23:00; daily@23:30 from 2026-02-30T23:00:00+08:00', 'INVALID_SCHEDULE_VERSION'],
    ['daily@23:00; daily@23:30 from 2026-12-05T24:00:00+08:00', 'INVALID_SCHEDULE_VERSION'],
    ['daily@23:00; daily@23:30 from 2026-12-05T23:00:60+08:00', 'INVALID_SCHEDULE_VERSION'],
    ['daily@23:00; daily@23:30 from 2026-12-05T23:00:00+08:60', 'INVALID_SCHEDULE_VERSION'],
    ['daily@23:00; daily@23:30 from 2026-12-05T23:00:00.0001+08:00', 'INVALID_SCHEDULE_VERSION'],
    ['daily@23:00; daily@23:30 from tomorrow', 'INVALID_SCHEDULE_VERSION'],
    ['daily@23:00; weekly@MON from 2026-12-05T23:00:00+08:00', 'UNKNOWN_SCHEDULE_KIND'],
    ['daily@23:00; every:0s from 2026-12-05T23:00:00+08:00', 'INVALID_SCHEDULE_PERIOD'],
    ['daily@23:00; daily@23:30 from 2026-12-05T23:00:00+08:00; daily@22:00 from 2026-12-04T23:30:00+08:00', 'SCHEDULE_VERSIONS_OUT_OF_ORDER'],
    ['daily@23:00; daily@23:30 from 2026-12-05T23:00:00+08:00; daily@22:00 from 2026-12-05T23:00:00+08:00', 'SCHEDULE_VERSIONS_OUT_OF_ORDER'],
    ['daily@23:00; daily@23:30 from 2026-12-05T22:00:00+08:00', 'SCHEDULE_VERSION_NOT_AT_CUTOFF'],
    ['daily@23:00; daily@23:30 from 2026-12-05T23:30:00+08:00', 'SCHEDULE_VERSION_NOT_AT_CUTOFF'],
    ['every:4s; every:6s from 2026-12-05T23:00:02+08:00', 'SCHEDULE_VERSION_NOT_AT_CUTOFF'],
  ])('refuses %p with %s', (text, code) => {
    expect(codeOf(() => parseVersionedCutoffSchedule(text))).toBe(code);
  });

  it('says where a change may take effect instead', () => {
    expect(messageOf(() => parseVersionedCutoffSchedule('daily@23:00; daily@23:30 from 2026-12-05T23:30:00+08:00'))).toBe(
      'cutoff schedule version 2 takes effect at 2026-12-05T23:30:00.000+08:00, which is no cutoff of daily@23:00:00 ' +
        '(the nearest are 2026-12-05T23:00:00.000+08:00 and 2026-12-06T23:00:00.000+08:00): a change takes effect at a cutoff of the schedule it replaces, so that no batch window is cut in two',
    );
  });
});

describe('formatVersionedCutoffSchedule', () => {
  it('writes the canonical text, instants in Asia/Shanghai', () => {
    expect(formatVersionedCutoffSchedule(parseVersionedCutoffSchedule('daily@23:00;daily@23:30 from 2026-12-05T15:00:00Z'))).toBe(
      'daily@23:00:00; daily@23:30:00 from 2026-12-05T23:00:00.000+08:00',
    );
    expect(formatVersionedCutoffSchedule(parseVersionedCutoffSchedule('every:60s'))).toBe('every:1m');
  });

  it('round-trips through parseVersionedCutoffSchedule', () => {
    fc.assert(
      fc.property(versionsArb, (versions) => {
        expect(parseVersionedCutoffSchedule(formatVersionedCutoffSchedule(versions))).toEqual(versions);
      }),
    );
  });
});

describe('a UnionPay day-cut moved from 23:00 to 23:30 on 5 December', () => {
  const moved = parseVersionedCutoffSchedule('daily@23:00; daily@23:30 from 2026-12-05T23:00:00+08:00');
  const window = (text: string) => windowText(cutoffWindowIn(moved, shanghai(text)));
  const expected = (opens: string, closes: string) => windowText({ opensAt: shanghai(opens), closesAt: shanghai(closes) });

  it('keeps the windows of the old schedule up to the change', () => {
    expect(window('2026-12-04T10:00:00')).toBe(expected('2026-12-03T23:00:00', '2026-12-04T23:00:00'));
    expect(window('2026-12-05T22:59:59.999')).toBe(expected('2026-12-04T23:00:00', '2026-12-05T23:00:00'));
  });

  it('opens a short window at the change, up to the new schedule’s first cutoff', () => {
    expect(window('2026-12-05T23:00:00')).toBe(expected('2026-12-05T23:00:00', '2026-12-05T23:30:00'));
    expect(window('2026-12-05T23:29:59.999')).toBe(expected('2026-12-05T23:00:00', '2026-12-05T23:30:00'));
    expect(nextCutoffAfterIn(moved, shanghai('2026-12-05T22:59:59.999'))).toEqual(shanghai('2026-12-05T23:00:00'));
  });

  it('follows the new schedule afterwards', () => {
    expect(window('2026-12-05T23:30:00')).toBe(expected('2026-12-05T23:30:00', '2026-12-06T23:30:00'));
    expect(window('2027-06-01T23:15:00')).toBe(expected('2027-05-31T23:30:00', '2027-06-01T23:30:00'));
  });

  it('stretches the first window when the cutoff moves earlier instead', () => {
    const earlier = parseVersionedCutoffSchedule('daily@23:00; daily@22:30 from 2026-12-05T23:00:00+08:00');
    expect(windowText(cutoffWindowIn(earlier, shanghai('2026-12-06T22:00:00')))).toBe(expected('2026-12-05T23:00:00', '2026-12-06T22:30:00'));
    expect(windowText(cutoffWindowIn(earlier, shanghai('2026-12-06T22:30:00')))).toBe(expected('2026-12-06T22:30:00', '2026-12-07T22:30:00'));
  });
});

describe('cutoffWindowIn with literal versions', () => {
  it('validates them as the parser does', () => {
    const daily = parseCutoffSchedule('daily@23:00');
    expect(codeOf(() => cutoffWindowIn([], new Date()))).toBe('INVALID_SCHEDULE_VERSION');
    expect(codeOf(() => cutoffWindowIn([{ schedule: daily }, { schedule: daily }], new Date()))).toBe('INVALID_SCHEDULE_VERSION');
    expect(codeOf(() => cutoffWindowIn([{ schedule: daily }, { effectiveFrom: shanghai('2026-12-05T12:00:00'), schedule: daily }], new Date()))).toBe(
      'SCHEDULE_VERSION_NOT_AT_CUTOFF',
    );
    expect(codeOf(() => cutoffWindowIn([{ schedule: daily }, { effectiveFrom: new Date(Number.NaN), schedule: daily }], new Date()))).toBe('INVALID_INSTANT');
    expect(codeOf(() => cutoffWindowIn([{ schedule: daily }], new Date(Number.NaN)))).toBe('INVALID_INSTANT');
  });
});

describe('versioned cutoff windows (properties)', () => {
  it('contain their instant, and follow the version in force, cut only at the change', () => {
    fc.assert(
      fc.property(versionsAndInstant, ([versions, instant]) => {
        const window = cutoffWindowIn(versions, instant);
        expect(window.opensAt.getTime()).toBeLessThanOrEqual(instant.getTime());
        expect(instant.getTime()).toBeLessThan(window.closesAt.getTime());
        expect(nextCutoffAfterIn(versions, instant)).toEqual(window.closesAt);
        const inForce = versions.findLast((v) => v.effectiveFrom === undefined || v.effectiveFrom.getTime() <= instant.getTime()) ?? versions[0];
        const own = cutoffWindowOf(inForce.schedule, instant);
        expect(window.closesAt).toEqual(own.closesAt);
        expect(window.opensAt).toEqual(inForce.effectiveFrom && inForce.effectiveFrom > own.opensAt ? inForce.effectiveFrom : own.opensAt);
      }),
      { numRuns: 2000 },
    );
  });

  it('tile time across changes: each instant lies in exactly one window, the windows abut, none spans a change', () => {
    fc.assert(
      fc.property(versionsAndInstant, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), ([versions, instant], fraction) => {
        const window = cutoffWindowIn(versions, instant);
        const length = window.closesAt.getTime() - window.opensAt.getTime();
        const other = new Date(window.opensAt.getTime() + Math.floor(fraction * length));
        expect(windowText(cutoffWindowIn(versions, other))).toBe(windowText(window));
        expect(windowText(cutoffWindowIn(versions, window.opensAt))).toBe(windowText(window));
        expect(windowText(cutoffWindowIn(versions, new Date(window.closesAt.getTime() - 1)))).toBe(windowText(window));
        expect(cutoffWindowIn(versions, window.closesAt).opensAt).toEqual(window.closesAt);
        expect(cutoffWindowIn(versions, new Date(window.opensAt.getTime() - 1)).closesAt).toEqual(window.opensAt);
        for (const { effectiveFrom } of versions) {
          if (effectiveFrom) expect(effectiveFrom <= window.opensAt || effectiveFrom >= window.closesAt).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('chain without gaps from before the first change to after the last', () => {
    fc.assert(
      fc.property(versionsArb, (versions) => {
        const changes = versions.flatMap((v) => (v.effectiveFrom ? [v.effectiveFrom] : []));
        if (changes.length === 0) return;
        const last = changes[changes.length - 1];
        let window = cutoffWindowIn(versions, new Date(changes[0].getTime() - 1));
        const seenChanges = new Set<number>();
        // Up to 4 cutoffs per change separate the changes, so a bounded walk crosses them all.
        for (let step = 0; step < 6 * changes.length && window.closesAt <= last; step++) {
          const next = cutoffWindowIn(versions, window.closesAt);
          expect(next.opensAt).toEqual(window.closesAt);
          expect(next.closesAt.getTime()).toBeGreaterThan(next.opensAt.getTime());
          if (changes.some((c) => c.getTime() === next.opensAt.getTime())) seenChanges.add(next.opensAt.getTime());
          window = next;
        }
        expect(window.closesAt.getTime()).toBeGreaterThan(last.getTime());
        expect(seenChanges.size).toBe(changes.length);
      }),
      { numRuns: 500 },
    );
  });

  it('depend only on the versions’ text and the instant, in every instance', () => {
    fc.assert(
      fc.property(versionsAndInstant, ([versions, instant]) => {
        const elsewhere = parseVersionedCutoffSchedule(formatVersionedCutoffSchedule(versions));
        expect(cutoffWindowIn(elsewhere, new Date(instant.getTime()))).toEqual(cutoffWindowIn(versions, instant));
      }),
    );
  });

  it('equal the plain schedule’s windows for a single version', () => {
    fc.assert(
      fc.property(scheduleArb, fc.date({ min: at('1992-01-02T00:00:00+08:00'), max: at('2200-12-31T23:59:59.999+08:00'), noInvalidDate: true }), (schedule, instant) => {
        expect(cutoffWindowIn([{ schedule }], instant)).toEqual(cutoffWindowOf(schedule, instant));
      }),
    );
  });
});
