import { messagingMigrations } from '@pos/messaging';
import { ServiceDefinition } from '@pos/service-runtime';
import { imageFor, startPostgres, testStack } from '@pos/testing';
import { bootService } from './boot-service';

const definition: ServiceDefinition = {
  identity: { name: 'health-probe-service', version: 'test' },
  topics: [],
  migrations: messagingMigrations,
};

describe('readiness when the database goes away', () => {
  it('reports ready, then down with the database named, once PostgreSQL is stopped', async () => {
    // Its own PostgreSQL: stopping the run's shared one would break every other test file.
    const postgres = await startPostgres(imageFor('POSTGRES_IMAGE'));
    const service = await bootService(definition, { ...testStack(), postgresUrl: postgres.url });
    try {
      const before = await fetch(`${service.url}/health/ready`);
      expect(before.status).toBe(200);

      await postgres.stop();

      const after = await fetch(`${service.url}/health/ready`);
      expect(after.status).toBe(503);
      const body = await after.json();
      expect(body).toMatchObject({
        status: 'error',
        error: { database: { status: 'down' } },
        info: { kafka: { status: 'up' } },
      });
      const live = await fetch(`${service.url}/health/live`);
      expect(live.status).toBe(200);
    } finally {
      await service.close();
    }
  });
});
