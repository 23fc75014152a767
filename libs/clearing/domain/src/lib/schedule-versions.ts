import {
  formatCutoffSchedule,
  formatShanghai,
  nextCutoffAfterIn,
  parseCutoffSchedule,
  VersionedCutoffSchedule,
} from '@pos/business-calendar';

/**
 * A cutoff schedule version as the clearing schema stores it: the canonical schedule text, and the
 * instant it is in force from (none for the first version, in force from the beginning). A
 * channel's versions are kept in order, by position 0, 1, 2, ...; a stored version is never changed.
 */
export interface ScheduleVersionRecord {
  readonly effectiveFrom?: Date;
  readonly schedule: string;
}

export function scheduleVersionRecords(versions: VersionedCutoffSchedule): ScheduleVersionRecord[] {
  return versions.map(({ effectiveFrom, schedule }) =>
    effectiveFrom === undefined ? { schedule: formatCutoffSchedule(schedule) } : { effectiveFrom, schedule: formatCutoffSchedule(schedule) },
  );
}

/** As the versioned setting writes it, e.g. `version 2, "every:6s from 2026-12-05T23:00:04.000+08:00"`. */
export function describeScheduleVersion(record: ScheduleVersionRecord, position: number): string {
  const text = record.effectiveFrom === undefined ? record.schedule : `${record.schedule} from ${formatShanghai(record.effectiveFrom)}`;
  return `version ${position + 1}, ${JSON.stringify(text)}`;
}

const sameVersion = (a: ScheduleVersionRecord, b: ScheduleVersionRecord): boolean =>
  a.schedule === b.schedule && a.effectiveFrom?.getTime() === b.effectiveFrom?.getTime();

/**
 * Whether an instance's configured versions are exactly the stored ones. Both are lists that can
 * only grow at the end, so they agree up to a position and no further; from the first instant at
 * which a version of one list and not of the other is in force, the instance cannot know which
 * window a payment is in, and must not assign it.
 */
export type ScheduleVersionsAgreement =
  | { readonly agreed: true }
  | {
      readonly agreed: false;
      /** The first position at which the lists differ. */
      readonly position: number;
      /** The stored version at that position, absent when the configuration has more versions than the schema. */
      readonly stored?: ScheduleVersionRecord;
      /** The configured version at that position, absent when the configuration lacks stored versions. */
      readonly configured?: ScheduleVersionRecord;
      /** Payments succeeding at or after this instant cannot be assigned; absent: none can. */
      readonly refusedFrom?: Date;
    };

export function scheduleVersionsAgreement(configured: readonly ScheduleVersionRecord[], stored: readonly ScheduleVersionRecord[]): ScheduleVersionsAgreement {
  let position = 0;
  while (position < configured.length && position < stored.length && sameVersion(configured[position], stored[position])) position++;
  if (position === configured.length && position === stored.length) return { agreed: true };
  const differing = [stored[position], configured[position]].filter((v): v is ScheduleVersionRecord => v !== undefined);
  const froms = differing.map((v) => v.effectiveFrom);
  const refusedFrom = froms.includes(undefined) ? undefined : new Date(Math.min(...froms.map((from) => (from as Date).getTime())));
  return {
    agreed: false,
    position,
    ...(stored[position] ? { stored: stored[position] } : {}),
    ...(configured[position] ? { configured: configured[position] } : {}),
    ...(refusedFrom ? { refusedFrom } : {}),
  };
}

/**
 * What an instance does with its configuration when it starts, given the stored versions and the
 * earliest instant a new version may take effect (now plus the notice every running instance
 * needs to see it, see the service's ScheduleVersions):
 * - `store`: the configuration extends the stored versions by versions that all take effect later
 *   than that (or the schema holds none yet, and the first version is stored as it is);
 * - `refuse-boot`: a configured version that is not stored would take effect too early, i.e. it
 *   would move a window that may already hold payments or be closed; `reason` says what to do;
 * - `run`: nothing to store; any disagreement left is enforced while running (see
 *   scheduleVersionsAgreement): the configuration lacks stored versions, or contradicts a stored
 *   version that is not yet in force.
 */
export type BootReconciliation =
  | { readonly kind: 'store'; readonly firstPosition: number; readonly versions: readonly ScheduleVersionRecord[] }
  | { readonly kind: 'refuse-boot'; readonly reason: string }
  | { readonly kind: 'run' };

export function reconcileAtBoot(
  configured: readonly ScheduleVersionRecord[],
  stored: readonly ScheduleVersionRecord[],
  earliestEffectiveFrom: Date,
): BootReconciliation {
  const agreement = scheduleVersionsAgreement(configured, stored);
  if (agreement.agreed || agreement.configured === undefined) return { kind: 'run' };
  const { position } = agreement;
  const unstored = agreement.stored === undefined ? configured.slice(position) : [agreement.configured];
  const tooEarly = unstored.findIndex(
    (version, index) => !(position + index === 0 && stored.length === 0) && !(version.effectiveFrom !== undefined && version.effectiveFrom > earliestEffectiveFrom),
  );
  if (tooEarly >= 0) return { kind: 'refuse-boot', reason: tooEarlyReason(unstored[tooEarly], position + tooEarly, stored, configured, earliestEffectiveFrom) };
  if (agreement.stored !== undefined) return { kind: 'run' };
  return { kind: 'store', firstPosition: position, versions: unstored };
}

function tooEarlyReason(
  version: ScheduleVersionRecord,
  position: number,
  stored: readonly ScheduleVersionRecord[],
  configured: readonly ScheduleVersionRecord[],
  earliest: Date,
): string {
  const inForce = stored.length > 0 ? stored : configured.slice(0, 1);
  const versions = inForce.map(({ effectiveFrom, schedule }) => ({ ...(effectiveFrom ? { effectiveFrom } : {}), schedule: parseCutoffSchedule(schedule) }));
  const last = inForce[inForce.length - 1];
  const after = last.effectiveFrom !== undefined && last.effectiveFrom > earliest ? last.effectiveFrom : earliest;
  const when = version.effectiveFrom === undefined ? 'in force from the beginning' : `taking effect at ${formatShanghai(version.effectiveFrom)}`;
  return (
    `${describeScheduleVersion(version, position)} of the configuration, ${when}, is not among the versions in force ` +
    `(${inForce.map(describeScheduleVersion).join('; ')}): a cutoff change must take effect at a future cutoff of the current schedule, ` +
    `later than ${formatShanghai(earliest)}, e.g. from ${formatShanghai(nextCutoffAfterIn(versions, after))}, and the versions in force stay in the configuration unchanged`
  );
}
