import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Clock, formatShanghai } from '@pos/business-calendar';
import {
  describeScheduleVersion,
  reconcileAtBoot,
  ScheduleVersionRecord,
  scheduleVersionRecords,
  ScheduleVersionsAgreement,
  scheduleVersionsAgreement,
} from '@pos/clearing-domain';
import { CLOCK, InstanceNotReady } from '@pos/messaging';
import { ReadinessChecks } from '@pos/service-runtime';
import { Channel } from '@pos/settlement-batches';
import { CLEARING_SETTINGS, ClearingSettings, cutoffSettingOf } from './clearing-settings';

const CHANNELS: readonly Channel[] = ['WECHAT', 'ALIPAY', 'UNIONPAY_CARD'];

/**
 * How far ahead of now a cutoff change must take effect when an instance stores it: every running
 * instance re-reads the stored versions every tick, so each knows of the change well before the
 * first payment it applies to.
 */
export function scheduleChangeNoticeMs(tickMs: number): number {
  return Math.max(10_000, 20 * tickMs);
}

/**
 * An instance that stores a version reads the clock before it commits; an instance re-reading the
 * versions trusts what it read this much less far ahead than the notice, for that gap.
 */
const STORING_SLACK_MS = 1_000;

interface StoredVersionRow {
  readonly channel: Channel;
  readonly position: number;
  readonly effective_from: Date | null;
  readonly schedule: string;
}

type Disagreement = Extract<ScheduleVersionsAgreement, { agreed: false }>;

/**
 * Keeps every clearing instance on the same cutoff schedule versions, stored in the clearing schema
 * (one source of truth for which window a payment is in). At boot an instance stores the versions
 * its configuration adds, if they take effect far enough in the future, and refuses to start with
 * a change that would take effect in the past. While running it re-reads the stored versions every
 * tick; wherever its configuration lacks or contradicts them, it refuses to assign the payments
 * concerned (InstanceNotReady: the consumer retries them, nothing is dead-lettered), logs an error
 * and reports not ready, until it runs with the stored versions.
 */
@Injectable()
export class ScheduleVersions implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('ScheduleVersions');
  private readonly noticeMs: number;
  private readonly configured: Readonly<Record<Channel, readonly ScheduleVersionRecord[]>>;
  private disagreements: Partial<Record<Channel, Disagreement>> = {};
  /** When the stored versions were last read (the clock before the read); none before the boot's read. */
  private readAt?: Date;
  private fingerprint?: string;
  private timer?: NodeJS.Timeout;
  private refreshing?: Promise<void>;
  private stopped = false;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(CLEARING_SETTINGS) private readonly settings: ClearingSettings,
    private readonly readiness: ReadinessChecks,
    private readonly health: HealthIndicatorService,
  ) {
    this.noticeMs = scheduleChangeNoticeMs(settings.tickMs);
    this.configured = {
      WECHAT: scheduleVersionRecords(settings.schedules.WECHAT),
      ALIPAY: scheduleVersionRecords(settings.schedules.ALIPAY),
      UNIONPAY_CARD: scheduleVersionRecords(settings.schedules.UNIONPAY_CARD),
    };
  }

  /** Before any consumer starts, so no payment is assigned before the versions are reconciled. */
  async onModuleInit(): Promise<void> {
    await this.reconcileAtBoot();
    this.readiness.add(() => this.readinessCheck());
  }

  onApplicationBootstrap(): void {
    this.scheduleRefresh();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.refreshing;
  }

  /**
   * Throws InstanceNotReady unless this instance computes the same window as the stored versions
   * for the channel at the instant: a payment's success time, a terminal settlement's instant.
   */
  assertKnown(channel: Channel, instant: Date): void {
    // Any version stored after the last read takes effect later than this.
    const knownUntil = this.readAt ? this.readAt.getTime() + this.noticeMs - STORING_SLACK_MS : Number.NEGATIVE_INFINITY;
    if (instant.getTime() >= knownUntil) {
      throw new InstanceNotReady(
        `cutoff schedule versions last read ${this.readAt ? `at ${formatShanghai(this.readAt)}` : 'never'}: ` +
          `a version taking effect by ${formatShanghai(instant)} may be unknown to this instance`,
      );
    }
    const disagreement = this.disagreements[channel];
    if (disagreement && (disagreement.refusedFrom === undefined || instant >= disagreement.refusedFrom)) {
      throw new InstanceNotReady(`not assigning ${channel} at ${formatShanghai(instant)}: ${this.describe(channel, disagreement)}`);
    }
  }

  private async reconcileAtBoot(): Promise<void> {
    const readAt = this.clock.now();
    const stored = await this.dataSource.transaction(async (tx) => {
      // One instance at a time: two starting with different changes must not both append.
      await tx.query(`LOCK TABLE cutoff_schedule_versions IN SHARE ROW EXCLUSIVE MODE`);
      const now = this.clock.now();
      const earliest = new Date(now.getTime() + this.noticeMs);
      const before = await this.storedVersions(tx);
      const refusals: string[] = [];
      for (const channel of CHANNELS) {
        const outcome = reconcileAtBoot(this.configured[channel], before[channel], earliest);
        if (outcome.kind === 'refuse-boot') refusals.push(`cutoff schedule of ${channel} (${cutoffSettingOf(channel)}): ${outcome.reason}`);
        if (outcome.kind !== 'store') continue;
        for (const [index, version] of outcome.versions.entries()) {
          const position = outcome.firstPosition + index;
          await tx.query(`INSERT INTO cutoff_schedule_versions (channel, position, effective_from, schedule) VALUES ($1, $2, $3, $4)`, [
            channel,
            position,
            version.effectiveFrom ?? null,
            version.schedule,
          ]);
          this.logger.log(`cutoff schedule of ${channel}: stored ${describeScheduleVersion(version, position)}`);
        }
      }
      if (refusals.length > 0) {
        const refusal = `clearing cannot start: ${refusals.join('; ')}`;
        this.logger.error(refusal);
        throw new Error(refusal);
      }
      return this.storedVersions(tx);
    });
    this.apply(stored, readAt);
  }

  private scheduleRefresh(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.refreshing = this.refresh().finally(() => this.scheduleRefresh());
    }, this.settings.tickMs);
  }

  /** A fingerprint of the table each tick; the versions themselves only when it changed. */
  private async refresh(): Promise<void> {
    const readAt = this.clock.now();
    try {
      const [{ fingerprint }] = await this.dataSource.query(
        `SELECT coalesce(md5(string_agg(channel || '/' || position || '/' || coalesce(extract(epoch FROM effective_from)::text, '-') || '/' || schedule,
                                        ';' ORDER BY channel, position)), '') AS fingerprint
           FROM cutoff_schedule_versions`,
      );
      if (fingerprint === this.fingerprint) {
        this.readAt = readAt;
        return;
      }
      this.apply(await this.storedVersions(this.dataSource.manager), readAt);
      this.fingerprint = fingerprint;
    } catch (error) {
      if (!this.stopped) this.logger.warn(`could not re-read the cutoff schedule versions, next tick retries: ${String(error)}`);
    }
  }

  private apply(stored: Readonly<Record<Channel, readonly ScheduleVersionRecord[]>>, readAt: Date): void {
    const disagreements: Partial<Record<Channel, Disagreement>> = {};
    for (const channel of CHANNELS) {
      const agreement = scheduleVersionsAgreement(this.configured[channel], stored[channel]);
      if (agreement.agreed) continue;
      disagreements[channel] = agreement;
      const known = this.disagreements[channel];
      if (!known || this.describe(channel, known) !== this.describe(channel, agreement)) this.logger.error(this.describe(channel, agreement));
    }
    this.disagreements = disagreements;
    this.readAt = readAt;
  }

  private async storedVersions(tx: Pick<EntityManager, 'query'>): Promise<Record<Channel, ScheduleVersionRecord[]>> {
    const rows: StoredVersionRow[] = await tx.query(`SELECT channel, position, effective_from, schedule FROM cutoff_schedule_versions ORDER BY channel, position`);
    const byChannel: Record<Channel, ScheduleVersionRecord[]> = { WECHAT: [], ALIPAY: [], UNIONPAY_CARD: [] };
    for (const row of rows) {
      byChannel[row.channel].push(row.effective_from === null ? { schedule: row.schedule } : { effectiveFrom: row.effective_from, schedule: row.schedule });
    }
    return byChannel;
  }

  private describe(channel: Channel, disagreement: Disagreement): string {
    const { position, stored, configured, refusedFrom } = disagreement;
    const setting = `this instance's ${cutoffSettingOf(channel)}`;
    const what =
      stored && configured
        ? `the clearing schema holds ${describeScheduleVersion(stored, position)} where ${setting} has ${describeScheduleVersion(configured, position)}`
        : stored
          ? `the clearing schema holds ${describeScheduleVersion(stored, position)}, which ${setting} lacks`
          : `${setting} has ${describeScheduleVersion(configured as ScheduleVersionRecord, position)}, which the clearing schema does not hold, so no other instance follows it`;
    const refused = refusedFrom === undefined ? 'no payment' : `no payment succeeding from ${formatShanghai(refusedFrom)} on`;
    return `cutoff schedule of ${channel}: ${what}; ${refused} is assigned by this instance until it runs with the stored versions`;
  }

  private readinessCheck() {
    const indicator = this.health.check('cutoffSchedules');
    const channels = Object.keys(this.disagreements) as Channel[];
    if (channels.length === 0) return indicator.up();
    return indicator.down(Object.fromEntries(channels.map((channel) => [channel, this.describe(channel, this.disagreements[channel] as Disagreement)])));
  }
}
