import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
import { testStack, uniqueName } from '@pos/testing';

const root = join(__dirname, '..', '..', '..');

/** The CLI as a real process: its main through ts-node, as `npm run ops` runs the bundle. */
function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', join(root, 'apps/ops-cli/src/main.ts'), ...args],
      { cwd: root, env: { PATH: process.env['PATH'] ?? '', TS_NODE_PROJECT: join(root, 'tsconfig.integration.json'), ...env }, timeout: 90_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** `npm run ops -- db provision` on the test stack's PostgreSQL, as tools/run.sh runs it before the services start. */
describe('ops db provision', () => {
  const adminUrl = testStack().postgresUrl;
  let admin: Client;

  beforeAll(async () => {
    admin = new Client({ connectionString: adminUrl });
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.end();
  });

  async function connectAs(name: string, password: string, schema: string): Promise<Client> {
    const url = new URL(adminUrl);
    url.username = name;
    url.password = password;
    const client = new Client({ connectionString: url.toString(), options: `-c search_path=${schema}` });
    await client.connect();
    return client;
  }

  it("hands a schema from before the roles, with what is in it, to the owner, and lets the runtime role use but not change it; again with new passwords", async () => {
    const schema = uniqueName('legacy');
    const [owner, runtime] = [`${schema}_owner`, `${schema}_service`];
    // What a service migrating as the administrator left behind.
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.query(`CREATE TABLE ${schema}.facts (id bigserial PRIMARY KEY, note text NOT NULL)`);
    await admin.query(`CREATE FUNCTION ${schema}.refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no'; END $$`);
    await admin.query(`INSERT INTO ${schema}.facts (note) VALUES ('before')`);

    for (const round of ['first', 'second']) {
      const passwords = { owner: `owner-password-${round}-${schema}`, runtime: `runtime-password-${round}-${schema}` };
      const result = await cli(['db', 'provision', '--schema', schema, '--owner', owner, '--runtime', runtime], {
        DATABASE_ADMIN_URL: adminUrl,
        DATABASE_OWNER_PASSWORD: passwords.owner,
        DATABASE_RUNTIME_PASSWORD: passwords.runtime,
      });
      expect(result).toMatchObject({ code: 0, stdout: `schema ${schema}: owned by ${owner} (migrations), used by ${runtime} (the service)\n` });

      const { rows: owners } = await admin.query(
        `SELECT (SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = $1) AS schema,
                (SELECT relowner::regrole::text FROM pg_class WHERE oid = $2::regclass) AS facts,
                (SELECT relowner::regrole::text FROM pg_class WHERE oid = pg_get_serial_sequence($4, 'id')::regclass) AS sequence,
                (SELECT proowner::regrole::text FROM pg_proc WHERE oid = $3::regprocedure) AS function`,
        [schema, `${schema}.facts`, `${schema}.refuse()`, `${schema}.facts`],
      );
      expect(owners).toEqual([{ schema: owner, facts: owner, sequence: owner, function: owner }]);
      const { rows: attributes } = await admin.query(
        `SELECT rolname, rolsuper, rolcreatedb, rolcreaterole, rolcanlogin FROM pg_roles WHERE rolname = ANY($1::text[]) ORDER BY rolname`,
        [[owner, runtime]],
      );
      expect(attributes).toEqual([owner, runtime].sort().map((rolname) => ({ rolname, rolsuper: false, rolcreatedb: false, rolcreaterole: false, rolcanlogin: true })));

      const service = await connectAs(runtime, passwords.runtime, schema);
      try {
        await service.query(`INSERT INTO facts (note) VALUES ($1)`, [round]);
        await service.query(`UPDATE facts SET note = note || '.' WHERE note = $1`, [round]);
        expect(await service.query(`CREATE TABLE mine (id int)`).catch((error: { code: string }) => error.code)).toBe('42501');
        expect(await service.query(`DROP TABLE facts`).catch((error: { code: string }) => error.code)).toBe('42501');
      } finally {
        await service.end();
      }
      const migrations = await connectAs(owner, passwords.owner, schema);
      try {
        await migrations.query(`CREATE TABLE IF NOT EXISTS later (id int)`);
      } finally {
        await migrations.end();
      }
    }
    // A table the owner creates later is the runtime role's to use, by the owner's default privileges.
    const { rows: grants } = await admin.query(
      `SELECT privilege_type FROM information_schema.role_table_grants WHERE table_schema = $1 AND table_name = 'later' AND grantee = $2 ORDER BY 1`,
      [schema, runtime],
    );
    expect(grants.map((g) => g.privilege_type)).toEqual(['DELETE', 'INSERT', 'SELECT', 'UPDATE']);
    expect((await admin.query(`SELECT note FROM ${schema}.facts ORDER BY id`)).rows.map((r) => r.note)).toEqual(['before', 'first.', 'second.']);
    // The first passwords are gone.
    await expect(connectAs(runtime, `runtime-password-first-${schema}`, schema)).rejects.toMatchObject({ code: '28P01' });
  });

  it('refuses to run without the passwords in the environment, or for a name that is not an identifier (exit code 2)', async () => {
    const env = { DATABASE_ADMIN_URL: adminUrl, DATABASE_OWNER_PASSWORD: 'x'.repeat(16), DATABASE_RUNTIME_PASSWORD: 'y'.repeat(16) };
    const args = ['db', 'provision', '--schema', 'payment_x', '--owner', 'payment_x_owner', '--runtime', 'payment_x_service'];
    expect(await cli(args, { ...env, DATABASE_RUNTIME_PASSWORD: 'short' })).toMatchObject({ code: 2, stderr: expect.stringContaining('DATABASE_RUNTIME_PASSWORD must be set') });
    expect(await cli(args, { DATABASE_OWNER_PASSWORD: env.DATABASE_OWNER_PASSWORD, DATABASE_RUNTIME_PASSWORD: env.DATABASE_RUNTIME_PASSWORD })).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('DATABASE_ADMIN_URL'),
    });
    expect(await cli(['db', 'provision', '--schema', 'payment; DROP SCHEMA public', '--owner', 'a_owner', '--runtime', 'a_service'], env)).toMatchObject({ code: 2 });
    const { rows } = await admin.query(`SELECT count(*)::int AS n FROM pg_roles WHERE rolname LIKE 'payment_x%'`);
    expect(rows).toEqual([{ n: 0 }]);
  });
});
