import { z } from 'zod';
import { parseDuration } from '@pos/void-domain';
import { RetryPolicy } from './webhook-retry-policy';
import { parseSecretKey } from './webhook-secrets';
import { WebhookUrlPolicy } from './webhook-url-policy';

const flag = z.enum(['true', 'false']).default('false').transform((value) => value === 'true');

function duration(fallback: string) {
  return z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      try {
        const ms = parseDuration(text);
        if (ms > 0) return ms;
        ctx.addIssue({ code: 'custom', message: `must be longer than zero, got ${JSON.stringify(text)}` });
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
      }
      return z.NEVER;
    });
}

/** Webhook settings (docs/configuration.md); webhooks are on when WEBHOOK_SECRET_KEY is set. */
export const webhookConfigShape = {
  /** The key that seals the merchants' signing secrets at rest (webhook-secrets.ts); unset or empty: no webhooks. */
  WEBHOOK_SECRET_KEY: z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (text === undefined || text === '') return undefined;
      try {
        return parseSecretKey(text);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
        return z.NEVER;
      }
    }),
  WEBHOOK_ALLOW_INSECURE_LOOPBACK: flag,
  WEBHOOK_ALLOW_PRIVATE_ADDRESSES: flag,
  /** How often an idle delivery worker looks for due deliveries. */
  WEBHOOK_POLL_INTERVAL: duration('1s'),
  /** One attempt's deadline: connecting, sending and the receiver's answer. */
  WEBHOOK_TIMEOUT: duration('10s'),
  WEBHOOK_BACKOFF_INITIAL: duration('5s'),
  WEBHOOK_BACKOFF_MAX: duration('1h'),
  WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(12),
  WEBHOOK_MAX_AGE: duration('24h'),
  /** Deliveries one instance attempts at once. */
  WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(8),
  /** How long the previous signing secret still signs deliveries after a rotation. */
  WEBHOOK_SECRET_ROTATION_GRACE: duration('24h'),
};

export interface WebhookSettings {
  readonly secretKey: Buffer;
  readonly urlPolicy: WebhookUrlPolicy;
  readonly pollIntervalMs: number;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly concurrency: number;
  readonly rotationGraceMs: number;
}

export function webhookSettingsFrom(config: Record<string, unknown>): WebhookSettings | undefined {
  const key = config['WEBHOOK_SECRET_KEY'] as Buffer | undefined;
  if (!key) return undefined;
  const number = (name: keyof typeof webhookConfigShape) => config[name] as number;
  return {
    secretKey: key,
    urlPolicy: {
      allowInsecureLoopback: config['WEBHOOK_ALLOW_INSECURE_LOOPBACK'] as boolean,
      allowPrivateAddresses: config['WEBHOOK_ALLOW_PRIVATE_ADDRESSES'] as boolean,
    },
    pollIntervalMs: number('WEBHOOK_POLL_INTERVAL'),
    timeoutMs: number('WEBHOOK_TIMEOUT'),
    retry: {
      initialBackoffMs: number('WEBHOOK_BACKOFF_INITIAL'),
      maxBackoffMs: number('WEBHOOK_BACKOFF_MAX'),
      maxAttempts: number('WEBHOOK_MAX_ATTEMPTS'),
      maxAgeMs: number('WEBHOOK_MAX_AGE'),
    },
    concurrency: number('WEBHOOK_CONCURRENCY'),
    rotationGraceMs: number('WEBHOOK_SECRET_ROTATION_GRACE'),
  };
}

/** The settings, for the module's providers. */
export const WEBHOOK_SETTINGS = Symbol('WEBHOOK_SETTINGS');
