import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Merchants' webhooks and what is delivered to them:
 * - `webhooks`: one per merchant, its URL and its signing secret sealed (webhook-secrets.ts),
 *   with the previous secret during a rotation's grace;
 * - `webhook_deliveries`: one per event and merchant, with the exact body sent on every attempt,
 *   its state, and when it is due. A round of attempts starts at the event and at each redrive;
 * - `webhook_delivery_attempts`: the delivery log, one row per attempt (append-only, see
 *   WebhookAttemptsInsertOnly1765510000000).
 */
export class WebhookTables1765505000000 implements MigrationInterface {
  name = 'WebhookTables1765505000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE webhooks (
        merchant_id            text        PRIMARY KEY,
        url                    text        NOT NULL,
        secret_sealed          text        NOT NULL,
        previous_secret_sealed text,
        previous_secret_until  timestamptz,
        secret_rotated_at      timestamptz NOT NULL,
        created_at             timestamptz NOT NULL,
        updated_at             timestamptz NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE webhook_deliveries (
        delivery_id      uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
        merchant_id      text        NOT NULL,
        event_id         text        NOT NULL,
        event_type       text        NOT NULL,
        event_time       timestamptz NOT NULL,
        body             text        NOT NULL,
        status           text        NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DELIVERED', 'FAILED')),
        attempts         int         NOT NULL DEFAULT 0,
        round_attempts   int         NOT NULL DEFAULT 0,
        round_started_at timestamptz NOT NULL DEFAULT now(),
        next_attempt_at  timestamptz,
        last_http_status int,
        last_error       text,
        redrives         int         NOT NULL DEFAULT 0,
        created_at       timestamptz NOT NULL DEFAULT now(),
        completed_at     timestamptz,
        UNIQUE (merchant_id, event_id),
        CHECK ((status = 'PENDING') = (next_attempt_at IS NOT NULL))
      )`);
    await queryRunner.query(`CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'PENDING'`);
    await queryRunner.query(`CREATE INDEX webhook_deliveries_failed ON webhook_deliveries (merchant_id) WHERE status = 'FAILED'`);
    await queryRunner.query(`CREATE INDEX webhook_deliveries_by_merchant ON webhook_deliveries (merchant_id, created_at DESC, delivery_id)`);
    await queryRunner.query(`
      CREATE TABLE webhook_delivery_attempts (
        delivery_id  uuid        NOT NULL REFERENCES webhook_deliveries (delivery_id),
        attempt      int         NOT NULL CHECK (attempt >= 1),
        attempted_at timestamptz NOT NULL,
        url          text        NOT NULL,
        http_status  int,
        error        text,
        duration_ms  int         NOT NULL,
        outcome      text        NOT NULL CHECK (outcome IN ('DELIVERED', 'RETRY', 'FAILED')),
        PRIMARY KEY (delivery_id, attempt)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE webhook_delivery_attempts`);
    await queryRunner.query(`DROP TABLE webhook_deliveries`);
    await queryRunner.query(`DROP TABLE webhooks`);
  }
}
