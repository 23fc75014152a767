import { randomBytes } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import { loginUrl, provisionServiceRoles, ServiceRoles } from '@pos/persistence';
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

/** The roles of each schema this process provisioned: a service booted again on its schema keeps them. */
const provisioned = new Map<string, Promise<ServiceRoles>>();

/**
 * The schema's own roles on the test stack's PostgreSQL, as a deployment has them (ADR 0007):
 * `<schema>_owner` owns it and runs the migrations, `<schema>_runtime` is what the service runs as.
 * Made on first use, with random passwords.
 */
export function schemaRoles(stack: TestStack, schema: string): Promise<ServiceRoles> {
  let roles = provisioned.get(schema);
  if (!roles) {
    const login = (name: string) => ({ name, password: randomBytes(18).toString('base64url') });
    const wanted: ServiceRoles = { schema, owner: login(`${schema}_owner`), runtime: login(`${schema}_runtime`) };
    roles = provisionServiceRoles(stack.postgresUrl, wanted).then(() => wanted);
    roles.catch(() => provisioned.delete(schema));
    provisioned.set(schema, roles);
  }
  return roles;
}

/**
 * The variables that point a service at the test stack: its database schema with the schema's own
 * roles (never the superuser), and its topics under `topicPrefix` (by default the schema's name, so
 * that each service sees its own topics).
 */
export async function stackEnv(stack: TestStack, schema: string, topicPrefix = `${schema}.`): Promise<Record<string, string>> {
  const roles = await schemaRoles(stack, schema);
  return {
    DATABASE_URL: loginUrl(stack.postgresUrl, roles.runtime),
    DATABASE_MIGRATION_URL: loginUrl(stack.postgresUrl, roles.owner),
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
    ...(await stackEnv(stack, schema)),
    KAFKA_CLIENT_ID: uniqueName(definition.identity.name),
    KAFKA_TOPIC_PARTITIONS: '3',
    LOG_LEVEL: 'warn',
    ...env,
  });
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const adminUrl = adminUrlOf(app);
  return { app, url, schema, ...(adminUrl ? { adminUrl } : {}), close: () => app.close() };
}
