import { BusinessZone } from './business-zone';
import { CalendarError } from './calendar-error';

declare const timeOfDayBrand: unique symbol;

/** A wall-clock time in the business zone; only obtainable validated, through timeOfDay or parseTimeOfDay. */
export type TimeOfDay = {
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
} & { readonly [timeOfDayBrand]: BusinessZone };

const TIME_OF_DAY_PATTERN = /^([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?$/;

/** 24:00 is not accepted: the end of a day is 00:00 of the next, which keeps every time of day unique. */
export function timeOfDay(hour: number, minute: number, second = 0): TimeOfDay {
  const inRange = (value: number, max: number): boolean => Number.isInteger(value) && value >= 0 && value <= max;
  if (!inRange(hour, 23) || !inRange(minute, 59) || !inRange(second, 59)) {
    throw new CalendarError('INVALID_TIME_OF_DAY', `not a time of day: ${hour}:${minute}:${second}`);
  }
  return Object.freeze({ hour, minute, second }) as TimeOfDay;
}

/** 'HH:MM' or 'HH:MM:SS', 24-hour, two digits each. */
export function parseTimeOfDay(text: string): TimeOfDay {
  const match = TIME_OF_DAY_PATTERN.exec(text);
  if (match === null) {
    throw new CalendarError('INVALID_TIME_OF_DAY', `time of day must be HH:MM or HH:MM:SS, got ${JSON.stringify(text)}`);
  }
  return timeOfDay(Number(match[1]), Number(match[2]), Number(match[3] ?? '0'));
}

export function millisSinceMidnight(time: TimeOfDay): number {
  return ((time.hour * 60 + time.minute) * 60 + time.second) * 1000;
}

export function formatTimeOfDay(time: TimeOfDay): string {
  return [time.hour, time.minute, time.second].map((part) => String(part).padStart(2, '0')).join(':');
}
