import { DataSource } from 'typeorm';

/** The same key for every instance of a service, so only one of them migrates at a time. */
function lockKeyOf(schema: string): string {
  return `pos-migrations:${schema}`;
}

/**
 * Creates the service's schema if it is missing and applies pending migrations, each in its own
 * transaction, while holding a PostgreSQL advisory lock: several instances booting together
 * migrate once, the others wait and then find nothing to do. Returns the names applied.
 */
export async function runMigrations(dataSource: DataSource): Promise<string[]> {
  const schema = dataSource.driver.schema;
  if (!schema) throw new Error('the data source has no schema');
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query(`SELECT pg_advisory_lock(hashtext($1))`, [lockKeyOf(schema)]);
    try {
      // Only when missing: creating one needs the right to create schemas in the database, which a
      // provisioned schema's owner does not have (ADR 0007), even with IF NOT EXISTS.
      const [{ exists }] = await runner.query(`SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS exists`, [schema]);
      if (!exists) await runner.query(`CREATE SCHEMA "${schema}"`);
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      return applied.map((m) => m.name);
    } finally {
      await runner.query(`SELECT pg_advisory_unlock(hashtext($1))`, [lockKeyOf(schema)]);
    }
  } finally {
    await runner.release();
  }
}
