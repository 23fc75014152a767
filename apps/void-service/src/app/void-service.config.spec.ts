import { createHash } from 'node:crypto';
import { z } from 'zod';
import { hashCredential } from '@pos/service-runtime';
import { checkSupervisor, voidServiceConfigShape } from './void-service.config';

const credentialsOf = (text: string) => z.object(voidServiceConfigShape).safeParse({ SUPERVISOR_CREDENTIALS: text });

describe('SUPERVISOR_CREDENTIALS', () => {
  it('takes salted scrypt hashes and checks a credential against its own supervisor only', async () => {
    const parsed = credentialsOf(`M100/OP9:${await hashCredential('246810', { N: 2 ** 14, r: 8, p: 1 })}`);
    if (!parsed.success) throw parsed.error;
    const credentials = parsed.data.SUPERVISOR_CREDENTIALS;
    expect(await checkSupervisor(credentials, 'M100', { operatorId: 'OP9', credential: '246810' })).toBe('VERIFIED');
    expect(await checkSupervisor(credentials, 'M100', { operatorId: 'OP9', credential: '246811' })).toBe('INVALID');
    expect(await checkSupervisor(credentials, 'M200', { operatorId: 'OP9', credential: '246810' })).toBe('INVALID');
    expect(await checkSupervisor(credentials, 'M100', { operatorId: 'OP8', credential: '246810' })).toBe('INVALID');
  });

  it('stops the boot on a plain sha256, naming the supervisor and how to make a hash', () => {
    const parsed = credentialsOf(`M100/OP9:${createHash('sha256').update('246810').digest('hex')}`);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0].message).toMatch(/^M100\/OP9: a plain sha256 is no longer accepted.*npm run ops -- supervisor hash/);
  });
});
