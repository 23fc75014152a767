import { DataSource } from 'typeorm';

/** The same key for every instance of a service, so only one of them migrates at a time. */
function lockKeyOf(schema: string): string {
  return `pos-migrations:${schema}`;
}

/**
 * Creates the service's schema if needed and applies pending migrations, each in its own
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
      await runner.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      return applied.map((m) => m.name);
    } finally {
      await runner.query(`SELECT pg_advisory_unlock(hashtext($1))`, [lockKeyOf(schema)]);
    }
  } finally {
    await runner.release();
  }
}
