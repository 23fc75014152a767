import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Supervisor authorisations: a supervisor's credential checked over HTTP, for one merchant,
 * terminal and payment, valid for a few minutes, so that a card void sent over Kafka carries the
 * authorisation's id instead of the credential. `used_by_void` is the void it authorised (once).
 */
export class SupervisorAuthorisations1765300000000 implements MigrationInterface {
  name = 'SupervisorAuthorisations1765300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE supervisor_authorisations (
        authorisation_id uuid        PRIMARY KEY,
        merchant_id      text        NOT NULL,
        terminal_id      text        NOT NULL,
        operator_id      text        NOT NULL,
        payment_id       uuid,
        out_trade_no     text,
        issued_at        timestamptz NOT NULL,
        expires_at       timestamptz NOT NULL,
        used_by_void     uuid,
        used_at          timestamptz,
        CHECK (payment_id IS NOT NULL OR out_trade_no IS NOT NULL),
        CHECK (expires_at > issued_at)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE supervisor_authorisations`);
  }
}
