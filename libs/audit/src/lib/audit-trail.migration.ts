import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit trail of operator and supervisor actions, in the schema of the service that performs
 * them: one row per action (who, in which role, what, on what, when, from where, with what outcome).
 *
 * Append-only in the database itself, whoever connects: row triggers refuse every UPDATE and DELETE
 * and a statement trigger refuses TRUNCATE, with SQLSTATE 42501 (insufficient_privilege). Only the
 * table's owner can drop or disable those triggers; docs/security.md says who owns it.
 */
export class CreateAuditTrail1765100000000 implements MigrationInterface {
  name = 'CreateAuditTrail1765100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE audit_log (
        id             bigserial   PRIMARY KEY,
        at             timestamptz NOT NULL,
        actor          text        NOT NULL CHECK (length(actor) BETWEEN 1 AND 200),
        role           text        NOT NULL CHECK (length(role) BETWEEN 1 AND 50),
        action         text        NOT NULL CHECK (length(action) BETWEEN 1 AND 100),
        target         text,
        outcome        text        NOT NULL CHECK (outcome IN ('SUCCEEDED', 'REFUSED', 'FAILED')),
        remote_address text,
        details        jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(details) = 'object')
      )`);
    await queryRunner.query(`CREATE INDEX audit_log_by_time ON audit_log (at DESC, id DESC)`);
    await queryRunner.query(`CREATE INDEX audit_log_by_actor ON audit_log (actor, at DESC)`);
    await queryRunner.query(`CREATE INDEX audit_log_by_target ON audit_log (target, at DESC) WHERE target IS NOT NULL`);
    await queryRunner.query(`
      CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'the audit trail is append-only: % on %.% refused', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
          USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await queryRunner.query(
      `CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()`,
    );
    await queryRunner.query(
      `CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change()`,
    );
    // Nobody but the owner gets anything by default; say it, for the roles that come later.
    await queryRunner.query(`REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE audit_log`);
    await queryRunner.query(`DROP FUNCTION audit_log_refuse_change()`);
  }
}
