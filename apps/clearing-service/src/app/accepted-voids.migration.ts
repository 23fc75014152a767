import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A batch closes only once every void the void service accepted for it is recorded here.
 * - `void_gates.accepted_voids`: the count the gate-closed event carries. Gates recorded before
 *   this migration keep the behaviour they had (0: nothing to wait for); new gates must state it
 *   (the default is dropped again).
 * - `voided_payments_by_batch`: the recorded voids of one batch are counted at its close, and
 *   again whenever a void of a batch waiting for it arrives.
 * - `batches_closing`: the few batches in CLOSING, so the awaiting-voids gauge reads only them.
 */
export class RecordAcceptedVoidsOfGates1764600000000 implements MigrationInterface {
  name = 'RecordAcceptedVoidsOfGates1764600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE void_gates ADD COLUMN accepted_voids integer NOT NULL DEFAULT 0 CHECK (accepted_voids >= 0)`);
    await queryRunner.query(`ALTER TABLE void_gates ALTER COLUMN accepted_voids DROP DEFAULT`);
    await queryRunner.query(`CREATE INDEX voided_payments_by_batch ON voided_payments (batch_id)`);
    await queryRunner.query(`CREATE INDEX batches_closing ON batches (closing_at) WHERE state = 'CLOSING'`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX batches_closing`);
    await queryRunner.query(`DROP INDEX voided_payments_by_batch`);
    await queryRunner.query(`ALTER TABLE void_gates DROP COLUMN accepted_voids`);
  }
}
