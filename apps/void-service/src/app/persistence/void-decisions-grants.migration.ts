import { MigrationInterface, QueryRunner } from 'typeorm';
import { revokeChangesFromGrantees } from '@pos/persistence';

/**
 * `void_decisions` is append-only in privileges too, not only in its trigger: the service's runtime
 * role (ADR 0007), given UPDATE and DELETE on the schema's tables by default, keeps SELECT and
 * INSERT on it only.
 */
export class VoidDecisionsInsertOnly1765410000000 implements MigrationInterface {
  name = 'VoidDecisionsInsertOnly1765410000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await revokeChangesFromGrantees(queryRunner, 'void_decisions');
  }

  async down(): Promise<void> {
    // Nothing to give back: the rights taken were never the service's to use (the trigger refuses them).
  }
}
