import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { StackClient } from './stack-client';

/** A payment service that answers each POST with the next of its scripted answers. */
async function scripted(answers: { status: number; retryAfter?: string; code: string }[]): Promise<{ url: string; server: Server; seen: string[] }> {
  const seen: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      seen.push(body);
      const next = answers[Math.min(seen.length - 1, answers.length - 1)];
      res.writeHead(next.status, { 'content-type': 'application/json', ...(next.retryAfter ? { 'retry-after': next.retryAfter } : {}) });
      res.end(JSON.stringify({ code: next.code }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, seen };
}

const credentials = { apiKeys: new Map([['M1', 'key-1']]), supervisorCredentials: new Map<string, string>() };

describe('StackClient', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  });

  const clientOf = (url: string) => new StackClient(() => ({ paymentUrl: url, voidUrl: url, clearingUrl: url }), credentials);

  it('sends a request answered 503 with a Retry-After again, unchanged, and returns the final answer timed from the first attempt', async () => {
    const service = await scripted([
      { status: 503, retryAfter: '0', code: 'DATABASE_UNAVAILABLE' },
      { status: 503, retryAfter: '0', code: 'DATABASE_UNAVAILABLE' },
      { status: 201, code: 'CREATED' },
    ]);
    servers.push(service.server);
    const before = Date.now();
    const answer = await clientOf(service.url).submitPayment('M1', { outTradeNo: 'O-1', amountFen: 100 });
    expect(answer.status).toBe(201);
    expect(answer.body).toEqual({ code: 'CREATED' });
    expect(answer).not.toHaveProperty('retryAfter');
    expect(answer.sentAt).toBeGreaterThanOrEqual(before);
    expect(service.seen).toHaveLength(3);
    expect(new Set(service.seen)).toEqual(new Set([JSON.stringify({ outTradeNo: 'O-1', amountFen: 100 })]));
  });

  it('keeps a 503 without Retry-After (not ready) and any other answer as it is', async () => {
    const notReady = await scripted([{ status: 503, code: 'SERVICE_UNAVAILABLE' }]);
    const failing = await scripted([{ status: 500, code: 'INTERNAL_ERROR' }]);
    servers.push(notReady.server, failing.server);
    expect((await clientOf(notReady.url).submitPayment('M1', {})).body).toEqual({ code: 'SERVICE_UNAVAILABLE' });
    expect((await clientOf(failing.url).submitPayment('M1', {})).status).toBe(500);
    expect([notReady.seen.length, failing.seen.length]).toEqual([1, 1]);
  });

  it('gives up after five attempts and returns the last 503', async () => {
    const service = await scripted([{ status: 503, retryAfter: '0', code: 'DATABASE_UNAVAILABLE' }]);
    servers.push(service.server);
    const answer = await clientOf(service.url).submitPayment('M1', {});
    expect(answer.status).toBe(503);
    expect(service.seen).toHaveLength(5);
  });
});
