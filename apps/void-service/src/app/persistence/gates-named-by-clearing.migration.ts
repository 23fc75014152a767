import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * ADR 0005: clearing alone names a payment's batch and its window.
 * - `void_gates` keep the window clearing announced (`pos.clearing.batch.opened`): a void finds its
 *   payment's gate by the payment's success time, and a terminal settlement (结算) shortens it;
 * - `payment_facts.batch_id`, computed from the void service's own copy of the cutoff schedules, goes;
 * - only final decisions own their idempotency key: answers that may change (retry later, supervisor
 *   authorisation missing) are kept for the record and a retry with the same key is decided again.
 */
export class GatesNamedByClearing1764900000000 implements MigrationInterface {
  name = 'GatesNamedByClearing1764900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE void_gates ADD COLUMN opens_at timestamptz, ADD COLUMN terminal_id text, ADD COLUMN batch_no text`);
    await queryRunner.query(`CREATE INDEX void_gates_by_window ON void_gates (merchant_id, channel, opens_at)`);
    await queryRunner.query(`ALTER TABLE payment_facts DROP COLUMN batch_id`);
    await queryRunner.query(`ALTER TABLE void_decisions ADD COLUMN final boolean NOT NULL DEFAULT true`);
    // The decisions table is append-only for the service; this one correction is the migration's.
    await queryRunner.query(`ALTER TABLE void_decisions DISABLE TRIGGER void_decisions_append_only`);
    await queryRunner.query(`
      UPDATE void_decisions SET final = false
       WHERE reason IN ('PAYMENT_NOT_FOUND', 'PAYMENT_PENDING', 'VOID_TOO_EARLY', 'SUPERVISOR_AUTH_REQUIRED')`);
    await queryRunner.query(`ALTER TABLE void_decisions ENABLE TRIGGER void_decisions_append_only`);
    await queryRunner.query(`DROP INDEX void_decisions_idempotency`);
    await queryRunner.query(`
      CREATE UNIQUE INDEX void_decisions_idempotency ON void_decisions (merchant_id, idempotency_key)
      WHERE final AND reason IS DISTINCT FROM 'MODIFIED_REQUEST'`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX void_decisions_idempotency`);
    await queryRunner.query(`ALTER TABLE void_decisions DROP COLUMN final`);
    await queryRunner.query(`
      CREATE UNIQUE INDEX void_decisions_idempotency ON void_decisions (merchant_id, idempotency_key)
      WHERE reason IS DISTINCT FROM 'MODIFIED_REQUEST'`);
    await queryRunner.query(`ALTER TABLE payment_facts ADD COLUMN batch_id text`);
    await queryRunner.query(`DROP INDEX void_gates_by_window`);
    await queryRunner.query(`ALTER TABLE void_gates DROP COLUMN opens_at, DROP COLUMN terminal_id, DROP COLUMN batch_no`);
  }
}
