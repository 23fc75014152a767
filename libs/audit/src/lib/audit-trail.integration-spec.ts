import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { createDataSource, loginUrl, provisionServiceRoles, runMigrations } from '@pos/persistence';
import { testStack, uniqueName } from '@pos/testing';
import { AuditTrail } from './audit-trail';
import { AuditTrailInsertOnly1765400000000 } from './audit-trail-grants.migration';
import { CreateAuditTrail1765100000000 } from './audit-trail.migration';

describe('the audit trail on real PostgreSQL', () => {
  const stack = testStack();
  const trail = new AuditTrail();
  let dataSource: DataSource;

  beforeEach(async () => {
    dataSource = createDataSource(
      { url: stack.postgresUrl, schema: uniqueName('audit') },
      { applicationName: 'audit-test', migrations: [CreateAuditTrail1765100000000] },
    );
    await dataSource.initialize();
    await runMigrations(dataSource);
  });

  afterEach(async () => {
    await dataSource.destroy();
  });

  const entry = {
    at: new Date('2026-12-05T15:59:59.500Z'),
    actor: 'alice',
    role: 'operator',
    action: 'terminal-settlement.requested',
    target: 'M100/T1',
    outcome: 'SUCCEEDED' as const,
    remoteAddress: '10.1.2.3',
    details: { batchNo: '000001' },
  };

  it('keeps what was recorded, in UTC and in Shanghai time, newest first', async () => {
    const first = await trail.record(dataSource.manager, entry);
    const second = await trail.record(dataSource.manager, { ...entry, actor: 'bob', role: 'approver', action: 'approval.approved', target: null, details: undefined });
    expect(first).toEqual({
      id: first.id,
      at: '2026-12-05T15:59:59.500Z',
      atShanghai: '2026-12-05T23:59:59.500+08:00',
      actor: 'alice',
      role: 'operator',
      action: 'terminal-settlement.requested',
      target: 'M100/T1',
      outcome: 'SUCCEEDED',
      remoteAddress: '10.1.2.3',
      details: { batchNo: '000001' },
    });
    expect(await trail.find(dataSource.manager, { limit: 10 })).toEqual([second, first]);
    expect(await trail.find(dataSource.manager, { actor: 'alice', limit: 10 })).toEqual([first]);
    expect(await trail.find(dataSource.manager, { before: second.id, limit: 10 })).toEqual([first]);
    expect(await trail.find(dataSource.manager, { from: new Date('2026-12-05T16:00:00Z'), limit: 10 })).toEqual([]);
  });

  it('is written with the action or not at all', async () => {
    await expect(
      dataSource.transaction(async (tx) => {
        await trail.record(tx, entry);
        throw new Error('the action failed');
      }),
    ).rejects.toThrow('the action failed');
    expect(await trail.find(dataSource.manager, { limit: 10 })).toEqual([]);
  });

  it('refuses UPDATE, DELETE and TRUNCATE of its rows, even by the role that owns the table', async () => {
    const recorded = await trail.record(dataSource.manager, entry);
    const [{ owner, me }] = await dataSource.query(
      `SELECT tableowner AS owner, current_user AS me FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'audit_log'`,
    );
    expect(owner).toBe(me);
    await expect(dataSource.query(`UPDATE audit_log SET outcome = 'FAILED' WHERE id = $1`, [recorded.id])).rejects.toMatchObject({
      code: '42501',
      message: expect.stringContaining('append-only: UPDATE'),
    });
    await expect(dataSource.query(`DELETE FROM audit_log WHERE id = $1`, [recorded.id])).rejects.toMatchObject({
      code: '42501',
      message: expect.stringContaining('append-only: DELETE'),
    });
    await expect(dataSource.query(`TRUNCATE audit_log`)).rejects.toMatchObject({ code: '42501' });
    expect(await trail.find(dataSource.manager, { limit: 10 })).toEqual([recorded]);
  });

  it('refuses the changes for a role that was granted every privilege on the table but does not own it', async () => {
    const recorded = await trail.record(dataSource.manager, entry);
    const role = uniqueName('audit_writer');
    const schema = dataSource.driver.schema as string;
    await dataSource.query(`CREATE ROLE ${role} NOLOGIN`);
    await dataSource.query(`GRANT USAGE ON SCHEMA ${schema} TO ${role}`);
    await dataSource.query(`GRANT ALL ON audit_log TO ${role}`);
    const runner = dataSource.createQueryRunner();
    try {
      await runner.startTransaction();
      await runner.query(`SET LOCAL ROLE ${role}`);
      await expect(runner.query(`DROP TRIGGER audit_log_append_only ON audit_log`)).rejects.toMatchObject({ code: '42501' });
      await runner.rollbackTransaction();
      await runner.startTransaction();
      await runner.query(`SET LOCAL ROLE ${role}`);
      await expect(runner.query(`DELETE FROM audit_log WHERE id = $1`, [recorded.id])).rejects.toMatchObject({ code: '42501' });
      await runner.rollbackTransaction();
    } finally {
      await runner.release();
    }
    expect(await trail.find(dataSource.manager, { limit: 10 })).toEqual([recorded]);
  });

  it("leaves a provisioned schema's runtime role SELECT and INSERT only, however it was granted the rest (ADR 0007)", async () => {
    const schema = uniqueName('audit_roles');
    const login = (name: string) => ({ name, password: randomBytes(18).toString('base64url') });
    const roles = { schema, owner: login(`${schema}_owner`), runtime: login(`${schema}_runtime`) };
    await provisionServiceRoles(stack.postgresUrl, roles);
    const privileges = async () =>
      (
        await dataSource.query(
          `SELECT has_table_privilege($1, $2, 'SELECT') AS select, has_table_privilege($1, $2, 'INSERT') AS insert,
                  has_table_privilege($1, $2, 'UPDATE') AS update, has_table_privilege($1, $2, 'DELETE') AS delete,
                  has_table_privilege($1, $2, 'TRUNCATE') AS truncate`,
          [roles.runtime.name, `${schema}.audit_log`],
        )
      )[0];
    // The migrations as the owner, which may not create schemas (the provisioned one is used): the
    // table first, then the migration that takes the changes back.
    for (const [migrations, applied, rights] of [
      [[CreateAuditTrail1765100000000], ['CreateAuditTrail1765100000000'], { select: true, insert: true, update: true, delete: true, truncate: false }],
      [[CreateAuditTrail1765100000000, AuditTrailInsertOnly1765400000000], ['AuditTrailInsertOnly1765400000000'], { select: true, insert: true, update: false, delete: false, truncate: false }],
    ] as const) {
      const owner = createDataSource({ url: loginUrl(stack.postgresUrl, roles.owner), schema }, { applicationName: 'audit-test', migrations: [...migrations] });
      await owner.initialize();
      try {
        expect(await runMigrations(owner)).toEqual(applied);
      } finally {
        await owner.destroy();
      }
      expect(await privileges()).toEqual(rights);
    }
    const runtime = createDataSource({ url: loginUrl(stack.postgresUrl, roles.runtime), schema }, { applicationName: 'audit-test' });
    await runtime.initialize();
    try {
      const recorded = await trail.record(runtime.manager, entry);
      expect(await trail.find(runtime.manager, { limit: 10 })).toEqual([recorded]);
      for (const sql of [`UPDATE audit_log SET outcome = 'FAILED'`, `DELETE FROM audit_log`, `TRUNCATE audit_log`]) {
        await expect(runtime.query(sql)).rejects.toMatchObject({ code: '42501', message: expect.stringContaining('permission denied for table audit_log') });
      }
    } finally {
      await runtime.destroy();
    }
  });
});
