import { BUSINESS_ZONE_OFFSET_MS, instantAt, millisOf, MS_PER_DAY, zonedMillisOf } from './business-zone';
import { CalendarError } from './calendar-error';
import { formatTimeOfDay, millisSinceMidnight, parseTimeOfDay, TimeOfDay } from './time-of-day';

/**
 * When batches cut off. `daily` is production (a day-cut at a wall-clock time in Asia/Shanghai);
 * `every` exists so tests and demos can watch many cutoffs pass in seconds. `every` windows are
 * aligned to the Unix epoch, so every service instance computes the same windows without talking
 * to the others.
 */
export type CutoffSchedule =
  | { readonly kind: 'daily'; readonly at: TimeOfDay }
  | { readonly kind: 'every'; readonly periodSeconds: number };

/** Half-open: an instant exactly at a cutoff already belongs to the next window. */
export interface CutoffWindow {
  readonly opensAt: Date;
  readonly closesAt: Date;
}

/** A longer period is no cutoff any channel has; whole days are what `daily` is for. */
const MAX_PERIOD_SECONDS = 24 * 60 * 60;
const SECONDS_PER_UNIT = { h: 3600, m: 60, s: 1 } as const;
const SCHEDULE_PATTERN = /^([a-z]+)([@:])(.*)$/;
const PERIOD_PATTERN = /^(0|[1-9][0-9]*)([hms])$/;

/** `daily@HH:MM[:SS]` or `every:<N>s|m|h`; the syntax is documented in the library's README. */
export function parseCutoffSchedule(text: string): CutoffSchedule {
  const match = SCHEDULE_PATTERN.exec(text);
  if (match === null) {
    throw new CalendarError('INVALID_SCHEDULE', `cutoff schedule must be daily@HH:MM[:SS] or every:<N>s|m|h, got ${JSON.stringify(text)}`);
  }
  const [, kind, separator, rest] = match;
  if (kind === 'daily') {
    if (separator !== '@') {
      throw new CalendarError('INVALID_SCHEDULE', `daily schedules are written daily@HH:MM[:SS], got ${JSON.stringify(text)}`);
    }
    return { kind: 'daily', at: parseTimeOfDay(rest) };
  }
  if (kind === 'every') {
    const period = separator === ':' ? PERIOD_PATTERN.exec(rest) : null;
    if (period === null) {
      throw new CalendarError('INVALID_SCHEDULE', `periodic schedules are written every:<N>s, every:<N>m or every:<N>h, got ${JSON.stringify(text)}`);
    }
    const schedule: CutoffSchedule = { kind: 'every', periodSeconds: Number(period[1]) * SECONDS_PER_UNIT[period[2] as keyof typeof SECONDS_PER_UNIT] };
    periodMillisOf(schedule);
    return schedule;
  }
  throw new CalendarError('UNKNOWN_SCHEDULE_KIND', `unknown cutoff schedule kind ${JSON.stringify(kind)}; expected daily or every`);
}

/** The canonical text of a schedule, e.g. for logging the effective configuration; parses back to it. */
export function formatCutoffSchedule(schedule: CutoffSchedule): string {
  if (schedule.kind === 'daily') {
    return `daily@${formatTimeOfDay(schedule.at)}`;
  }
  const seconds = periodMillisOf(schedule) / 1000;
  const unit = seconds % 3600 === 0 ? 'h' : seconds % 60 === 0 ? 'm' : 's';
  return `every:${seconds / SECONDS_PER_UNIT[unit]}${unit}`;
}

/** The latest cutoff at or before the instant: when the window holding the instant opened. */
export function previousCutoffAtOrBefore(schedule: CutoffSchedule, instant: Date): Date {
  const { periodMs, phaseMs, ms } = gridOf(schedule, instant);
  return instantAt(ms - positiveModulo(ms - phaseMs, periodMs));
}

/** The first cutoff strictly after the instant: when the window holding the instant closes. */
export function nextCutoffAfter(schedule: CutoffSchedule, instant: Date): Date {
  return cutoffWindowOf(schedule, instant).closesAt;
}

/** The window [previous cutoff, next cutoff) an instant falls in, e.g. the batch of a payment by its success time. */
export function cutoffWindowOf(schedule: CutoffSchedule, instant: Date): CutoffWindow {
  const opensAt = previousCutoffAtOrBefore(schedule, instant);
  return { opensAt, closesAt: instantAt(opensAt.getTime() + periodMillisOf(schedule)) };
}

/**
 * Cutoffs are the points phase + k * period, which holds for `daily` only because the business zone
 * has a fixed offset and no DST: every business day is exactly 24 h long.
 */
function gridOf(schedule: CutoffSchedule, instant: Date): { periodMs: number; phaseMs: number; ms: number } {
  const periodMs = periodMillisOf(schedule);
  if (schedule.kind === 'daily') {
    return { periodMs, phaseMs: millisSinceMidnight(schedule.at) - BUSINESS_ZONE_OFFSET_MS, ms: zonedMillisOf(instant) };
  }
  // Epoch-aligned windows do not depend on the zone, so any instant is fine.
  return { periodMs, phaseMs: 0, ms: millisOf(instant) };
}

/** Validated here, at every use, because a schedule may be built as a literal rather than parsed. */
function periodMillisOf(schedule: CutoffSchedule): number {
  if (schedule.kind === 'daily') {
    return MS_PER_DAY;
  }
  const seconds = schedule.periodSeconds;
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_PERIOD_SECONDS) {
    throw new CalendarError('INVALID_SCHEDULE_PERIOD', `cutoff period must be a whole number of seconds from 1 to ${MAX_PERIOD_SECONDS}, got ${seconds}`);
  }
  return seconds * 1000;
}

/** `%` keeps the dividend's sign; instants before the epoch or the phase need the floor remainder. */
function positiveModulo(value: number, divisor: number): number {
  return ((value % divisor) + divisor) % divisor;
}
