import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The cutoff schedule versions clearing runs with, per channel, in the order they take effect:
 * position 0 is in force from the beginning, each later one from its `effective_from`. Rows are
 * only ever appended, by an instance starting with a configuration that extends them by versions
 * taking effect in the future; every instance compares its configuration with them and refuses to
 * assign payments where the two differ (see ScheduleVersions), so no two instances ever put a
 * payment in different windows.
 */
export class CreateCutoffScheduleVersions1765000000000 implements MigrationInterface {
  name = 'CreateCutoffScheduleVersions1765000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE cutoff_schedule_versions (
        channel        text        NOT NULL CHECK (channel IN ('WECHAT', 'ALIPAY', 'UNIONPAY_CARD')),
        position       integer     NOT NULL CHECK (position >= 0),
        effective_from timestamptz,
        schedule       text        NOT NULL,
        stored_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (channel, position),
        UNIQUE (channel, effective_from),
        CHECK ((position = 0) = (effective_from IS NULL))
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE cutoff_schedule_versions`);
  }
}
