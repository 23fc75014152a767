import { INestApplication } from '@nestjs/common';
import { adminUrlOf, runService, ServiceDefinition } from '@pos/service-runtime';
import { kafkaEnvOf, TestStack, uniqueName } from '@pos/testing';

export interface BootedService {
  readonly app: INestApplication;
  /** Base URL, e.g. http://127.0.0.1:41234 */
  readonly url: string;
  readonly schema: string;
  /** The admin listener's base URL, when the service was started with ADMIN_PORT. */
  readonly adminUrl?: string;
  close(): Promise<void>;
}

/**
 * The variables that point a service at the test stack: its database schema, and its topics under
 * `topicPrefix` (by default the schema's name, so that each service sees its own topics).
 */
export function stackEnv(stack: TestStack, schema: string, topicPrefix = `${schema}.`): Record<string, string> {
  return {
    DATABASE_URL: stack.postgresUrl,
    DATABASE_SCHEMA: schema,
    ...kafkaEnvOf(stack),
    KAFKA_TOPIC_PREFIX: topicPrefix,
  };
}

/**
 * Runs a service in this process against the test stack, on a free port and its own fresh schema,
 * exactly as `main.ts` runs it (same configuration parsing, migrations and modules).
 */
export async function bootService(
  definition: ServiceDefinition,
  stack: TestStack,
  env: Record<string, string> = {},
): Promise<BootedService> {
  const schema = env['DATABASE_SCHEMA'] ?? uniqueName(definition.identity.name.replace(/-service$/, ''));
  const app = await runService(definition, {
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    ...stackEnv(stack, schema),
    KAFKA_CLIENT_ID: uniqueName(definition.identity.name),
    KAFKA_TOPIC_PARTITIONS: '3',
    LOG_LEVEL: 'warn',
    ...env,
  });
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const adminUrl = adminUrlOf(app);
  return { app, url, schema, ...(adminUrl ? { adminUrl } : {}), close: () => app.close() };
}
