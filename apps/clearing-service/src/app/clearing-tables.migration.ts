import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Settlement batches and what is in them.
 * - `batches`: one row per batch; batches of one batch key form a chain (`sequence` 1, 2, ...), a
 *   successor taking the payments that arrive after its predecessor closed. Totals are written
 *   once, at the close, and never change afterwards. `cleared_cursor_*` tracks how far the
 *   payment.cleared events of a closed batch have been written to the outbox.
 * - `batch_payments`: every succeeded payment, in exactly one batch (primary key on the payment).
 *   `voided` is frozen at the close from `voided_payments`.
 * - `voided_payments`: accepted voids, remembered even before their payment arrives.
 * - `void_gates`: gates the void service reported closed (ADR 0002).
 */
export class CreateClearingTables1764300000000 implements MigrationInterface {
  name = 'CreateClearingTables1764300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE batches (
        batch_id        text        PRIMARY KEY,
        base_batch_id   text        NOT NULL,
        sequence        integer     NOT NULL CHECK (sequence >= 1),
        merchant_id     text        NOT NULL,
        channel         text        NOT NULL,
        terminal_id     text,
        batch_no        text,
        clearing_date   date        NOT NULL,
        opens_at        timestamptz NOT NULL,
        closes_at       timestamptz NOT NULL,
        state           text        NOT NULL DEFAULT 'OPEN' CHECK (state IN ('OPEN', 'CLOSING', 'CLOSED', 'SETTLED')),
        close_reason    text        CHECK (close_reason IN ('CUTOFF', 'TERMINAL_SETTLEMENT')),
        cutoff_at       timestamptz,
        closing_at      timestamptz,
        closed_at       timestamptz,
        settled_at      timestamptz,
        settlement_date date,
        payment_count   bigint,
        total_fen       bigint,
        voided_count    bigint,
        voided_fen      bigint,
        cleared_cursor_at   timestamptz,
        cleared_cursor_id   uuid,
        cleared_events_done boolean NOT NULL DEFAULT false,
        reconciliation_claimed_at timestamptz,
        reconciliation_written_at timestamptz,
        created_at      timestamptz NOT NULL DEFAULT now(),
        UNIQUE (base_batch_id, sequence),
        CHECK (state IN ('OPEN', 'CLOSING') OR (payment_count IS NOT NULL AND total_fen IS NOT NULL AND settlement_date IS NOT NULL))
      )`);
    await queryRunner.query(`CREATE INDEX batches_due_to_close ON batches (closes_at) WHERE state = 'OPEN'`);
    await queryRunner.query(`CREATE INDEX batches_due_to_settle ON batches (settlement_date) WHERE state = 'CLOSED'`);
    await queryRunner.query(`CREATE INDEX batches_unwritten ON batches (closed_at) WHERE reconciliation_written_at IS NULL AND state IN ('CLOSED', 'SETTLED')`);
    await queryRunner.query(`CREATE INDEX batches_clearing_events_pending ON batches (closed_at) WHERE NOT cleared_events_done AND state IN ('CLOSED', 'SETTLED')`);
    await queryRunner.query(`CREATE INDEX batches_by_merchant ON batches (merchant_id, clearing_date)`);
    await queryRunner.query(`CREATE INDEX batches_by_terminal ON batches (merchant_id, terminal_id, batch_no) WHERE terminal_id IS NOT NULL`);
    await queryRunner.query(`
      CREATE TABLE batch_payments (
        payment_id       uuid        PRIMARY KEY,
        batch_id         text        NOT NULL REFERENCES batches (batch_id),
        merchant_id      text        NOT NULL,
        terminal_id      text        NOT NULL,
        channel          text        NOT NULL,
        amount_fen       bigint      NOT NULL CHECK (amount_fen > 0),
        out_trade_no     text        NOT NULL,
        channel_trade_no text        NOT NULL,
        card_batch_no    text,
        voucher_no       text,
        succeeded_at     timestamptz NOT NULL,
        assigned_at      timestamptz NOT NULL,
        voided           boolean     NOT NULL DEFAULT false
      )`);
    await queryRunner.query(`CREATE INDEX batch_payments_in_batch ON batch_payments (batch_id, succeeded_at, payment_id)`);
    await queryRunner.query(`
      CREATE TABLE voided_payments (
        payment_id   uuid        PRIMARY KEY,
        void_id      uuid        NOT NULL,
        batch_id     text        NOT NULL,
        merchant_id  text        NOT NULL,
        out_trade_no text        NOT NULL,
        amount_fen   bigint      NOT NULL,
        decided_at   timestamptz NOT NULL,
        recorded_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      CREATE TABLE void_gates (
        batch_id    text        PRIMARY KEY,
        closed_at   timestamptz NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE void_gates`);
    await queryRunner.query(`DROP TABLE voided_payments`);
    await queryRunner.query(`DROP TABLE batch_payments`);
    await queryRunner.query(`DROP TABLE batches`);
  }
}
