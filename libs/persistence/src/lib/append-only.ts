import { QueryRunner } from 'typeorm';

/**
 * For a migration that makes a table of its schema append-only: takes UPDATE, DELETE and TRUNCATE
 * on it from every role but its owner, whoever granted them (in a provisioned database, the
 * owner's default privileges give them to the service's runtime role, ADR 0007). The runtime role
 * keeps SELECT and INSERT; as it owns nothing, it can neither grant itself the rights back nor drop
 * the table's triggers. Names no role, so it holds for whatever roles a deployment uses. A table
 * whose rows move forward but are never removed takes only DELETE and TRUNCATE.
 */
export async function revokeChangesFromGrantees(
  queryRunner: QueryRunner,
  table: string,
  privileges: readonly ('UPDATE' | 'DELETE' | 'TRUNCATE')[] = ['UPDATE', 'DELETE', 'TRUNCATE'],
): Promise<void> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(table)) throw new Error(`"${table}" is not a table name`);
  const listed = privileges.map((privilege) => `'${privilege}'`).join(', ');
  await queryRunner.query(`
    DO $$
    DECLARE grantee text;
    BEGIN
      FOR grantee IN
        SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END
          FROM pg_class c, aclexplode(c.relacl) a
         WHERE c.oid = '${table}'::regclass AND a.grantee <> c.relowner
           AND a.privilege_type IN (${listed})
      LOOP
        EXECUTE format('REVOKE ${privileges.join(', ')} ON ${table} FROM %s', grantee);
      END LOOP;
    END $$`);
}
