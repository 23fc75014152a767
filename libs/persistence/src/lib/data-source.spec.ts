import { assertSchemaName, dataSourceOptions } from './data-source';

describe('dataSourceOptions', () => {
  it('never synchronizes and puts the service schema on the search path', () => {
    const options = dataSourceOptions(
      { url: 'postgres://u:p@localhost:5432/pos', schema: 'payment' },
      { applicationName: 'payment-service' },
    );
    expect(options).toMatchObject({
      type: 'postgres',
      schema: 'payment',
      synchronize: false,
      migrationsRun: false,
      extra: { options: '-c search_path=payment' },
    });
  });

  it('keeps idle pooled connections open unless told how long to keep them', () => {
    const connection = { url: 'postgres://u:p@localhost:5432/pos', schema: 'payment' };
    expect(dataSourceOptions(connection, { applicationName: 'payment-service' }).extra).toMatchObject({ max: 10, idleTimeoutMillis: 0 });
    expect(dataSourceOptions(connection, { applicationName: 'payment-service', poolSize: 20, poolIdleTimeoutMs: 60_000 }).extra).toMatchObject({
      max: 20,
      idleTimeoutMillis: 60_000,
    });
  });

  it.each(['Payment', 'drop table x', '1abc', '', 'a'.repeat(64)])('refuses the schema name %p', (name) => {
    expect(() => assertSchemaName(name)).toThrow(/must match/);
  });
});
