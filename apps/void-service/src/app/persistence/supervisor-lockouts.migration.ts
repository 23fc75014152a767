import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Wrong supervisor credentials, counted per supervisor in the database so that every instance of
 * the service counts the same ones:
 * - `supervisor_failures`: one row per wrong credential (never the credential itself);
 * - `supervisor_lockouts`: one row per lock; a supervisor is locked while one of its rows'
 *   `locked_until` is ahead. Unlocking early sets it to the present (docs/operations.md), so the
 *   failures counted for the next lock start there.
 * Who was locked and who authorised which void is also in the audit trail (`audit_log`).
 */
export class SupervisorLockouts1765200000000 implements MigrationInterface {
  name = 'SupervisorLockouts1765200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE supervisor_failures (
        merchant_id text        NOT NULL,
        operator_id text        NOT NULL,
        failed_at   timestamptz NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX supervisor_failures_by_supervisor ON supervisor_failures (merchant_id, operator_id, failed_at)`);
    await queryRunner.query(`
      CREATE TABLE supervisor_lockouts (
        lockout_id   bigserial   PRIMARY KEY,
        merchant_id  text        NOT NULL,
        operator_id  text        NOT NULL,
        locked_at    timestamptz NOT NULL,
        locked_until timestamptz NOT NULL,
        failures     int         NOT NULL,
        CHECK (locked_until >= locked_at)
      )`);
    await queryRunner.query(`CREATE INDEX supervisor_lockouts_by_supervisor ON supervisor_lockouts (merchant_id, operator_id, locked_until)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE supervisor_lockouts`);
    await queryRunner.query(`DROP TABLE supervisor_failures`);
  }
}
