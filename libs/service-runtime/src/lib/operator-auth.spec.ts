import { z } from 'zod';
import { ConfigError, loadConfig } from './config';
import { hashApiKey } from './merchant-auth';
import { hasRole, operatorAuthConfigShape, rolesFrom } from './operator-auth';

const schema = z.object(operatorAuthConfigShape);
const entry = (name: string, role: string, token = `token-of-${name}`) => `${name}:${role}:${hashApiKey(token)}`;

function problemsOf(text: string): string {
  try {
    loadConfig(schema, { OPERATOR_TOKENS: text });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.join('\n');
    throw error;
  }
  throw new Error(`OPERATOR_TOKENS=${text} was accepted`);
}

describe('OPERATOR_TOKENS', () => {
  it('maps each token hash to its operator and role; a name may have two tokens', () => {
    const tokens = loadConfig(schema, { OPERATOR_TOKENS: [entry('alice', 'operator'), entry('bob', 'approver'), entry('bob', 'approver', 'second')].join(', ') }).OPERATOR_TOKENS;
    expect(tokens.get(hashApiKey('token-of-alice'))).toEqual({ name: 'alice', role: 'operator' });
    expect(tokens.get(hashApiKey('second'))).toEqual({ name: 'bob', role: 'approver' });
    expect(tokens.size).toBe(3);
    expect(loadConfig(schema, {}).OPERATOR_TOKENS.size).toBe(0);
  });

  it('stops the boot on an unknown role, two roles for one name, a hash given twice, or a malformed entry', () => {
    expect(problemsOf(entry('alice', 'admin'))).toMatch(/OPERATOR_TOKENS.*expected name:viewer\|operator\|approver:sha256hex/);
    expect(problemsOf([entry('alice', 'operator'), entry('alice', 'approver', 'other')].join(','))).toMatch(/alice is given two roles/);
    expect(problemsOf([entry('alice', 'operator'), entry('bob', 'viewer', 'token-of-alice')].join(','))).toMatch(/one token hash is given twice/);
    expect(problemsOf('alice:operator:not-a-hash')).toMatch(/expected name/);
    expect(problemsOf(`Alice:operator:${hashApiKey('x')}`)).toMatch(/expected name/);
  });
});

describe('roles', () => {
  it('each role is allowed what the ones before it are', () => {
    expect(hasRole({ name: 'a', role: 'approver' }, 'operator')).toBe(true);
    expect(hasRole({ name: 'v', role: 'viewer' }, 'operator')).toBe(false);
    expect(rolesFrom('operator')).toEqual(['operator', 'approver']);
  });
});
