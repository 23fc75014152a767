import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDemoCredentials, randomDemoCredentials } from './demo-credentials';

describe('demo credentials', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'demo-credentials-')), 'demo-credentials.env');

  it('reads them from the environment first, else from the file npm start wrote', () => {
    writeFileSync(file, "# generated\nDEMO_MERCHANT_KEYS='M001:k1,M002:k2'\nDEMO_SUPERVISOR_CREDENTIALS='M001:11112222,M002:33334444'\nSUPERVISOR_CREDENTIALS='M001/SUP:scrypt$N=32768:r=8:p=1$a$b'\n");
    const fromFile = loadDemoCredentials({}, file);
    expect(fromFile.apiKeys.get('M002')).toBe('k2');
    expect(fromFile.supervisorCredentials.get('M001')).toBe('11112222');
    const fromEnv = loadDemoCredentials({ DEMO_MERCHANT_KEYS: 'M001:e1', DEMO_SUPERVISOR_CREDENTIALS: 'M001:55556666' }, file);
    expect(fromEnv.apiKeys.get('M001')).toBe('e1');
  });

  it('says what to do when there are none', () => {
    expect(() => loadDemoCredentials({}, join(tmpdir(), 'no-such-file.env'))).toThrow(/run npm start once/);
  });

  it('makes random ones for tests, different each time', () => {
    const [a, b] = [randomDemoCredentials(['M001']), randomDemoCredentials(['M001'])];
    expect(a.apiKeys.get('M001')).not.toBe(b.apiKeys.get('M001'));
    expect(a.supervisorCredentials.get('M001')).toMatch(/^[0-9]{8}$/);
  });
});
