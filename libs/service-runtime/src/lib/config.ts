import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { BrokerConnection } from '@pos/messaging';

const flag = z.enum(['true', 'false']).transform((value) => value === 'true');

/** A PEM file read at boot: a path that cannot be read, or holds no certificate, is a configuration error. */
const pemCertificateFile = z.string().min(1).transform((path, ctx) => {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `${path} cannot be read: ${error instanceof Error ? error.message : String(error)}` });
    return z.NEVER;
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    ctx.addIssue({ code: 'custom', message: `${path} holds no PEM certificate` });
    return z.NEVER;
  }
  return text;
});

/**
 * How a client authenticates to Kafka: TLS (with the CA that signed the brokers' certificates) and
 * SASL/SCRAM; all unset, a plaintext listener without authentication. Checked together by
 * `kafkaSecurityProblems`: SASL needs a user name and password and never runs without TLS.
 */
export const kafkaSecurityShape = {
  KAFKA_SSL: flag.default(false),
  /** A PEM file of the CA that signed the brokers' certificates (implies KAFKA_SSL); parsed into its text. */
  KAFKA_SSL_CA: pemCertificateFile.optional(),
  KAFKA_SASL_MECHANISM: z.enum(['scram-sha-256', 'scram-sha-512']).optional(),
  KAFKA_SASL_USERNAME: z.string().min(1).optional(),
  KAFKA_SASL_PASSWORD: z.string().min(1).optional(),
};
export type KafkaSecurityConfig = z.infer<z.ZodObject<typeof kafkaSecurityShape>>;

/** What `kafkaSecurityShape`'s keys, each valid on its own, get wrong together. */
export function kafkaSecurityProblems(config: KafkaSecurityConfig): string[] {
  const sasl = [config.KAFKA_SASL_MECHANISM, config.KAFKA_SASL_USERNAME, config.KAFKA_SASL_PASSWORD];
  const problems: string[] = [];
  if (sasl.some((value) => value !== undefined) && sasl.some((value) => value === undefined)) {
    problems.push('KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are set together or not at all');
  }
  if (config.KAFKA_SASL_MECHANISM !== undefined && !config.KAFKA_SSL && config.KAFKA_SSL_CA === undefined) {
    problems.push('SASL needs TLS: set KAFKA_SSL=true or KAFKA_SSL_CA');
  }
  return problems;
}

/** Reports `kafkaSecurityProblems` as a schema's issues (`superRefine`), under the first key each names. */
export function addKafkaSecurityIssues(config: KafkaSecurityConfig, ctx: z.RefinementCtx): void {
  for (const problem of kafkaSecurityProblems(config)) {
    ctx.addIssue({ code: 'custom', path: [problem.match(/KAFKA_[A-Z_]+/)?.[0] ?? 'KAFKA_SSL'], message: problem });
  }
}

/** The broker port's connection for a validated configuration. */
export function kafkaConnectionOf(config: KafkaSecurityConfig, clientId: string, brokers: readonly string[]): BrokerConnection {
  const { KAFKA_SSL_CA: ca, KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: username, KAFKA_SASL_PASSWORD: password } = config;
  return {
    clientId,
    brokers,
    ...(config.KAFKA_SSL || ca !== undefined ? { ssl: true } : {}),
    ...(ca !== undefined ? { tls: { ca } } : {}),
    ...(mechanism !== undefined && username !== undefined && password !== undefined ? { sasl: { mechanism, username, password } } : {}),
  };
}

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
  /** What the service runs as: its schema's runtime role, never a superuser (docs/security.md). */
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
  /**
   * What the migrations run as at boot, when the runtime role may not change the schema: its owner
   * (ADR 0007). Unset: DATABASE_URL's role migrates, so it must own the schema.
   */
  DATABASE_MIGRATION_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
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
  ...kafkaSecurityShape,
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

/** The common configuration with a service's own keys, and the checks that span several keys. */
export function serviceConfigSchema(shape: z.ZodRawShape = {}): z.ZodType<CommonConfig & Record<string, unknown>> {
  // A service's shape adds keys to the common ones; zod types an open shape's keys as unknown.
  const schema = commonConfigSchema.extend(shape) as unknown as z.ZodType<CommonConfig & Record<string, unknown>>;
  return schema.superRefine(addKafkaSecurityIssues);
}

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
