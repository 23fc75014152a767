import { MigrationInterface, QueryRunner } from 'typeorm';
import { revokeChangesFromGrantees } from '@pos/persistence';

/**
 * The delivery log is append-only: the service's runtime role (ADR 0007), given UPDATE and DELETE
 * on the schema's new tables by default, keeps SELECT and INSERT on `webhook_delivery_attempts`.
 * `webhooks` and `webhook_deliveries` keep their default rights: registrations change and are
 * deleted, deliveries change state.
 */
export class WebhookAttemptsInsertOnly1765510000000 implements MigrationInterface {
  name = 'WebhookAttemptsInsertOnly1765510000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await revokeChangesFromGrantees(queryRunner, 'webhook_delivery_attempts');
  }

  async down(): Promise<void> {
    // Nothing to give back: the service never changes or deletes an attempt.
  }
}
