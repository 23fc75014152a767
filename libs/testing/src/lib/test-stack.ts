import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { imageFor } from './images';
import { KafkaAccess, KafkaOptions, startKafka } from './kafka-container';
import { startPostgres } from './postgres-container';

/**
 * Where the shared containers of a test run are, handed from the global setup to every test file:
 * Kafka with its CA and principals' passwords (kafkaClientOf, kafkaEnvOf), and PostgreSQL.
 */
export interface TestStack extends KafkaAccess {
  readonly postgresUrl: string;
}

const STACK_VARIABLE = 'POS_TEST_STACK';
/** Every container of a test run carries it, so a crashed run's leftovers can be found and removed. */
export const TEST_STACK_LABEL = 'pos.test-stack';

export interface RunningTestStack {
  readonly stack: TestStack;
  stop(): Promise<void>;
}

/** One Kafka and one PostgreSQL for the whole run, started in parallel. */
export async function startTestStack(workspaceRoot = process.cwd(), kafkaOptions: KafkaOptions = {}): Promise<RunningTestStack> {
  const labels = { [TEST_STACK_LABEL]: 'true' };
  const started = await Promise.allSettled([
    startKafka(imageFor('KAFKA_IMAGE', workspaceRoot), labels, kafkaOptions),
    startPostgres(imageFor('POSTGRES_IMAGE', workspaceRoot), labels),
  ]);
  const [kafkaStart, postgresStart] = started;
  if (kafkaStart.status === 'rejected' || postgresStart.status === 'rejected') {
    // Stops what did start: a failed setup leaves no container behind.
    await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.stop().catch(() => undefined) : undefined)));
    throw kafkaStart.status === 'rejected' ? kafkaStart.reason : (postgresStart as PromiseRejectedResult).reason;
  }
  const [kafka, postgres] = [kafkaStart.value, postgresStart.value];
  const stack: TestStack = { ...kafka.access, postgresUrl: postgres.url };
  process.env[STACK_VARIABLE] = JSON.stringify(stack);
  return {
    stack,
    stop: async () => {
      await Promise.all([kafka.stop(), postgres.stop()]);
    },
  };
}

/** The shared stack, inside a test file. */
export function testStack(): TestStack {
  const raw = process.env[STACK_VARIABLE];
  if (!raw) {
    throw new Error(`${STACK_VARIABLE} is not set: run integration tests through the integration Jest config, whose global setup starts the stack`);
  }
  return JSON.parse(raw) as TestStack;
}

/** A name no other test uses: for topics, consumer groups and schemas. */
export function uniqueName(prefix: string): string {
  const safe = prefix.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  return `${safe}_${randomBytes(5).toString('hex')}`;
}

/** A fresh, empty schema for one test; the connection string stays the shared one. */
export async function createSchema(postgresUrl: string, prefix: string): Promise<string> {
  const schema = uniqueName(prefix);
  const client = new Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA "${schema}"`);
  } finally {
    await client.end();
  }
  return schema;
}
