import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { hashApiKey } from '@pos/service-runtime';
import { testStack, uniqueName } from '@pos/testing';
import { stackEnv } from './boot-service';
import { ServiceName, SpawnedService, spawnService } from './spawn-service';

/**
 * The three services as they run in production (their bundles, their own processes), each on its
 * own schema with its schema's roles (ADR 0007): what each of them can do in PostgreSQL, seen from
 * PostgreSQL itself.
 */
describe('database roles of the running services', () => {
  const stack = testStack();
  const API_KEY = 'key-of-merchant-100-for-roles';
  const names: readonly ServiceName[] = ['payment-service', 'clearing-service', 'void-service'];
  const schemas = Object.fromEntries(names.map((name) => [name, uniqueName(`${name.replace(/-service$/, '')}_roles`)])) as Record<ServiceName, string>;
  const envs = {} as Record<ServiceName, Record<string, string>>;
  const services: SpawnedService[] = [];
  let admin: Client;

  /** A connection as the role a service runs as (its DATABASE_URL) or migrates as (DATABASE_MIGRATION_URL). */
  async function connectAs(name: ServiceName, which: 'DATABASE_URL' | 'DATABASE_MIGRATION_URL'): Promise<Client> {
    const client = new Client({ connectionString: envs[name][which], options: `-c search_path=${schemas[name]}` });
    await client.connect();
    return client;
  }

  async function refused(client: Client, sql: string, values: unknown[] = []): Promise<{ code?: string; message: string }> {
    try {
      await client.query(sql, values);
    } catch (error) {
      return error as { code?: string; message: string };
    }
    throw new Error(`"${sql}" was allowed`);
  }

  beforeAll(async () => {
    for (const name of names) {
      const schema = schemas[name];
      envs[name] = await stackEnv(stack, schema);
      services.push(
        await spawnService(name, {
          ...envs[name],
          KAFKA_CLIENT_ID: schema,
          KAFKA_TOPIC_PARTITIONS: '3',
          MERCHANT_API_KEYS: `M100:${hashApiKey(API_KEY)}`,
          RECONCILIATION_DIR: `tmp/reconciliation/${schema}`,
        }),
      );
    }
    admin = new Client({ connectionString: stack.postgresUrl });
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.end();
    await Promise.all(services.map((service) => service.stop()));
  });

  it('runs every service as its schema runtime role, never a superuser, with no owner connection left after the migrations', async () => {
    for (const name of names) {
      const runtime = new URL(envs[name]['DATABASE_URL']).username;
      const owner = new URL(envs[name]['DATABASE_MIGRATION_URL']).username;
      expect(runtime).not.toBe(owner);
      const { rows } = await admin.query<{ usename: string; super: boolean; application_name: string }>(
        `SELECT a.usename, r.rolsuper AS super, a.application_name FROM pg_stat_activity a JOIN pg_roles r ON r.rolname = a.usename
          WHERE a.usename = ANY($1::text[])`,
        [[runtime, owner]],
      );
      // The pool of the service, named after it; the outbox relay's session, once it leads.
      expect(rows.filter((row) => row.application_name === name).length).toBeGreaterThan(0);
      expect(rows.every((row) => row.usename === runtime && !row.super)).toBe(true);
      const [{ rolsuper, rolcreaterole, rolcreatedb }] = (await admin.query(`SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = $1`, [owner])).rows;
      expect({ rolsuper, rolcreaterole, rolcreatedb }).toEqual({ rolsuper: false, rolcreaterole: false, rolcreatedb: false });
      const [{ schemaOwner }] = (await admin.query(`SELECT nspowner::regrole::text AS "schemaOwner" FROM pg_namespace WHERE nspname = $1`, [schemas[name]])).rows;
      expect(schemaOwner).toBe(owner);
    }
    // Whatever else this run started: no service connection as a superuser.
    const { rows: superuserSessions } = await admin.query(
      `SELECT a.application_name FROM pg_stat_activity a JOIN pg_roles r ON r.rolname = a.usename WHERE r.rolsuper AND a.application_name = ANY($1::text[])`,
      [names],
    );
    expect(superuserSessions).toEqual([]);
  });

  it("does not let the clearing service's roles read or touch the payment service's schema", async () => {
    const payment = schemas['payment-service'];
    const [{ tables }] = (await admin.query(`SELECT count(*)::int AS tables FROM pg_tables WHERE schemaname = $1`, [payment])).rows;
    expect(tables).toBeGreaterThan(0);
    for (const which of ['DATABASE_URL', 'DATABASE_MIGRATION_URL'] as const) {
      const clearing = await connectAs('clearing-service', which);
      try {
        for (const sql of [`SELECT count(*) FROM "${payment}".outbox`, `CREATE TABLE "${payment}".intruder (id int)`, `SELECT count(*) FROM "${schemas['void-service']}".void_decisions`]) {
          expect(await refused(clearing, sql)).toMatchObject({ code: '42501', message: expect.stringMatching(/permission denied for schema/) });
        }
      } finally {
        await clearing.end();
      }
    }
    const paymentRuntime = await connectAs('payment-service', 'DATABASE_URL');
    try {
      // The same statement works for the schema's own runtime role: the refusal above is the role's, not the query's.
      expect((await paymentRuntime.query(`SELECT count(*)::int AS n FROM "${payment}".outbox`)).rows).toEqual([{ n: expect.any(Number) }]);
    } finally {
      await paymentRuntime.end();
    }
  });

  it("does not let the void service's runtime role change or delete a decision or an audit record, nor undo that", async () => {
    const voidService = services.find((service) => service.name === 'void-service') as SpawnedService;
    const response = await fetch(`${voidService.url}/v1/voids`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': API_KEY, 'idempotency-key': `roles-${randomUUID()}` },
      body: JSON.stringify({ terminalId: 'T1', paymentId: randomUUID(), amountFen: 100, operatorId: 'OP1' }),
    });
    const decided = (await response.json()) as { voidId: string; reason: string };
    expect(decided.reason).toBe('PAYMENT_NOT_FOUND');
    const schema = schemas['void-service'];
    const runtime = await connectAs('void-service', 'DATABASE_URL');
    let auditId = '';
    try {
      expect((await runtime.query(`SELECT reason FROM void_decisions WHERE void_id = $1`, [decided.voidId])).rows).toEqual([{ reason: 'PAYMENT_NOT_FOUND' }]);
      const [{ id }] = (
        await runtime.query(`INSERT INTO audit_log (at, actor, role, action, outcome) VALUES (now(), 'OP9', 'supervisor', 'void.authorised', 'SUCCEEDED') RETURNING id::text`)
      ).rows;
      auditId = id;
      // It cannot give itself the rights (it holds no grant option: PostgreSQL grants nothing, with a
      // warning), nor remove the triggers behind them, nor take the tables: it owns nothing.
      await runtime.query(`GRANT UPDATE, DELETE, TRUNCATE ON void_decisions, audit_log TO CURRENT_USER`);
      for (const sql of [
        `ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only`,
        `DROP TRIGGER void_decisions_append_only ON void_decisions`,
        `ALTER TABLE void_decisions OWNER TO CURRENT_USER`,
      ]) {
        expect(await refused(runtime, sql)).toMatchObject({ code: '42501', message: expect.stringMatching(/must be owner/) });
      }
      const attempts: [string, unknown[]][] = [
        [`UPDATE void_decisions SET reason = 'CUTOFF_PASSED' WHERE void_id = $1`, [decided.voidId]],
        [`DELETE FROM void_decisions WHERE void_id = $1`, [decided.voidId]],
        [`TRUNCATE void_decisions`, []],
        [`UPDATE audit_log SET outcome = 'FAILED' WHERE id = $1`, [auditId]],
        [`DELETE FROM audit_log WHERE id = $1`, [auditId]],
        [`TRUNCATE audit_log`, []],
        // A void's execution moves forward (UPDATE, below) but is never removed (ADR 0008).
        [`DELETE FROM void_executions`, []],
        [`TRUNCATE void_executions`, []],
      ];
      for (const [sql, values] of attempts) {
        expect(await refused(runtime, sql, values)).toMatchObject({ code: '42501', message: expect.stringMatching(/permission denied for table/) });
      }
      expect((await runtime.query(`UPDATE void_executions SET attempts = attempts WHERE false`)).rowCount).toBe(0);
    } finally {
      await runtime.end();
    }
    const { rows } = await admin.query(
      `SELECT (SELECT reason FROM "${schema}".void_decisions WHERE void_id = $1) AS reason, (SELECT outcome FROM "${schema}".audit_log WHERE id = $2::bigint) AS outcome`,
      [decided.voidId, auditId],
    );
    expect(rows).toEqual([{ reason: 'PAYMENT_NOT_FOUND', outcome: 'SUCCEEDED' }]);
  });
});
