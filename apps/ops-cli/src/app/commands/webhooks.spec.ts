import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { runCli } from '../cli';
import { ExitCode } from '../exit-codes';

/**
 * The webhook commands against a stand-in of the void service's API on 127.0.0.1: what they ask
 * (path, query, token), what they print, and the exit codes of its refusals.
 */
describe('webhooks commands', () => {
  const deliveryId = '0b7c6b2e-8f57-4d0e-9a59-3f2d1c9e4a10';
  const delivery = {
    deliveryId,
    merchantId: 'M001',
    eventId: 'e-1',
    eventType: 'pos.void.accepted',
    eventTime: '2026-12-05T08:00:00.000Z',
    status: 'FAILED',
    attempts: 3,
    redrives: 0,
    lastError: 'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9',
    createdAt: '2026-12-05T08:00:00.100Z',
    completedAt: '2026-12-05T08:00:02.000Z',
  };
  const requests: { method: string; url: string; authorization?: string }[] = [];
  let answer: (request: IncomingMessage) => { status: number; body: unknown };
  let server: Server;
  let url: string;

  beforeAll(async () => {
    server = createServer((request, response) => {
      requests.push({ method: request.method ?? '', url: request.url ?? '', ...(request.headers.authorization ? { authorization: request.headers.authorization } : {}) });
      const { status, body } = answer(request);
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    requests.length = 0;
  });

  async function cli(args: string[], token: string | null = 'op-token'): Promise<{ code: ExitCode; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(['--void-url', url, ...(token ? ['--operator-token', token] : []), ...args], { out: (t) => out.push(t), err: (t) => err.push(t) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  it("lists a merchant's deliveries by status, with the operator's token", async () => {
    answer = () => ({ status: 200, body: { items: [delivery] } });
    const listed = await cli(['webhooks', 'deliveries', '--merchant', 'M001', '--status', 'FAILED']);
    expect(listed.code).toBe(ExitCode.ok);
    expect(requests).toEqual([{ method: 'GET', url: '/v1/webhook/deliveries?merchantId=M001&status=FAILED', authorization: 'Bearer op-token' }]);
    expect(listed.out).toContain(`${deliveryId}  FAILED    M001  pos.void.accepted e-1  attempts 3, redrives 0, last ECONNREFUSED`);
    const json = await cli(['--json', 'webhooks', 'deliveries', '--merchant', 'M001']);
    expect(JSON.parse(json.out)).toEqual([delivery]);
  });

  it('shows one delivery with its log, and redrives it', async () => {
    answer = (request) =>
      request.method === 'POST'
        ? { status: 200, body: { ...delivery, status: 'PENDING', redrives: 1, nextAttemptAt: '2026-12-05T09:00:00.000Z' } }
        : { status: 200, body: { ...delivery, log: [{ attempt: 1, attemptedAt: '2026-12-05T08:00:00.200Z', url: 'https://pos.example.com/h', httpStatus: 503, durationMs: 12, outcome: 'RETRY' }] } };
    const shown = await cli(['webhooks', 'show', deliveryId]);
    expect(shown.code).toBe(ExitCode.ok);
    expect(shown.out).toContain('#1 2026-12-05T08:00:00.200Z  RETRY     HTTP 503  12 ms  https://pos.example.com/h');
    const redriven = await cli(['webhooks', 'redrive', deliveryId]);
    expect(redriven.code).toBe(ExitCode.ok);
    expect(redriven.out).toMatch(/^redriven: .* PENDING .* redrives 1, .* next 2026-12-05T09:00:00.000Z$/);
    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual([`GET /v1/webhook/deliveries/${deliveryId}`, `POST /v1/webhook/deliveries/${deliveryId}/redrive`]);
  });

  it("turns the API's refusals into exit codes, and checks the command line before asking", async () => {
    answer = () => ({ status: 409, body: { code: 'DELIVERY_NOT_FAILED', message: 'the delivery is DELIVERED' } });
    const refused = await cli(['webhooks', 'redrive', deliveryId]);
    expect([refused.code, refused.err]).toEqual([ExitCode.refused, 'error: DELIVERY_NOT_FAILED: the delivery is DELIVERED']);
    answer = () => ({ status: 403, body: { code: 'ROLE_FORBIDDEN', message: 'the role viewer may not use this route' } });
    expect((await cli(['webhooks', 'redrive', deliveryId])).code).toBe(ExitCode.refused);
    answer = () => ({ status: 404, body: { code: 'DELIVERY_NOT_FOUND', message: 'no delivery' } });
    expect((await cli(['webhooks', 'show', deliveryId])).code).toBe(ExitCode.notFound);
    requests.length = 0;
    expect((await cli(['webhooks', 'redrive', 'not-an-id'])).code).toBe(ExitCode.usage);
    expect((await cli(['webhooks', 'deliveries', '--merchant', 'M001', '--status', 'LOST'])).code).toBe(ExitCode.usage);
    expect((await cli(['webhooks', 'deliveries'])).code).toBe(ExitCode.usage);
    const tokenless = await cli(['webhooks', 'deliveries', '--merchant', 'M001'], null);
    expect([tokenless.code, tokenless.err]).toEqual([ExitCode.usage, expect.stringContaining('your token for the void API')]);
    expect(requests).toEqual([]);
    const unreachable = await runCli(['--void-url', 'http://127.0.0.1:9', '--operator-token', 't', 'webhooks', 'show', deliveryId], { out: () => undefined, err: () => undefined });
    expect(unreachable).toBe(ExitCode.apiUnreachable);
  });
});
