import fc from 'fast-check';
import { parseVersionedCutoffSchedule } from '@pos/business-calendar';
import { reconcileAtBoot, ScheduleVersionRecord, scheduleVersionRecords, scheduleVersionsAgreement } from './schedule-versions';

const records = (text: string): ScheduleVersionRecord[] => scheduleVersionRecords(parseVersionedCutoffSchedule(text));
const at = (text: string) => new Date(text);

const before = 'daily@23:00';
const moved = 'daily@23:00; daily@23:30 from 2026-12-05T23:00:00+08:00';
const movedAgain = `${moved}; daily@22:00 from 2026-12-08T23:30:00+08:00`;
const movedOtherwise = 'daily@23:00; daily@23:15 from 2026-12-04T23:00:00+08:00';
const earlyOn = at('2026-12-01T12:00:00+08:00');

describe('scheduleVersionsAgreement', () => {
  it('agrees when the configuration holds exactly the stored versions, written any way', () => {
    expect(scheduleVersionsAgreement(records(moved), records('daily@23:00:00;daily@23:30:00 from 2026-12-05T15:00:00.000Z'))).toEqual({ agreed: true });
  });

  it('refuses payments from a stored version the configuration lacks', () => {
    expect(scheduleVersionsAgreement(records(before), records(moved))).toEqual({
      agreed: false,
      position: 1,
      stored: { effectiveFrom: at('2026-12-05T23:00:00+08:00'), schedule: 'daily@23:30:00' },
      refusedFrom: at('2026-12-05T23:00:00+08:00'),
    });
  });

  it('refuses payments from a configured version that is not stored, as no other instance follows it', () => {
    expect(scheduleVersionsAgreement(records(movedAgain), records(moved))).toMatchObject({ agreed: false, position: 2, refusedFrom: at('2026-12-08T23:30:00+08:00') });
  });

  it('refuses payments from the earlier of two contradicting versions', () => {
    expect(scheduleVersionsAgreement(records(moved), records(movedOtherwise))).toMatchObject({ agreed: false, position: 1, refusedFrom: at('2026-12-04T23:00:00+08:00') });
    expect(scheduleVersionsAgreement(records(movedOtherwise), records(moved))).toMatchObject({ agreed: false, position: 1, refusedFrom: at('2026-12-04T23:00:00+08:00') });
  });

  it('refuses every payment when the first versions differ', () => {
    const agreement = scheduleVersionsAgreement(records('daily@23:30'), records(before));
    expect(agreement).toMatchObject({ agreed: false, position: 0 });
    expect(agreement.agreed === false && agreement.refusedFrom).toBeUndefined();
  });

  it('never lets an instance assign past a version it does not share (property)', () => {
    const histories = [before, moved, movedAgain, movedOtherwise, 'daily@23:30', `${movedOtherwise}; every:1h from 2026-12-09T23:15:00+08:00`];
    fc.assert(
      fc.property(fc.constantFrom(...histories), fc.constantFrom(...histories), (configuredText, storedText) => {
        const configured = records(configuredText);
        const stored = records(storedText);
        const agreement = scheduleVersionsAgreement(configured, stored);
        expect(agreement.agreed).toBe(configuredText === storedText);
        if (agreement.agreed) return;
        // Before refusedFrom both lists have the same version in force; from it on they may not.
        const inForce = (list: ScheduleVersionRecord[], instant: Date) => list.findLast((v) => !v.effectiveFrom || v.effectiveFrom <= instant);
        const changes = [...configured, ...stored].flatMap((v) => (v.effectiveFrom ? [v.effectiveFrom] : []));
        for (const change of changes) {
          const instant = new Date(change.getTime() - 1);
          if (agreement.refusedFrom && instant < agreement.refusedFrom) expect(inForce(configured, instant)).toEqual(inForce(stored, instant));
        }
        const first = agreement.refusedFrom ?? new Date(0);
        expect(inForce(configured, first)).not.toEqual(inForce(stored, first));
      }),
    );
  });
});

describe('reconcileAtBoot', () => {
  it('stores the first version as configured into an empty schema', () => {
    expect(reconcileAtBoot(records(before), [], earlyOn)).toEqual({ kind: 'store', firstPosition: 0, versions: [{ schedule: 'daily@23:00:00' }] });
  });

  it('stores versions that extend the stored ones and take effect later than the notice allows', () => {
    expect(reconcileAtBoot(records(movedAgain), records(before), earlyOn)).toEqual({ kind: 'store', firstPosition: 1, versions: records(movedAgain).slice(1) });
    expect(reconcileAtBoot(records(moved), [], earlyOn)).toEqual({ kind: 'store', firstPosition: 0, versions: records(moved) });
  });

  it('refuses to boot with a change taking effect before the earliest instant, and names a valid one', () => {
    const result = reconcileAtBoot(records(moved), records(before), at('2026-12-05T23:00:00+08:00'));
    expect(result).toEqual({
      kind: 'refuse-boot',
      reason:
        'version 2, "daily@23:30:00 from 2026-12-05T23:00:00.000+08:00" of the configuration, taking effect at 2026-12-05T23:00:00.000+08:00, ' +
        'is not among the versions in force (version 1, "daily@23:00:00"): a cutoff change must take effect at a future cutoff of the current schedule, ' +
        'later than 2026-12-05T23:00:00.000+08:00, e.g. from 2026-12-06T23:00:00.000+08:00, and the versions in force stay in the configuration unchanged',
    });
  });

  it('refuses to boot with past versions even into an empty schema, storing none of them', () => {
    expect(reconcileAtBoot(records(movedAgain), [], at('2026-12-06T00:00:00+08:00'))).toMatchObject({ kind: 'refuse-boot', reason: expect.stringContaining('version 2,') });
  });

  it('refuses to boot with a first version other than the stored one: a schedule is changed by adding a version', () => {
    expect(reconcileAtBoot(records('daily@23:30'), records(before), earlyOn)).toMatchObject({
      kind: 'refuse-boot',
      reason: expect.stringContaining('version 1, "daily@23:30:00" of the configuration, in force from the beginning, is not among the versions in force (version 1, "daily@23:00:00")'),
    });
  });

  it('suggests a cutoff after the last stored change when that is still ahead', () => {
    const result = reconcileAtBoot(records(movedOtherwise), records(moved), at('2026-12-05T12:00:00+08:00'));
    expect(result).toMatchObject({ kind: 'refuse-boot', reason: expect.stringContaining('e.g. from 2026-12-05T23:30:00.000+08:00') });
  });

  it('runs without storing when the configuration lacks stored versions or contradicts one not yet in force', () => {
    expect(reconcileAtBoot(records(before), records(moved), earlyOn)).toEqual({ kind: 'run' });
    expect(reconcileAtBoot(records(moved), records(moved), earlyOn)).toEqual({ kind: 'run' });
    expect(reconcileAtBoot(records(movedOtherwise), records(moved), earlyOn)).toEqual({ kind: 'run' });
  });
});
