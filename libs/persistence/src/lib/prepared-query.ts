import { createHash } from 'node:crypto';
import type { PoolClient } from 'pg';
import { EntityManager, QueryFailedError } from 'typeorm';

/** The statement's name on a connection: the same text always gets the same name. */
function statementName(text: string): string {
  return `p_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
}

/**
 * Runs a hot statement as a named prepared statement, so PostgreSQL parses and plans it once per
 * connection instead of on every call (planning was the largest part of the database's work on
 * the void and payment paths). `db` is a transaction's manager (the statement runs inside it) or
 * the data source's (it takes a pooled connection for the one statement). Rows come back as
 * `SELECT` rows, whatever the command.
 *
 * For statements with a fixed text or a few variants only: each distinct text stays prepared on
 * every connection that ran it. List result columns explicitly: a prepared `SELECT *` fails with
 * "cached plan must not change result type" once a migration adds a column.
 */
export async function queryPrepared<T>(db: EntityManager, text: string, values: readonly unknown[]): Promise<T[]> {
  const runner = db.queryRunner ?? db.connection.createQueryRunner();
  try {
    const client = (await runner.connect()) as PoolClient;
    // Failures look like those of EntityManager.query, so callers handle both alike.
    const result = await client.query<T & object>({ name: statementName(text), text, values: [...values] }).catch((error: Error) => {
      throw new QueryFailedError(text, [...values], error);
    });
    return result.rows;
  } finally {
    if (!db.queryRunner) await runner.release();
  }
}
