import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `payment_facts.batch_id`: the settlement batch a succeeded payment clears in, recorded when its
 * success is learnt, so that a void reads the payment and its batch's gate in one statement.
 * Payments recorded before this column get theirs from their first void.
 */
export class AddPaymentBatch1764400000000 implements MigrationInterface {
  name = 'AddPaymentBatch1764400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE payment_facts ADD COLUMN batch_id text`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE payment_facts DROP COLUMN batch_id`);
  }
}
