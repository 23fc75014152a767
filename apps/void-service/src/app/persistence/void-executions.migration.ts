import { MigrationInterface, QueryRunner } from 'typeorm';
import { revokeChangesFromGrantees } from '@pos/persistence';

/**
 * Accepted voids are executed at their channel (ADR 0008):
 * - `void_executions`: one row per accepted void, written by the statement that accepts it;
 *   PENDING until the channel gives a final answer (EXECUTED or CHANNEL_REFUSED). `attempts` counts
 *   the calls made, `next_attempt_at` is when the next may be made (a lease while one is under way),
 *   `last_outcome` what the channel last said (SUCCESS, TIMEOUT, or its code).
 * - `payment_facts.void_refused_by`: the accepted void the channel refused; `voided_by` is cleared
 *   then, so the payment is cleared with its batch and a later void is refused (CHANNEL_REFUSED).
 * - `void_gates.announced_at`: when pos.void.gate-closed was written. A gate closes at the batch's
 *   closing but is announced only once every void accepted for it has a final execution. Gates
 *   closed before this migration were announced when they closed.
 * The runtime role keeps SELECT, INSERT and UPDATE on the new table: an execution is never deleted.
 */
export class VoidExecutions1765500000000 implements MigrationInterface {
  name = 'VoidExecutions1765500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE void_executions (
        void_id           uuid        PRIMARY KEY,
        merchant_id       text        NOT NULL,
        payment_id        uuid        NOT NULL,
        batch_id          text        NOT NULL,
        channel           text        NOT NULL CHECK (channel IN ('WECHAT', 'ALIPAY', 'UNIONPAY_CARD')),
        state             text        NOT NULL DEFAULT 'PENDING' CHECK (state IN ('PENDING', 'EXECUTED', 'CHANNEL_REFUSED')),
        attempts          integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        next_attempt_at   timestamptz NOT NULL,
        last_attempt_at   timestamptz,
        last_outcome      text,
        channel_code      text,
        channel_reference text,
        created_at        timestamptz NOT NULL DEFAULT now(),
        finished_at       timestamptz,
        CHECK ((state = 'PENDING') = (finished_at IS NULL)),
        CHECK (state <> 'EXECUTED' OR channel_reference IS NOT NULL),
        CHECK (state <> 'CHANNEL_REFUSED' OR channel_code IS NOT NULL)
      )`);
    await queryRunner.query(`CREATE INDEX void_executions_due ON void_executions (next_attempt_at) WHERE state = 'PENDING'`);
    await queryRunner.query(`CREATE INDEX void_executions_unfinished_by_batch ON void_executions (batch_id) WHERE state <> 'EXECUTED'`);
    await queryRunner.query(`ALTER TABLE payment_facts ADD COLUMN void_refused_by uuid`);
    await queryRunner.query(`ALTER TABLE void_gates ADD COLUMN announced_at timestamptz`);
    await queryRunner.query(`UPDATE void_gates SET announced_at = closed_at WHERE status = 'CLOSED'`);
    await queryRunner.query(`CREATE INDEX void_gates_unannounced ON void_gates (closed_at) WHERE status = 'CLOSED' AND announced_at IS NULL`);
    await revokeChangesFromGrantees(queryRunner, 'void_executions', ['DELETE', 'TRUNCATE']);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX void_gates_unannounced`);
    await queryRunner.query(`ALTER TABLE void_gates DROP COLUMN announced_at`);
    await queryRunner.query(`ALTER TABLE payment_facts DROP COLUMN void_refused_by`);
    await queryRunner.query(`DROP TABLE void_executions`);
  }
}
