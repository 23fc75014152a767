import { Client } from 'pg';
import { assertSchemaName } from './data-source';

/** A PostgreSQL login: its name and password. */
export interface DatabaseLogin {
  readonly name: string;
  readonly password: string;
}

/**
 * The two roles of one service's schema (ADR 0007):
 * - `owner` owns the schema and everything in it; the service's migrations run as it
 *   (DATABASE_MIGRATION_URL) and nothing else does;
 * - `runtime` is what the service runs as (DATABASE_URL): it may use the schema and read and write
 *   the tables the owner creates, but owns nothing, so it cannot alter or drop a table, a trigger,
 *   or a grant; the append-only tables give it SELECT and INSERT only.
 * Neither is a superuser, may create databases or roles, or has any right on another schema.
 */
export interface ServiceRoles {
  readonly schema: string;
  readonly owner: DatabaseLogin;
  readonly runtime: DatabaseLogin;
}

const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function assertRoleName(name: string): void {
  if (!ROLE_NAME.test(name)) throw new Error(`database role "${name}" must match ${ROLE_NAME}`);
}

/** The same server and database as `adminUrl`, as `login`. */
export function loginUrl(adminUrl: string, login: DatabaseLogin): string {
  const url = new URL(adminUrl);
  url.username = encodeURIComponent(login.name);
  url.password = encodeURIComponent(login.password);
  return url.toString();
}

const LOGIN_ATTRIBUTES = 'LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT';

/**
 * Creates (or brings back to what they should be) a service's two roles and its schema, as a
 * database administrator: run before the service starts (`npm run ops -- db provision`,
 * tools/run.sh, the test stack). Idempotent, and safe to run from several processes at once.
 *
 * A schema that exists already but belongs to someone else (a database from before the roles, or one
 * a test created) is handed to the owner with what is in it, and the runtime role gets the table
 * rights the owner's default privileges would have given it; the migrations that make tables
 * append-only take the changes back (revokeChangesFromGrantees).
 */
export async function provisionServiceRoles(adminUrl: string, roles: ServiceRoles): Promise<void> {
  assertSchemaName(roles.schema);
  for (const login of [roles.owner, roles.runtime]) {
    assertRoleName(login.name);
    if (login.password.length < 16) throw new Error(`the password of database role "${login.name}" is shorter than 16 characters`);
  }
  if (roles.owner.name === roles.runtime.name) throw new Error('the owner and the runtime role of a schema must differ');
  const client = new Client({ connectionString: adminUrl, application_name: 'pos-db-provision' });
  await client.connect();
  const id = (name: string) => client.escapeIdentifier(name);
  const schema = id(roles.schema);
  const owner = id(roles.owner.name);
  const runtime = id(roles.runtime.name);
  try {
    await client.query('BEGIN');
    // Role and default-privilege catalog rows refuse concurrent updates ("tuple concurrently updated").
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('pos-db-provision'))`);
    for (const login of [roles.owner, roles.runtime]) {
      const { rowCount } = await client.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [login.name]);
      const verb = rowCount ? 'ALTER' : 'CREATE';
      await client.query(`${verb} ROLE ${id(login.name)} ${LOGIN_ATTRIBUTES} PASSWORD ${client.escapeLiteral(login.password)}`);
    }
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema} AUTHORIZATION ${owner}`);
    await adoptSchema(client, roles);
    await client.query(`REVOKE ALL ON SCHEMA ${schema} FROM PUBLIC`);
    await client.query(`GRANT USAGE ON SCHEMA ${schema} TO ${runtime}`);
    await client.query(`ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} IN SCHEMA ${schema} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${runtime}`);
    await client.query(`ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} IN SCHEMA ${schema} GRANT USAGE, SELECT ON SEQUENCES TO ${runtime}`);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    await client.end();
  }
}

/** Hands the schema, and whatever in it belongs to another role, to the owner (see provisionServiceRoles). */
async function adoptSchema(client: Client, roles: ServiceRoles): Promise<void> {
  const id = (name: string) => client.escapeIdentifier(name);
  const [owner, runtime, schema] = [id(roles.owner.name), id(roles.runtime.name), id(roles.schema)];
  await client.query(`ALTER SCHEMA ${schema} OWNER TO ${owner}`);
  // Sequences owned by a table follow their table; the others, views and tables are listed here.
  const relations = await client.query<{ name: string; kind: string }>(
    `SELECT c.relname AS name, c.relkind AS kind
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND c.relowner <> $2::regrole
        AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'a' AND d.classid = 'pg_class'::regclass))`,
    [roles.schema, roles.owner.name],
  );
  for (const { name, kind } of relations.rows) {
    const what = kind === 'S' ? 'SEQUENCE' : kind === 'v' ? 'VIEW' : kind === 'm' ? 'MATERIALIZED VIEW' : 'TABLE';
    await client.query(`ALTER ${what} ${schema}.${id(name)} OWNER TO ${owner}`);
    if (kind === 'S') await client.query(`GRANT USAGE, SELECT ON SEQUENCE ${schema}.${id(name)} TO ${runtime}`);
    else await client.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${schema}.${id(name)} TO ${runtime}`);
  }
  // Sequences that belong to an adopted table changed owner with it, without the runtime role's rights.
  if (relations.rows.length) await client.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${schema} TO ${runtime}`);
  const functions = await client.query<{ signature: string }>(
    `SELECT p.oid::regprocedure::text AS signature FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = $1 AND p.proowner <> $2::regrole`,
    [roles.schema, roles.owner.name],
  );
  for (const { signature } of functions.rows) await client.query(`ALTER ROUTINE ${signature} OWNER TO ${owner}`);
}
