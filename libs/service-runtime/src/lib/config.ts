import { z } from 'zod';

/**
 * Configuration every service reads, validated once at boot. Services extend it with their own
 * keys and pass the parsed object down; nothing reads process.env deeper in the code.
 */
export const commonConfigShape = {
  HTTP_HOST: z.string().min(1).default('0.0.0.0'),
  HTTP_PORT: z.coerce.number().int().min(0).max(65535),
  /**
   * Opt-in admin listener: when set, `/metrics` and the OpenAPI document and UI (`/v1/openapi.json`,
   * `/v1/docs`) are served on this port only (with `/health/*`), and no longer on HTTP_PORT.
   */
  ADMIN_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** Where the admin listener binds; default HTTP_HOST. */
  ADMIN_HOST: z.string().min(1).optional(),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
  DATABASE_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(10),
  /** 0 keeps idle pooled connections open (see DataSourceParts.poolIdleTimeoutMs). */
  DATABASE_POOL_IDLE_TIMEOUT_MS: z.coerce.number().int().min(0).default(0),
  KAFKA_BROKERS: z
    .string()
    .min(1)
    .transform((value) => value.split(',').map((b) => b.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port')).min(1)),
  KAFKA_CLIENT_ID: z.string().min(1).optional(),
  KAFKA_TOPIC_PARTITIONS: z.coerce.number().int().min(1).max(1000).default(6),
  /**
   * The `ce_source`s of the upstream systems (POS gateways) whose commands this deployment accepts,
   * comma-separated; empty: any source but the platform's own services' (docs/contracts.md).
   */
  KAFKA_UPSTREAM_SOURCES: z
    .string()
    .default('')
    .transform((value) => value.split(',').map((s) => s.trim()).filter(Boolean)),
  /** Prefix of every topic and consumer group; test suites isolate tests with it. */
  KAFKA_TOPIC_PREFIX: z.string().regex(/^[a-z0-9_.-]{0,40}$/).default(''),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
};

export const commonConfigSchema = z.object(commonConfigShape);
export type CommonConfig = z.infer<typeof commonConfigSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig<S extends z.ZodType>(schema: S, env: Record<string, string | undefined>): z.infer<S> {
  const result = schema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`));
  }
  return result.data;
}
