import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Accepted voids the channel refused for good (ADR 0008) no longer exclude their payment:
 * - `voided_payments.refused_at`, `refused_code`: the refusal (pos.void.channel-refused). A refused
 *   void stays recorded, so a replayed pos.void.accepted of it changes nothing.
 * - `void_gates.refused_voids`: the count the gate-closed event carries next to `accepted_voids`
 *   (executed); gates recorded before this migration had none.
 */
export class RecordRefusedVoids1765500000000 implements MigrationInterface {
  name = 'RecordRefusedVoids1765500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE voided_payments ADD COLUMN refused_at timestamptz, ADD COLUMN refused_code text`);
    await queryRunner.query(`ALTER TABLE voided_payments ADD CHECK ((refused_at IS NULL) = (refused_code IS NULL))`);
    await queryRunner.query(`ALTER TABLE void_gates ADD COLUMN refused_voids integer NOT NULL DEFAULT 0 CHECK (refused_voids >= 0)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE void_gates DROP COLUMN refused_voids`);
    await queryRunner.query(`ALTER TABLE voided_payments DROP COLUMN refused_code, DROP COLUMN refused_at`);
  }
}
