import { MigrationInterface, QueryRunner } from 'typeorm';
import { revokeChangesFromGrantees } from '@pos/persistence';

/**
 * The audit trail is append-only in privileges too, not only in its triggers: the service's runtime
 * role (ADR 0007), given UPDATE and DELETE on the schema's tables by default, keeps SELECT and
 * INSERT on `audit_log` only.
 */
export class AuditTrailInsertOnly1765400000000 implements MigrationInterface {
  name = 'AuditTrailInsertOnly1765400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await revokeChangesFromGrantees(queryRunner, 'audit_log');
  }

  async down(): Promise<void> {
    // Nothing to give back: the rights taken were never the service's to use (the triggers refuse them).
  }
}
