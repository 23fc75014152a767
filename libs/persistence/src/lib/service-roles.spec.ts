import { assertRoleName, loginUrl } from './service-roles';

describe('loginUrl', () => {
  it("is the administrator's server and database with the login's name and password", () => {
    const url = loginUrl('postgres://pos:admin-secret@db.internal:5433/pos?sslmode=require', { name: 'void_service', password: 'p@ss/word:1' });
    const parsed = new URL(url);
    expect([parsed.username, decodeURIComponent(parsed.password), parsed.host, parsed.pathname, parsed.search]).toEqual([
      'void_service',
      'p@ss/word:1',
      'db.internal:5433',
      '/pos',
      '?sslmode=require',
    ]);
    expect(url).not.toContain('admin-secret');
  });
});

describe('assertRoleName', () => {
  it.each(['Void', 'void-service', 'x; DROP ROLE pos', '', 'a'.repeat(64)])('refuses %p', (name) => {
    expect(() => assertRoleName(name)).toThrow(/must match/);
  });

  it('takes a lower-case identifier', () => {
    expect(() => assertRoleName('payment_schema_1a2b_runtime')).not.toThrow();
  });
});
