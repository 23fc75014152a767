import {
  BUSINESS_ZONE,
  BUSINESS_ZONE_OFFSET_MS,
  BUSINESS_ZONE_RFC3339_OFFSET,
  BusinessZone,
  FIRST_BUSINESS_YEAR,
  instantAt,
  LAST_BUSINESS_YEAR,
  MS_PER_DAY,
  zonedMillisOf,
} from './business-zone';
import { CalendarError } from './calendar-error';

declare const businessDateBrand: unique symbol;

/**
 * A calendar date in the business zone, 'YYYY-MM-DD'. A string, not a Date, so it can never be
 * mistaken for an instant; the brand carries the zone. Business dates sort correctly as strings.
 */
export type BusinessDate = string & { readonly [businessDateBrand]: BusinessZone };

const BUSINESS_DATE_PATTERN = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;

/** Days since 1970-01-01 of a valid business date; the one place a date's text is interpreted. */
export function epochDayOf(date: BusinessDate): number {
  return Date.UTC(...fieldsOf(date)) / MS_PER_DAY;
}

function fieldsOf(text: string): [year: number, monthIndex: number, day: number] {
  const match = BUSINESS_DATE_PATTERN.exec(text);
  if (match === null) {
    throw new CalendarError('INVALID_BUSINESS_DATE', `business date must be YYYY-MM-DD, got ${JSON.stringify(text)}`);
  }
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  // Date.UTC rolls 02-30 over into March; a round trip exposes dates that do not exist.
  const probe = new Date(Date.UTC(year, month - 1, day));
  if (month < 1 || month > 12 || probe.getUTCMonth() !== month - 1 || probe.getUTCDate() !== day) {
    throw new CalendarError('INVALID_BUSINESS_DATE', `no such calendar date: ${text}`);
  }
  if (year < FIRST_BUSINESS_YEAR) {
    throw new CalendarError('OUT_OF_RANGE', `business date ${text} is before ${FIRST_BUSINESS_YEAR}, when the fixed offset of ${BUSINESS_ZONE} did not yet hold`);
  }
  return [year, month - 1, day];
}

function businessDateAtEpochDay(epochDay: number): BusinessDate {
  const midnightUtc = instantAt(epochDay * MS_PER_DAY);
  const year = midnightUtc.getUTCFullYear();
  if (year < FIRST_BUSINESS_YEAR || year > LAST_BUSINESS_YEAR) {
    throw new CalendarError('OUT_OF_RANGE', `business date in year ${year} is outside ${FIRST_BUSINESS_YEAR}-${LAST_BUSINESS_YEAR}`);
  }
  return midnightUtc.toISOString().slice(0, 10) as BusinessDate;
}

/** Validates configuration or wire input such as a holiday list or a clearing date in an event. */
export function parseBusinessDate(text: string): BusinessDate {
  fieldsOf(text);
  return text as BusinessDate;
}

export function isBusinessDate(value: unknown): value is BusinessDate {
  if (typeof value !== 'string') return false;
  try {
    fieldsOf(value);
    return true;
  } catch {
    return false;
  }
}

/** The calendar date in Asia/Shanghai on which the instant falls (WeChat's bill day, Alipay's trade day). */
export function businessDateOf(instant: Date): BusinessDate {
  // Shifting by the offset turns UTC fields into Shanghai wall-clock fields.
  const shifted = new Date(zonedMillisOf(instant) + BUSINESS_ZONE_OFFSET_MS);
  return shifted.toISOString().slice(0, 10) as BusinessDate;
}

/** 00:00:00.000 Asia/Shanghai of the date, as an instant (16:00 UTC the day before). */
export function startOfBusinessDate(date: BusinessDate): Date {
  return new Date(epochDayOf(date) * MS_PER_DAY - BUSINESS_ZONE_OFFSET_MS);
}

export function addDays(date: BusinessDate, days: number): BusinessDate {
  if (!Number.isSafeInteger(days)) {
    throw new CalendarError('INVALID_DAY_COUNT', `day count must be an integer, got ${days}`);
  }
  return businessDateAtEpochDay(epochDayOf(date) + days);
}

/**
 * RFC 3339 with the explicit +08:00 offset, e.g. 2024-01-01T00:00:00.000+08:00: what merchants and
 * reconciliation files read, and still a single unambiguous instant for any parser.
 */
export function formatShanghai(instant: Date): string {
  const shifted = new Date(zonedMillisOf(instant) + BUSINESS_ZONE_OFFSET_MS);
  return shifted.toISOString().replace(/Z$/, BUSINESS_ZONE_RFC3339_OFFSET);
}
