import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { webhookConfigShape, webhookSettingsFrom } from './webhook.config';

const parse = (env: Record<string, string>) => z.object(webhookConfigShape).safeParse(env);

describe('webhook settings', () => {
  it('are off without WEBHOOK_SECRET_KEY, or with it empty', () => {
    const envs: Record<string, string>[] = [{}, { WEBHOOK_SECRET_KEY: '' }];
    for (const env of envs) {
      const parsed = parse(env);
      if (!parsed.success) throw parsed.error;
      expect(webhookSettingsFrom(parsed.data)).toBeUndefined();
    }
  });

  it('have documented defaults once the key is set', () => {
    const key = randomBytes(32);
    const parsed = parse({ WEBHOOK_SECRET_KEY: key.toString('base64') });
    if (!parsed.success) throw parsed.error;
    expect(webhookSettingsFrom(parsed.data)).toEqual({
      secretKey: key,
      urlPolicy: { allowInsecureLoopback: false, allowPrivateAddresses: false },
      pollIntervalMs: 1_000,
      timeoutMs: 10_000,
      retry: { initialBackoffMs: 5_000, maxBackoffMs: 3_600_000, maxAttempts: 12, maxAgeMs: 86_400_000 },
      concurrency: 8,
      rotationGraceMs: 86_400_000,
    });
  });

  it('stop the boot on a key that is not 32 bytes, and on a duration that is not one', () => {
    expect(parse({ WEBHOOK_SECRET_KEY: 'too-short' }).error?.issues[0]).toMatchObject({ path: ['WEBHOOK_SECRET_KEY'], message: expect.stringMatching(/32 bytes/) });
    expect(parse({ WEBHOOK_TIMEOUT: '10 seconds' }).error?.issues[0].path).toEqual(['WEBHOOK_TIMEOUT']);
    expect(parse({ WEBHOOK_BACKOFF_INITIAL: '0s' }).error?.issues[0].message).toMatch(/longer than zero/);
    expect(parse({ WEBHOOK_ALLOW_INSECURE_LOOPBACK: 'yes' }).success).toBe(false);
  });
});
