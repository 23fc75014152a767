import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { postWebhook } from './webhook-sender';
import { WebhookUrlPolicy } from './webhook-url-policy';

const strict: WebhookUrlPolicy = { allowInsecureLoopback: false, allowPrivateAddresses: false };
const loopback: WebhookUrlPolicy = { allowInsecureLoopback: true, allowPrivateAddresses: false };

/** One POST to a receiver on 127.0.0.1: what reaches it, and what the policy stops before connecting. */
describe('postWebhook', () => {
  const received: { path: string; body: string; headers: Record<string, unknown> }[] = [];
  let server: Server;
  let port: number;

  beforeAll(async () => {
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (c: Buffer) => chunks.push(c));
      request.on('end', () => {
        received.push({ path: request.url ?? '', body: Buffer.concat(chunks).toString(), headers: request.headers });
        if (request.url === '/slow') return; // never answers
        if (request.url === '/moved') return void response.writeHead(302, { location: 'http://127.0.0.1:9/' }).end();
        response.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    received.length = 0;
  });

  it('sends the body as is with the given headers, and answers with the status', async () => {
    const result = await postWebhook(`http://127.0.0.1:${port}/hook`, '{"a":1}', { 'content-type': 'application/json', 'pos-signature': 't=1,v1=ab' }, 2_000, loopback);
    expect(result).toEqual({ kind: 'response', status: 200 });
    expect(received).toEqual([{ path: '/hook', body: '{"a":1}', headers: expect.objectContaining({ 'pos-signature': 't=1,v1=ab', 'content-length': '7' }) }]);
  });

  it('refuses a name that resolves to a forbidden address at the connection, before anything is sent', async () => {
    const result = await postWebhook(`http://localhost:${port}/hook`, '{}', {}, 2_000, strict);
    expect(result).toEqual({ kind: 'not-sent', error: expect.stringMatching(/^localhost: .* is a loopback address/) });
    expect(await postWebhook(`http://localhost:${port}/hook`, '{}', {}, 2_000, loopback)).toEqual({ kind: 'response', status: 200 });
    expect(received).toHaveLength(1);
  });

  it('refuses an address literal the policy forbids without connecting', async () => {
    expect(await postWebhook('https://10.1.2.3/hook', '{}', {}, 2_000, strict)).toEqual({ kind: 'not-sent', error: expect.stringMatching(/private address/) });
    expect(await postWebhook('https://169.254.169.254/latest', '{}', {}, 2_000, { allowInsecureLoopback: true, allowPrivateAddresses: true })).toMatchObject({ kind: 'not-sent' });
  });

  it('does not follow a redirect', async () => {
    expect(await postWebhook(`http://127.0.0.1:${port}/moved`, '{}', {}, 2_000, loopback)).toEqual({ kind: 'response', status: 302 });
    expect(received.map((r) => r.path)).toEqual(['/moved']);
  });

  it('gives up on a receiver that does not answer in time, and reports a refused connection', async () => {
    const started = Date.now();
    expect(await postWebhook(`http://127.0.0.1:${port}/slow`, '{}', {}, 300, loopback)).toEqual({ kind: 'network-error', error: 'no answer within 300 ms' });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await postWebhook('http://127.0.0.1:9/hook', '{}', {}, 2_000, loopback)).toEqual({ kind: 'network-error', error: expect.stringMatching(/^ECONNREFUSED/) });
  });
});
