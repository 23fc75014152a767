import { Client } from 'pg';
import { ServiceDefinition } from '@pos/service-runtime';
import { bootService } from './boot-service';
import { testStack } from '@pos/testing';

/**
 * The boot contract every service keeps, as one reusable test: on an empty schema it applies its
 * migrations and then reports live and ready (PostgreSQL and Kafka up).
 */
export function describeServiceBoot(definition: ServiceDefinition): void {
  describe(`${definition.identity.name} boot`, () => {
    it('migrates an empty schema, reports live and ready, serves its OpenAPI document and refuses bad JSON with a code', async () => {
      const stack = testStack();
      const service = await bootService(definition, stack);
      try {
        const client = new Client({ connectionString: stack.postgresUrl });
        await client.connect();
        try {
          const applied = await client.query<{ name: string }>(
            `SELECT name FROM "${service.schema}".schema_migrations ORDER BY id`,
          );
          expect(applied.rows.map((r) => r.name)).toEqual(definition.migrations.map((m) => m.name));
        } finally {
          await client.end();
        }

        const live = await fetch(`${service.url}/health/live`);
        expect(live.status).toBe(200);
        const ready = await fetch(`${service.url}/health/ready`);
        expect(ready.status).toBe(200);
        expect(await ready.json()).toMatchObject({
          status: 'ok',
          info: { database: { status: 'up' }, kafka: { status: 'up' } },
        });

        const openApi = await fetch(`${service.url}/v1/openapi.json`);
        expect(openApi.status).toBe(200);
        expect(await openApi.json()).toMatchObject({ openapi: expect.stringMatching(/^3\./), info: { title: definition.identity.name } });

        const malformed = await fetch(`${service.url}/v1/anything`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"amountFen": 1',
        });
        expect(malformed.status).toBe(400);
        expect(await malformed.json()).toMatchObject({ code: 'MALFORMED_JSON' });
      } finally {
        await service.close();
      }
    });
  });
}
