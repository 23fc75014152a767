import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Payments and what the service learnt about them.
 * - `payments`: one row per (merchant, out_trade_no), the idempotency claim; `request_hash` tells a
 *   replay from a modified request. No raw payment code or card token is stored, only a masked one.
 * - `payment_status_changes`: append-only audit trail, one row per transition, written in the same
 *   transaction as the change.
 * - `settled_batches`: settlements seen, so a payment cleared into a batch that is already settled
 *   (events on one topic, but a replay may differ) becomes SETTLED at once.
 */
export class CreatePaymentTables1764300000000 implements MigrationInterface {
  name = 'CreatePaymentTables1764300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE payments (
        payment_id        uuid        PRIMARY KEY,
        merchant_id       text        NOT NULL,
        terminal_id       text        NOT NULL,
        channel           text        NOT NULL,
        amount_fen        bigint      NOT NULL CHECK (amount_fen > 0),
        currency          char(3)     NOT NULL,
        out_trade_no      text        NOT NULL,
        masked_reference  text        NOT NULL,
        card_batch_no     char(6),
        card_voucher_no   char(6),
        request_hash      char(64)    NOT NULL,
        intake            text        NOT NULL,
        status            text        NOT NULL,
        failure_reason    text,
        channel_trade_no  text,
        created_at        timestamptz NOT NULL,
        updated_at        timestamptz NOT NULL,
        next_query_at     timestamptz,
        pending_since     timestamptz,
        succeeded_at      timestamptz,
        failed_at         timestamptz,
        reversed_at       timestamptz,
        business_date     date        NOT NULL,
        batch_id          text,
        cleared_at        timestamptz,
        settled_at        timestamptz,
        voided_at         timestamptz,
        void_id           uuid,
        CONSTRAINT payments_merchant_out_trade_no UNIQUE (merchant_id, out_trade_no)
      )`);
    await queryRunner.query(`CREATE INDEX payments_by_day ON payments (merchant_id, business_date, status, created_at, payment_id)`);
    await queryRunner.query(`CREATE INDEX payments_unresolved ON payments (next_query_at) WHERE status IN ('PROCESSING', 'PENDING')`);
    await queryRunner.query(`CREATE INDEX payments_by_batch ON payments (batch_id) WHERE batch_id IS NOT NULL`);
    await queryRunner.query(`
      CREATE TABLE payment_status_changes (
        id          bigserial   PRIMARY KEY,
        payment_id  uuid        NOT NULL REFERENCES payments (payment_id),
        from_status text,
        to_status   text        NOT NULL,
        cause       text        NOT NULL,
        changed_at  timestamptz NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX payment_status_changes_by_payment ON payment_status_changes (payment_id, id)`);
    await queryRunner.query(`
      CREATE TABLE settled_batches (
        batch_id        text        PRIMARY KEY,
        settlement_date date        NOT NULL,
        settled_at      timestamptz NOT NULL
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE settled_batches`);
    await queryRunner.query(`DROP TABLE payment_status_changes`);
    await queryRunner.query(`DROP TABLE payments`);
  }
}
