import { CalendarError } from './calendar-error';

/** The zone every business date, day-cut and cutoff is reckoned in, named so no API leaves it implicit. */
export const BUSINESS_ZONE = 'Asia/Shanghai';
export type BusinessZone = typeof BUSINESS_ZONE;

/**
 * Asia/Shanghai is UTC+08:00 all year round: China has observed no daylight saving time since
 * September 1991. A fixed offset keeps this library free of a time-zone database and makes day
 * arithmetic exact; the tests compare it with Intl's zone data, so a change of rule would show.
 */
export const BUSINESS_ZONE_OFFSET_MS = 8 * 60 * 60 * 1000;
export const BUSINESS_ZONE_RFC3339_OFFSET = '+08:00';

/** Fixed offset and no DST mean every business day is exactly this long. */
export const MS_PER_DAY = 24 * 60 * 60 * 1000;

/**
 * The fixed offset is wrong before the last DST period ended (1991-09-15); 1992 is a round margin.
 * The upper bound is what a four-digit 'YYYY' can name.
 */
export const FIRST_BUSINESS_YEAR = 1992;
export const LAST_BUSINESS_YEAR = 9999;
const FIRST_ZONED_MS = Date.UTC(FIRST_BUSINESS_YEAR, 0, 1) - BUSINESS_ZONE_OFFSET_MS;
const END_ZONED_MS = Date.UTC(LAST_BUSINESS_YEAR + 1, 0, 1) - BUSINESS_ZONE_OFFSET_MS;

/** ECMAScript's own limit on a Date's time value. */
const MAX_TIME_VALUE_MS = 8.64e15;

/** Milliseconds of a real instant; an Invalid Date would otherwise turn every result into NaN silently. */
export function millisOf(instant: Date): number {
  const ms = instant instanceof Date ? instant.getTime() : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new CalendarError('INVALID_INSTANT', `not a valid instant: ${String(instant)}`);
  }
  return ms;
}

/** Milliseconds of an instant that wall-clock reasoning in the business zone may be applied to. */
export function zonedMillisOf(instant: Date): number {
  const ms = millisOf(instant);
  if (ms < FIRST_ZONED_MS || ms >= END_ZONED_MS) {
    throw new CalendarError(
      'OUT_OF_RANGE',
      `${instant.toISOString()} is outside ${FIRST_BUSINESS_YEAR}-${LAST_BUSINESS_YEAR} in ${BUSINESS_ZONE}, where its fixed offset holds`,
    );
  }
  return ms;
}

export function instantAt(ms: number): Date {
  if (Math.abs(ms) > MAX_TIME_VALUE_MS) {
    throw new CalendarError('OUT_OF_RANGE', `${ms} ms since the epoch is beyond the range of a Date`);
  }
  return new Date(ms);
}
