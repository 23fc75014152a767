import { PostgreSqlContainer, StartedPostgreSqlContainer } from '@testcontainers/postgresql';

export interface StartedPostgres {
  readonly url: string;
  readonly container: StartedPostgreSqlContainer;
  stop(): Promise<void>;
}

/** PostgreSQL tuned for tests: durability off (a test database is thrown away anyway). */
export async function startPostgres(image: string, labels: Record<string, string> = {}): Promise<StartedPostgres> {
  const container = await new PostgreSqlContainer(image)
    .withDatabase('pos')
    .withUsername('pos')
    .withPassword('pos-test-password')
    .withLabels(labels)
    .withCommand(['postgres', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300'])
    .start();
  return {
    url: container.getConnectionUri(),
    container,
    stop: async () => {
      await container.stop();
    },
  };
}
