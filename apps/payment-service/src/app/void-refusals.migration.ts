import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Voids the channel refused for good (ADR 0008):
 * - `payments.void_refused_at`, `void_refusal_code`: the refusal of the payment's void (`void_id`
 *   stays); the payment is SUCCEEDED again, then cleared with its batch.
 * - `clearings_held`: a pos.clearing.payment.cleared that reached a payment still VOIDED (the
 *   refusal travels on voids.events.v1, the clearing on clearing.events.v1: either may come first),
 *   applied when the refusal arrives. A row that stays means a payment both voided and cleared.
 */
export class VoidRefusals1765500000000 implements MigrationInterface {
  name = 'VoidRefusals1765500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE payments ADD COLUMN void_refused_at timestamptz, ADD COLUMN void_refusal_code text`);
    await queryRunner.query(`
      CREATE TABLE clearings_held (
        payment_id uuid        PRIMARY KEY REFERENCES payments (payment_id),
        batch_id   text        NOT NULL,
        amount_fen bigint      NOT NULL,
        cleared_at timestamptz NOT NULL,
        held_at    timestamptz NOT NULL
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE clearings_held`);
    await queryRunner.query(`ALTER TABLE payments DROP COLUMN void_refusal_code, DROP COLUMN void_refused_at`);
  }
}
