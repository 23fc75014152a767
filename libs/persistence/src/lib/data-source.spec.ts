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

  it.each(['Payment', 'drop table x', '1abc', '', 'a'.repeat(64)])('refuses the schema name %p', (name) => {
    expect(() => assertSchemaName(name)).toThrow(/must match/);
  });
});
