import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Four-eyes approvals of money-moving operator actions: requested by one operator, approved or
 * rejected by another (the CHECK holds it in the database too), then executed (a terminal settlement
 * at its approval; a dead-letter replay when the operator CLI claims it). Expired requests stay as
 * they were, past `expires_at`.
 */
export class CreateApprovals1765200000000 implements MigrationInterface {
  name = 'CreateApprovals1765200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE approvals (
        approval_id  uuid        PRIMARY KEY,
        action       text        NOT NULL CHECK (action IN ('terminal-settlement', 'dlq-replay')),
        target       text        NOT NULL,
        params       jsonb       NOT NULL,
        reason       text        NOT NULL,
        state        text        NOT NULL DEFAULT 'PENDING' CHECK (state IN ('PENDING', 'APPROVED', 'REJECTED', 'EXECUTED')),
        requested_by text        NOT NULL,
        requested_at timestamptz NOT NULL,
        expires_at   timestamptz NOT NULL,
        decided_by   text,
        decided_at   timestamptz,
        executed_at  timestamptz,
        CHECK (decided_by IS NULL OR decided_by <> requested_by),
        CHECK ((state = 'PENDING') = (decided_by IS NULL))
      )`);
    await queryRunner.query(`CREATE INDEX approvals_by_time ON approvals (requested_at DESC)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE approvals`);
  }
}
