import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Batch fen totals as numeric rather than bigint: one payment may be up to 2^53 - 1 fen, so the sum
 * of about a thousand of them exceeds bigint, and the close that writes it would fail on every
 * retry, leaving the batch in CLOSING. numeric(40, 0) holds any realistic batch exactly.
 */
export class WidenBatchFenTotals1764700000000 implements MigrationInterface {
  name = 'WidenBatchFenTotals1764700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE batches ALTER COLUMN total_fen TYPE numeric(40, 0), ALTER COLUMN voided_fen TYPE numeric(40, 0)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE batches ALTER COLUMN total_fen TYPE bigint, ALTER COLUMN voided_fen TYPE bigint`);
  }
}
