import { DataSource, DataSourceOptions, EntitySchema, MixedList } from 'typeorm';

export interface DatabaseConnection {
  /** What the service runs as: in a provisioned database, the schema's runtime role (ADR 0007). */
  readonly url: string;
  /** Each service owns one schema; tests give every test its own. */
  readonly schema: string;
  /**
   * What the migrations run as at boot, when it is not `url`: the schema's owner. Its connection is
   * closed once the schema is up to date.
   */
  readonly migrationUrl?: string;
}

export interface DataSourceParts {
  readonly applicationName: string;
  // TypeORM's own types for entity and migration lists.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  readonly entities?: MixedList<Function | string | EntitySchema>;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  readonly migrations?: MixedList<Function | string>;
  readonly poolSize?: number;
  /**
   * How long an idle pooled connection is kept before it is closed; 0 (the default) keeps it.
   * Closing idle connections makes the next burst open new ones (a backend process, password
   * authentication, every prepared statement parsed and planned again) exactly when the service
   * is busiest: measured as the worst stall of the void benchmark (docs/performance.md).
   */
  readonly poolIdleTimeoutMs?: number;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function assertSchemaName(schema: string): void {
  if (!SCHEMA_NAME.test(schema)) {
    throw new Error(`database schema "${schema}" must match ${SCHEMA_NAME}`);
  }
}

/**
 * One place that says how a service talks to PostgreSQL: its own schema first on the search path
 * (so migrations are plain SQL without schema names), never `synchronize`, migrations run
 * explicitly at boot under a lock (see runMigrations).
 */
export function dataSourceOptions(connection: DatabaseConnection, parts: DataSourceParts): DataSourceOptions {
  assertSchemaName(connection.schema);
  return {
    type: 'postgres',
    url: connection.url,
    schema: connection.schema,
    applicationName: parts.applicationName,
    entities: parts.entities ?? [],
    migrations: parts.migrations ?? [],
    migrationsTableName: 'schema_migrations',
    migrationsRun: false,
    synchronize: false,
    logging: ['error', 'warn'],
    extra: {
      max: parts.poolSize ?? 10,
      // pg-pool reads 0 as "never close an idle connection" (its own default closes them after 10 s).
      idleTimeoutMillis: parts.poolIdleTimeoutMs ?? 0,
      options: `-c search_path=${connection.schema}`,
      connectionTimeoutMillis: 5_000,
    },
  };
}

export function createDataSource(connection: DatabaseConnection, parts: DataSourceParts): DataSource {
  return new DataSource(dataSourceOptions(connection, parts));
}
