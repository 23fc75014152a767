import { Agent, get } from 'node:http';
import { messagingMigrations } from '@pos/messaging';
import { ServiceDefinition } from '@pos/service-runtime';
import { testStack } from '@pos/testing';
import { bootService } from './boot-service';

const definition: ServiceDefinition = {
  identity: { name: 'keep-alive-probe-service', version: 'test' },
  topics: [],
  migrations: messagingMigrations,
};

function getLive(url: string, agent: Agent): Promise<{ status: number; reusedSocket: boolean }> {
  return new Promise((resolve, reject) => {
    const request = get(`${url}/health/live`, { agent }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0, reusedSocket: request.reusedSocket }));
    });
    request.on('error', reject);
  });
}

describe('keep-alive connections', () => {
  it('stay open while idle past Node’s default of 5 s, so the client, not the service, ends them', async () => {
    const service = await bootService(definition, testStack());
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await getLive(service.url, agent);
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      const second = await getLive(service.url, agent);

      expect(first).toEqual({ status: 200, reusedSocket: false });
      expect(second).toEqual({ status: 200, reusedSocket: true });
    } finally {
      agent.destroy();
      await service.close();
    }
  });
});
