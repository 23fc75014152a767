import { GenericContainer, StartedTestContainer, Wait } from 'testcontainers';
import { answers, containerAddress } from './direct-address';

const PORT = 5432;
const DATABASE = 'pos';
const USER = 'pos';
const PASSWORD = 'pos-test-password';
/**
 * Said twice on a first start: the image's entrypoint runs a temporary server for initialisation,
 * then the real one (the official image and the locally built one alike).
 */
const READY = /database system is ready to accept connections/;

export interface StartedPostgres {
  readonly url: string;
  readonly container: StartedTestContainer;
  stop(): Promise<void>;
}

/**
 * PostgreSQL tuned for tests: durability off (a test database is thrown away anyway).
 *
 * Readiness comes from the server's log, and the container has no Docker health check: the one
 * `@testcontainers/postgresql` installs runs `pg_isready` in the container every 250 ms for the
 * container's whole life. Each run (runc, a shell, a new server connection) showed up as about 9 %
 * of this machine's two cores in a profile of the void benchmark, and as stalls in its latencies.
 */
export async function startPostgres(image: string, labels: Record<string, string> = {}): Promise<StartedPostgres> {
  const container = await new GenericContainer(image)
    .withExposedPorts(PORT)
    .withLabels(labels)
    .withEnvironment({ POSTGRES_DB: DATABASE, POSTGRES_USER: USER, POSTGRES_PASSWORD: PASSWORD })
    .withCommand(['postgres', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300'])
    .withWaitStrategy(Wait.forAll([Wait.forLogMessage(READY, 2), Wait.forListeningPorts()]))
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
async function preferDirect(container: StartedTestContainer): Promise<string> {
  const address = containerAddress(container);
  const direct = address !== undefined && (await answers(address, PORT));
  const host = direct ? address : container.getHost();
  const port = direct ? PORT : container.getMappedPort(PORT);
  return `postgres://${USER}:${PASSWORD}@${host}:${port}/${DATABASE}`;
}
