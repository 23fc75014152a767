import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The void service's own state:
 * - `payment_facts`: what payments.events.v1 said about each payment, and which void (if any) took it;
 * - `cleared_payments`: what clearing.events.v1 said was cleared;
 * - `void_gates`: one row per settlement batch (ADR 0002); a void is accepted only under its lock
 *   while it is OPEN, and a batch.closing closes it under the same lock;
 * - `void_decisions`: every decision, append-only. The idempotency key is unique per merchant, and
 *   "one accepted void per payment" is a unique index: the database's last word on invariant 2.
 */
export class CreateVoidTables1764300000000 implements MigrationInterface {
  name = 'CreateVoidTables1764300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE payment_facts (
        payment_id        uuid        PRIMARY KEY,
        merchant_id       text        NOT NULL,
        terminal_id       text        NOT NULL,
        channel           text        NOT NULL CHECK (channel IN ('WECHAT', 'ALIPAY', 'UNIONPAY_CARD')),
        amount_fen        bigint      NOT NULL CHECK (amount_fen > 0),
        out_trade_no      text        NOT NULL,
        card_batch_no     text,
        card_voucher_no   text,
        status            text        NOT NULL CHECK (status IN ('PENDING', 'SUCCEEDED', 'FAILED', 'REVERSED')),
        order_created_at  timestamptz NOT NULL,
        succeeded_at      timestamptz,
        voided_by         uuid,
        updated_at        timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`CREATE INDEX payment_facts_by_out_trade_no ON payment_facts (merchant_id, out_trade_no)`);
    await queryRunner.query(`
      CREATE TABLE cleared_payments (
        payment_id  uuid        PRIMARY KEY,
        merchant_id text        NOT NULL,
        batch_id    text        NOT NULL,
        cleared_at  timestamptz NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE void_gates (
        batch_id     text        PRIMARY KEY,
        merchant_id  text        NOT NULL,
        channel      text        NOT NULL,
        closes_at    timestamptz NOT NULL,
        status       text        NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'CLOSED')),
        close_reason text        CHECK (close_reason IN ('CUTOFF', 'TERMINAL_SETTLEMENT')),
        closed_at    timestamptz,
        created_at   timestamptz NOT NULL DEFAULT now(),
        CHECK ((status = 'OPEN') = (close_reason IS NULL))
      )`);
    await queryRunner.query(`
      CREATE TABLE void_decisions (
        void_id                uuid        PRIMARY KEY,
        merchant_id            text        NOT NULL,
        idempotency_key        text        NOT NULL,
        payload_hash           char(64)    NOT NULL,
        source                 text        NOT NULL CHECK (source IN ('HTTP', 'KAFKA')),
        terminal_id            text        NOT NULL,
        operator_id            text        NOT NULL,
        supervisor_operator_id text,
        requested_payment_id   uuid,
        requested_out_trade_no text,
        requested_amount_fen   bigint      NOT NULL,
        payment_id             uuid,
        out_trade_no           text,
        channel                text,
        batch_id               text,
        decision               text        NOT NULL CHECK (decision IN ('ACCEPTED', 'REJECTED')),
        reason                 text,
        remedy                 text        NOT NULL,
        message                text        NOT NULL,
        deadline               timestamptz,
        decided_at             timestamptz NOT NULL,
        decided_date           date        NOT NULL,
        original_void_id       uuid,
        CHECK ((decision = 'ACCEPTED') = (reason IS NULL)),
        CHECK (decision = 'REJECTED' OR (payment_id IS NOT NULL AND batch_id IS NOT NULL))
      )`);
    // A MODIFIED_REQUEST answer reuses a taken key by definition; every other decision owns its key.
    await queryRunner.query(`
      CREATE UNIQUE INDEX void_decisions_idempotency ON void_decisions (merchant_id, idempotency_key)
      WHERE reason IS DISTINCT FROM 'MODIFIED_REQUEST'`);
    await queryRunner.query(`CREATE UNIQUE INDEX void_decisions_one_accepted ON void_decisions (payment_id) WHERE decision = 'ACCEPTED'`);
    await queryRunner.query(`CREATE INDEX void_decisions_by_payment ON void_decisions (payment_id, decided_at)`);
    await queryRunner.query(`CREATE INDEX void_decisions_by_day ON void_decisions (merchant_id, decided_date, decided_at, void_id)`);
    await queryRunner.query(`CREATE INDEX void_decisions_accepted_by_batch ON void_decisions (batch_id) WHERE decision = 'ACCEPTED'`);
    await queryRunner.query(`
      CREATE FUNCTION void_decisions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'void_decisions is append-only';
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER void_decisions_append_only BEFORE UPDATE OR DELETE ON void_decisions
      FOR EACH ROW EXECUTE FUNCTION void_decisions_append_only()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE void_decisions`);
    await queryRunner.query(`DROP FUNCTION void_decisions_append_only()`);
    await queryRunner.query(`DROP TABLE void_gates`);
    await queryRunner.query(`DROP TABLE cleared_payments`);
    await queryRunner.query(`DROP TABLE payment_facts`);
  }
}
