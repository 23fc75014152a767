import { PostgreSqlContainer, StartedPostgreSqlContainer } from '@testcontainers/postgresql';
import { answers, containerAddress } from './direct-address';

const PORT = 5432;

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
    url: await preferDirect(container),
    container,
    stop: async () => {
      await container.stop();
    },
  };
}

/** The container's own address when this host reaches it, else the published port. */
async function preferDirect(container: StartedPostgreSqlContainer): Promise<string> {
  const address = containerAddress(container);
  if (!address || !(await answers(address, PORT))) return container.getConnectionUri();
  const url = new URL(container.getConnectionUri());
  url.hostname = address;
  url.port = String(PORT);
  return url.toString();
}
