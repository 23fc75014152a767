import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each payment keeps the W3C `traceparent` of the request or command that created it, so that the
 * events written for it later, outside that request (the poller resolving a customer still paying,
 * or a payment whose channel answer was lost), carry the same trace. Rows of before have none: their
 * later events start a trace of their own. A nullable column without a default rewrites no row.
 */
export class PaymentTraceparent1765460000000 implements MigrationInterface {
  name = 'PaymentTraceparent1765460000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE payments ADD COLUMN traceparent text`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE payments DROP COLUMN traceparent`);
  }
}
