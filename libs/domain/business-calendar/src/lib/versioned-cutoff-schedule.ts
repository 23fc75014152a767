import { formatShanghai } from './business-date';
import { instantAt, millisOf } from './business-zone';
import { CalendarError } from './calendar-error';
import { CutoffSchedule, cutoffWindowOf, CutoffWindow, formatCutoffSchedule, nextCutoffAfter, parseCutoffSchedule, previousCutoffAtOrBefore } from './cutoff-schedule';

/** One schedule of a channel's history: in force from `effectiveFrom` (from the beginning of time when absent) until the next version's. */
export interface CutoffScheduleVersion {
  readonly effectiveFrom?: Date;
  readonly schedule: CutoffSchedule;
}

/**
 * A channel's cutoff schedules over time, oldest first, so a cutoff change is data with an instant
 * rather than a redeployment: every instance that holds the same versions computes the same
 * windows for any instant, before and after the change. Each later version starts at a cutoff of
 * the one before, so the windows of the versions tile time without overlap (see cutoffWindowIn).
 */
export type VersionedCutoffSchedule = readonly CutoffScheduleVersion[];

const VERSION_PATTERN = /^(\S+)(?: from (\S+))?$/;
const INSTANT_PATTERN = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,3}))?(?:(Z)|([+-])([0-9]{2}):([0-9]{2}))$/;

/**
 * `daily@23:00` (one version) or `daily@23:00; daily@23:30 from 2026-12-05T23:00:00+08:00` (each
 * later version with the RFC 3339 instant, offset included, from which it is in force); the syntax
 * and its rules are documented in the library's README.
 */
export function parseVersionedCutoffSchedule(text: string): VersionedCutoffSchedule {
  const versions = text.split(';').map((part, index): CutoffScheduleVersion => {
    const match = VERSION_PATTERN.exec(part.trim());
    if (match === null) {
      throw new CalendarError('INVALID_SCHEDULE_VERSION', `cutoff schedule version ${index + 1} must be <schedule> or <schedule> from <instant>, got ${JSON.stringify(part.trim())}`);
    }
    const schedule = parseCutoffSchedule(match[1]);
    return match[2] === undefined ? { schedule } : { effectiveFrom: parseVersionInstant(match[2], index), schedule };
  });
  checkVersions(versions);
  return versions;
}

/** The canonical text, e.g. for storing or logging the versions in force; parses back to the same versions. */
export function formatVersionedCutoffSchedule(versions: VersionedCutoffSchedule): string {
  checkVersions(versions);
  return versions
    .map(({ effectiveFrom, schedule }) => (effectiveFrom === undefined ? formatCutoffSchedule(schedule) : `${formatCutoffSchedule(schedule)} from ${formatShanghai(effectiveFrom)}`))
    .join('; ');
}

/**
 * The window an instant falls in under the version in force at that instant. The last window of a
 * version closes at the next version's effective instant (a cutoff of the older schedule); the
 * first window of a later version opens at its effective instant and closes at the new schedule's
 * first cutoff after it, which may make that one window shorter or longer than the period.
 */
export function cutoffWindowIn(versions: VersionedCutoffSchedule, instant: Date): CutoffWindow {
  checkVersions(versions);
  const ms = millisOf(instant);
  const inForce = versions.findLast((version) => version.effectiveFrom === undefined || version.effectiveFrom.getTime() <= ms) ?? versions[0];
  const window = cutoffWindowOf(inForce.schedule, instant);
  const startsLater = inForce.effectiveFrom !== undefined && inForce.effectiveFrom.getTime() > window.opensAt.getTime();
  return startsLater ? { opensAt: instantAt(inForce.effectiveFrom.getTime()), closesAt: window.closesAt } : window;
}

/** The first cutoff strictly after the instant, across version changes: when the window holding the instant closes. */
export function nextCutoffAfterIn(versions: VersionedCutoffSchedule, instant: Date): Date {
  return cutoffWindowIn(versions, instant).closesAt;
}

/** Validated at every use, like a schedule's period, because versions may be built as a literal rather than parsed. */
function checkVersions(versions: VersionedCutoffSchedule): void {
  if (versions.length === 0) {
    throw new CalendarError('INVALID_SCHEDULE_VERSION', 'a versioned cutoff schedule needs at least one version');
  }
  versions.forEach(({ effectiveFrom }, index) => {
    if (index === 0) {
      if (effectiveFrom !== undefined) {
        throw new CalendarError('INVALID_SCHEDULE_VERSION', `the first cutoff schedule version is in force from the beginning and takes no "from", got one from ${effectiveFrom.toISOString()}`);
      }
      return;
    }
    if (effectiveFrom === undefined) {
      throw new CalendarError('INVALID_SCHEDULE_VERSION', `cutoff schedule version ${index + 1} needs "from <instant>": only the first version is in force from the beginning`);
    }
    const from = millisOf(effectiveFrom);
    const previous = versions[index - 1];
    if (previous.effectiveFrom !== undefined && from <= previous.effectiveFrom.getTime()) {
      throw new CalendarError(
        'SCHEDULE_VERSIONS_OUT_OF_ORDER',
        `cutoff schedule version ${index + 1} takes effect at ${formatShanghai(effectiveFrom)}, not after version ${index} (${formatShanghai(previous.effectiveFrom)})`,
      );
    }
    const cutoffBefore = previousCutoffAtOrBefore(previous.schedule, effectiveFrom);
    if (cutoffBefore.getTime() !== from) {
      throw new CalendarError(
        'SCHEDULE_VERSION_NOT_AT_CUTOFF',
        `cutoff schedule version ${index + 1} takes effect at ${formatShanghai(effectiveFrom)}, which is no cutoff of ${formatCutoffSchedule(previous.schedule)} ` +
          `(the nearest are ${formatShanghai(cutoffBefore)} and ${formatShanghai(nextCutoffAfter(previous.schedule, effectiveFrom))}): ` +
          'a change takes effect at a cutoff of the schedule it replaces, so that no batch window is cut in two',
      );
    }
  });
}

/** RFC 3339 with an explicit offset and up to millisecond precision; a date that does not exist (02-30) is refused, not rolled over. */
function parseVersionInstant(text: string, index: number): Date {
  const refuse = (why: string) =>
    new CalendarError('INVALID_SCHEDULE_VERSION', `cutoff schedule version ${index + 1} takes effect "from" an RFC 3339 instant with offset, e.g. 2026-12-05T23:00:00+08:00; ${why}: ${JSON.stringify(text)}`);
  const match = INSTANT_PATTERN.exec(text);
  if (match === null) throw refuse('got');
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
  const millis = Number((match[7] ?? '').padEnd(3, '0'));
  const offsetMinutes = match[8] === 'Z' ? 0 : (match[9] === '-' ? -1 : 1) * (Number(match[10]) * 60 + Number(match[11]));
  const local = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  const probe = new Date(local);
  const exists = probe.getUTCFullYear() === year && probe.getUTCMonth() === month - 1 && probe.getUTCDate() === day;
  if (!exists || hour > 23 || minute > 59 || second > 59 || Number(match[10] ?? 0) > 23 || Number(match[11] ?? 0) > 59) {
    throw refuse('no such date, time or offset');
  }
  return instantAt(local - offsetMinutes * 60_000);
}
