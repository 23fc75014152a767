import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Client } from 'pg';
import { hashApiKey } from '@pos/service-runtime';
import { BootedService, bootService } from '@pos/service-testing';
import { testStack, uniqueName } from '@pos/testing';
import { voidServiceDefinition } from './app/void-service.definition';

/**
 * Webhooks on real Kafka and PostgreSQL, delivered to a real HTTP receiver on 127.0.0.1: the
 * merchant registers, a void is decided over HTTP, the void service's own consumer group records
 * the delivery and its worker POSTs the signed event; retries, failure, redrive and isolation.
 */
const KEYS = { M100: 'key-of-merchant-100', M200: 'key-of-merchant-200', M300: 'key-of-merchant-300', M400: 'key-of-merchant-400' };
const OPERATOR = 'operator-token-of-olga-0001';
const VIEWER = 'viewer-token-of-victor-0001';
const MAX_ATTEMPTS = 3;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly at: number;
}

/** A webhook receiver: records every request; answers each path from its queue of statuses, then 200. */
class Receiver {
  readonly received: Received[] = [];
  private readonly answers = new Map<string, number[]>();
  private server?: Server;
  port = 0;

  async start(port = 0): Promise<void> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const path = request.url ?? '/';
        this.received.push({ path, headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
        const status = this.answers.get(path)?.shift() ?? 200;
        response.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'not now');
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    this.server = undefined;
  }

  answer(path: string, statuses: number[]): void {
    this.answers.set(path, statuses);
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  eventsFor(path: string): { received: Received; event: { id: string; type: string; time: string; data: Record<string, unknown> } }[] {
    return this.received.filter((r) => r.path === path).map((received) => ({ received, event: JSON.parse(received.body) }));
  }
}

/** What a receiver does with `Pos-Signature`, written here from the documentation, not from the service's signer. */
function verifySignature(header: string | undefined, body: string, secret: string, toleranceSeconds = 300): boolean {
  if (!header) return false;
  const fields = header.split(',').map((part) => part.split('=') as [string, string]);
  const timestamp = Number(fields.find(([name]) => name === 't')?.[1]);
  if (!Number.isInteger(timestamp) || Math.abs(Date.now() / 1000 - timestamp) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex');
  return fields.some(([name, value]) => name === 'v1' && value === expected);
}

describe('webhook deliveries on real Kafka and PostgreSQL', () => {
  const stack = testStack();
  let service: BootedService;
  let db: Client;
  const receiver = new Receiver();
  let sequence = 0;

  beforeAll(async () => {
    await receiver.start();
    service = await bootService(voidServiceDefinition, stack, {
      KAFKA_TOPIC_PREFIX: `${uniqueName('webhookit')}.`,
      MERCHANT_API_KEYS: Object.entries(KEYS).map(([merchant, key]) => `${merchant}:${hashApiKey(key)}`).join(','),
      OPERATOR_TOKENS: `olga:operator:${hashApiKey(OPERATOR)},victor:viewer:${hashApiKey(VIEWER)}`,
      WEBHOOK_SECRET_KEY: randomBytes(32).toString('base64'),
      WEBHOOK_ALLOW_INSECURE_LOOPBACK: 'true',
      WEBHOOK_POLL_INTERVAL: '100ms',
      WEBHOOK_TIMEOUT: '2s',
      WEBHOOK_BACKOFF_INITIAL: '200ms',
      WEBHOOK_BACKOFF_MAX: '400ms',
      WEBHOOK_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
      WEBHOOK_SECRET_ROTATION_GRACE: '1h',
    });
    db = new Client({ connectionString: stack.postgresUrl });
    await db.connect();
  });

  afterAll(async () => {
    await db?.end();
    await service?.close();
    await receiver.stop();
  });

  async function call(method: string, path: string, auth: { key?: string; token?: string }, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(`${service.url}${path}`, {
      method,
      headers: {
        ...(auth.key ? { 'x-api-key': auth.key } : {}),
        ...(auth.token ? { authorization: `Bearer ${auth.token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }

  /** A void the service decides at once: REJECTED (PAYMENT_NOT_FOUND), which merchants are told too. */
  async function decideVoid(merchant: keyof typeof KEYS): Promise<string> {
    const answer = await call('POST', '/v1/voids', { key: KEYS[merchant] }, {
      idempotencyKey: `webhook-${Date.now()}-${++sequence}`,
      terminalId: 'T1',
      paymentId: randomUUID(),
      amountFen: 1999,
      operatorId: 'OP1',
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ decision: 'REJECTED', reason: 'PAYMENT_NOT_FOUND' });
    return answer.body['voidId'] as string;
  }

  async function until<T>(read: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await read();
      if (value !== undefined && value !== false) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(100);
    }
  }

  async function register(merchant: keyof typeof KEYS, url: string): Promise<string> {
    const answer = await call('PUT', '/v1/webhook', { key: KEYS[merchant] }, { url });
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({ url });
    return answer.body['secret'] as string;
  }

  async function deliveryOf(merchant: keyof typeof KEYS, voidId: string, status?: string): Promise<Record<string, unknown> | undefined> {
    const list = await call('GET', `/v1/webhook/deliveries${status ? `?status=${status}` : ''}`, { key: KEYS[merchant] });
    const items = list.body['items'] as Record<string, unknown>[];
    const [row] = (await db.query(`SELECT delivery_id FROM ${service.schema}.webhook_deliveries WHERE body::jsonb -> 'data' ->> 'voidId' = $1`, [voidId])).rows as { delivery_id: string }[];
    return items.find((item) => item['deliveryId'] === row?.delivery_id);
  }

  const secrets: Partial<Record<keyof typeof KEYS, string>> = {};

  it('registers a webhook, shows it without its secret, and delivers a decided void to it, signed', async () => {
    secrets.M100 = await register('M100', receiver.url('/m100'));
    expect(secrets.M100).toMatch(/^whsec_/);
    const shown = await call('GET', '/v1/webhook', { key: KEYS.M100 });
    expect(shown.status).toBe(200);
    expect(shown.body).toEqual({ url: receiver.url('/m100'), createdAt: expect.any(String), updatedAt: expect.any(String), secretRotatedAt: expect.any(String) });

    const voidId = await decideVoid('M100');
    const [{ received, event }] = await until(() => {
      const found = receiver.eventsFor('/m100').filter(({ event }) => event.data['voidId'] === voidId);
      return found.length > 0 ? found : undefined;
    }, 'the delivery of the rejected void');
    expect(event).toMatchObject({ specversion: '1.0', type: 'pos.void.rejected', source: '/void-service', data: { voidId, merchantId: 'M100', reason: 'PAYMENT_NOT_FOUND' } });
    expect(event.id).toEqual(expect.any(String));
    expect(received.headers['content-type']).toBe('application/cloudevents+json; charset=utf-8');
    expect(received.headers['pos-event-id']).toBe(event.id);
    expect(verifySignature(received.headers['pos-signature'] as string, received.body, secrets.M100 as string)).toBe(true);
    // Checks that can fail: another secret, another body, an old timestamp.
    expect(verifySignature(received.headers['pos-signature'] as string, received.body, 'whsec_wrong')).toBe(false);
    expect(verifySignature(received.headers['pos-signature'] as string, received.body.replace('PAYMENT_NOT_FOUND', 'PAYMENT_NOT_FOUNX'), secrets.M100 as string)).toBe(false);
    expect(verifySignature(received.headers['pos-signature'] as string, received.body, secrets.M100 as string, -1)).toBe(false);

    const delivered = await until(() => deliveryOf('M100', voidId, 'DELIVERED'), 'the delivery DELIVERED');
    expect(delivered).toMatchObject({ eventId: event.id, eventType: 'pos.void.rejected', status: 'DELIVERED', attempts: 1 });
  });

  it('retries a receiver answering 500 twice, then 200: three attempts in the log', async () => {
    await register('M200', receiver.url('/m200'));
    receiver.answer('/m200', [500, 500]);
    const voidId = await decideVoid('M200');
    const delivery = await until(() => deliveryOf('M200', voidId, 'DELIVERED'), 'the delivery after two 500s');
    const shown = await call('GET', `/v1/webhook/deliveries/${delivery['deliveryId'] as string}`, { key: KEYS.M200 });
    expect(shown.body).toMatchObject({ status: 'DELIVERED', attempts: 3, lastHttpStatus: 200 });
    expect((shown.body['log'] as Record<string, unknown>[]).map((a) => [a['attempt'], a['httpStatus'], a['outcome'], a['url']])).toEqual([
      [1, 500, 'RETRY', receiver.url('/m200')],
      [2, 500, 'RETRY', receiver.url('/m200')],
      [3, 200, 'DELIVERED', receiver.url('/m200')],
    ]);
    const attempts = receiver.eventsFor('/m200').filter(({ event }) => event.data['voidId'] === voidId);
    expect(attempts.map(({ received }) => received.headers['pos-delivery-attempt'])).toEqual(['1', '2', '3']);
    // The same event every time (receivers deduplicate on its id), waiting longer between attempts.
    expect(new Set(attempts.map(({ event }) => event.id)).size).toBe(1);
    expect(new Set(attempts.map(({ received }) => received.body)).size).toBe(1);
    expect(attempts[2].received.at - attempts[1].received.at).toBeGreaterThanOrEqual(attempts[1].received.at - attempts[0].received.at - 100);
  });

  it('makes a delivery to a receiver that is down FAILED after the configured attempts; an operator redrives it once it is up, in the audit trail', async () => {
    const down = new Receiver();
    await down.start();
    const port = down.port;
    await down.stop();
    await register('M300', `http://127.0.0.1:${port}/m300`);
    const voidId = await decideVoid('M300');
    const failed = await until(() => deliveryOf('M300', voidId, 'FAILED'), 'the delivery FAILED');
    const deliveryId = failed['deliveryId'] as string;
    const log = (await call('GET', `/v1/webhook/deliveries/${deliveryId}`, { token: VIEWER })).body['log'] as Record<string, unknown>[];
    expect(log.map((a) => [a['attempt'], a['outcome']])).toEqual([
      [1, 'RETRY'],
      [2, 'RETRY'],
      [MAX_ATTEMPTS, 'FAILED'],
    ]);
    for (const attempt of log) {
      expect(attempt['httpStatus']).toBeUndefined();
      expect(attempt['error']).toMatch(/ECONNREFUSED/);
    }

    // Operators list by merchant; a viewer may read but not redrive; a pending or delivered one is not redriven.
    const listed = await call('GET', '/v1/webhook/deliveries?merchantId=M300&status=FAILED', { token: VIEWER });
    expect((listed.body['items'] as Record<string, unknown>[]).map((i) => i['deliveryId'])).toContain(deliveryId);
    expect((await call('GET', '/v1/webhook/deliveries?status=FAILED', { token: VIEWER })).body['code']).toBe('MERCHANT_ID_REQUIRED');
    expect((await call('POST', `/v1/webhook/deliveries/${deliveryId}/redrive`, { token: VIEWER })).body['code']).toBe('ROLE_FORBIDDEN');

    const up = new Receiver();
    await up.start(port);
    try {
      const redriven = await call('POST', `/v1/webhook/deliveries/${deliveryId}/redrive`, { token: OPERATOR });
      expect(redriven.status).toBe(200);
      expect(redriven.body).toMatchObject({ deliveryId, status: 'PENDING', redrives: 1 });
      const again = await call('POST', `/v1/webhook/deliveries/${deliveryId}/redrive`, { token: OPERATOR });
      expect([again.status, again.body['code']]).toEqual([409, 'DELIVERY_NOT_FAILED']);
      await until(() => deliveryOf('M300', voidId, 'DELIVERED'), 'the redriven delivery DELIVERED');
      expect(up.eventsFor('/m300').map(({ event }) => event.data['voidId'])).toEqual([voidId]);
      const shown = await call('GET', `/v1/webhook/deliveries/${deliveryId}`, { key: KEYS.M300 });
      expect((shown.body['log'] as Record<string, unknown>[]).map((a) => [a['attempt'], a['outcome'], a['httpStatus'] ?? null])).toEqual([
        [1, 'RETRY', null],
        [2, 'RETRY', null],
        [3, 'FAILED', null],
        [4, 'DELIVERED', 200],
      ]);
    } finally {
      await up.stop();
    }
    const audit = await db.query(`SELECT actor, role, action, target, outcome FROM ${service.schema}.audit_log WHERE target = $1 ORDER BY id`, [deliveryId]);
    expect(audit.rows).toEqual([
      { actor: 'olga', role: 'operator', action: 'webhook-delivery.redriven', target: deliveryId, outcome: 'SUCCEEDED' },
      { actor: 'olga', role: 'operator', action: 'webhook-delivery.redriven', target: deliveryId, outcome: 'REFUSED' },
    ]);
  });

  it('delivers nothing to a merchant without a webhook', async () => {
    const voidId = await decideVoid('M400');
    // Once the webhook group has taken the event (its inbox row), nothing more can come of it.
    await until(async () => {
      const { rows } = await db.query(
        `SELECT 1 FROM ${service.schema}.inbox i JOIN ${service.schema}.outbox o ON o.event_id::text = i.event_id
          WHERE i.consumer_group LIKE '%void-service.webhooks' AND o.payload ->> 'voidId' = $1`,
        [voidId],
      );
      return rows.length > 0 ? true : undefined;
    }, "the webhook group's inbox row of M400's event");
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM ${service.schema}.webhook_deliveries WHERE merchant_id = 'M400'`);
    expect(rows[0]).toEqual({ n: 0 });
    expect(receiver.received.filter((r) => r.body.includes(voidId))).toEqual([]);
    expect((await call('GET', '/v1/webhook', { key: KEYS.M400 })).body['code']).toBe('WEBHOOK_NOT_FOUND');
    expect((await call('GET', '/v1/webhook/deliveries', { key: KEYS.M400 })).body).toEqual({ items: [] });
  });

  it("shows a merchant its own deliveries only, never another merchant's", async () => {
    const own = (await call('GET', '/v1/webhook/deliveries', { key: KEYS.M100 })).body['items'] as Record<string, unknown>[];
    expect(own.length).toBeGreaterThan(0);
    expect(new Set(own.map((d) => d['merchantId']))).toEqual(new Set(['M100']));
    const foreign = own[0]['deliveryId'] as string;
    expect((await call('GET', `/v1/webhook/deliveries/${foreign}`, { key: KEYS.M200 })).body['code']).toBe('DELIVERY_NOT_FOUND');
    expect((await call('POST', `/v1/webhook/deliveries/${foreign}/redrive`, { key: KEYS.M200 })).body['code']).toBe('DELIVERY_NOT_FOUND');
    expect((await call('GET', '/v1/webhook/deliveries?merchantId=M100', { key: KEYS.M200 })).body['code']).toBe('MERCHANT_MISMATCH');
    const others = (await call('GET', '/v1/webhook/deliveries', { key: KEYS.M200 })).body['items'] as Record<string, unknown>[];
    expect(others.map((d) => d['deliveryId'])).not.toContain(foreign);
    expect(new Set(others.map((d) => d['merchantId']))).toEqual(new Set(['M200']));
  });

  it('signs with the new secret after a rotation, and with the previous one too during the grace', async () => {
    const rotated = await call('POST', '/v1/webhook/secret', { key: KEYS.M100 });
    expect(rotated.status).toBe(200);
    const secret = rotated.body['secret'] as string;
    expect(secret).not.toBe(secrets.M100);
    const voidId = await decideVoid('M100');
    const [{ received }] = await until(() => {
      const found = receiver.eventsFor('/m100').filter(({ event }) => event.data['voidId'] === voidId);
      return found.length > 0 ? found : undefined;
    }, 'the delivery after the rotation');
    const header = received.headers['pos-signature'] as string;
    expect(header.split(',').filter((part) => part.startsWith('v1='))).toHaveLength(2);
    expect(verifySignature(header, received.body, secret)).toBe(true);
    expect(verifySignature(header, received.body, secrets.M100 as string)).toBe(true);
  });

  it('refuses URLs it may not deliver to, and removes a webhook', async () => {
    const refuse = async (url: unknown, code: string) => expect((await call('PUT', '/v1/webhook', { key: KEYS.M400 }, { url })).body['code']).toBe(code);
    await refuse('http://pos.example.com/hook', 'WEBHOOK_URL_SCHEME_NOT_ALLOWED');
    await refuse('https://user:pw@pos.example.com/hook', 'WEBHOOK_URL_CREDENTIALS');
    await refuse('https://169.254.169.254/latest', 'WEBHOOK_URL_ADDRESS_FORBIDDEN');
    await refuse('https://10.0.0.8/hook', 'WEBHOOK_URL_ADDRESS_FORBIDDEN');
    await refuse('not a url', 'WEBHOOK_URL_INVALID');
    await refuse(42, 'WEBHOOK_URL_INVALID');

    const changed = await call('PUT', '/v1/webhook', { key: KEYS.M200 }, { url: receiver.url('/m200-new') });
    expect(changed.status).toBe(200);
    expect(changed.body['secret']).toBeUndefined();
    expect((await call('DELETE', '/v1/webhook', { key: KEYS.M200 })).status).toBe(204);
    expect((await call('GET', '/v1/webhook', { key: KEYS.M200 })).body['code']).toBe('WEBHOOK_NOT_FOUND');
    expect((await call('DELETE', '/v1/webhook', { key: KEYS.M200 })).body['code']).toBe('WEBHOOK_NOT_FOUND');
  });

  it('counts attempts by outcome and reports the backlog', async () => {
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(/^pos_webhook_delivery_attempts_total\{outcome="DELIVERED"\} [1-9]/m);
    expect(metrics).toMatch(/^pos_webhook_delivery_attempts_total\{outcome="RETRY"\} [1-9]/m);
    expect(metrics).toMatch(/^pos_webhook_delivery_attempts_total\{outcome="FAILED"\} [1-9]/m);
    expect(metrics).toMatch(/^pos_webhook_backlog 0$/m);
    expect(metrics).toMatch(/^pos_webhook_failed_deliveries 0$/m);
  });
});
