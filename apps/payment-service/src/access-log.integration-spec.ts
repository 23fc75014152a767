import { hashApiKey } from '@pos/service-runtime';
import { spawnService, SpawnedService, stackEnv } from '@pos/service-testing';
import { testStack, uniqueName } from '@pos/testing';

/**
 * The access log of a service as it runs in production (its bundle, its own process, level info):
 * a secret a client put in the URL by mistake never reaches the log.
 */
describe('access log of a running service', () => {
  const key = 'key-m100-in-a-header';
  let service: SpawnedService;

  beforeAll(async () => {
    const schema = uniqueName('payment');
    service = await spawnService('payment-service', {
      ...(await stackEnv(testStack(), schema)),
      LOG_LEVEL: 'info',
      MERCHANT_API_KEYS: `M100:${hashApiKey(key)}`,
    });
  });

  afterAll(async () => {
    await service?.stop();
  });

  it('logs method, path and status of each request, without the query string', async () => {
    const secret = 'api-key-put-in-the-url-0123456789';
    const response = await fetch(`${service.url}/v1/payments?businessDate=2026-11-27&apiKey=${secret}`, { headers: { 'x-api-key': key } });
    expect(response.status).toBe(200);
    const unauthenticated = await fetch(`${service.url}/v1/payments?x-api-key=${secret}`);
    expect(unauthenticated.status).toBe(401);
    const deadline = Date.now() + 10_000;
    const logged = () => service.output().split('\n').filter((line) => line.includes('"request completed"'));
    while (logged().length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    const lines = logged().map((line) => JSON.parse(line) as { req: unknown; res: unknown });
    expect(lines.map((l) => [l.req, l.res])).toEqual([
      [{ method: 'GET', path: '/v1/payments' }, { statusCode: 200 }],
      [{ method: 'GET', path: '/v1/payments' }, { statusCode: 401 }],
    ]);
    expect(service.output()).not.toContain(secret);
  });
});
