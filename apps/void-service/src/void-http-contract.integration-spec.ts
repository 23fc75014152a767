import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { hashApiKey } from '@pos/service-runtime';
import { BootedService, bootService, expectRequestLevelErrors, HttpErrorContract, WIRE_INSTANT } from '@pos/service-testing';
import { testStack } from '@pos/testing';
import { voidServiceDefinition } from './app/void-service.definition';

/**
 * The void service's HTTP contract on real Kafka and PostgreSQL: every error answer of every
 * route is one its OpenAPI document lists, with the catalogue's code and status, and every code
 * the document lists is provoked here.
 */
describe('void service HTTP contract', () => {
  const stack = testStack();
  const key = 'key-of-merchant-100';
  const viewerToken = 'viewer-token-of-the-contract-0001';
  let service: BootedService;
  let contract: HttpErrorContract;
  let sequence = 0;
  const auth = () => ({ 'x-api-key': key, 'idempotency-key': `contract-${Date.now()}-${++sequence}` });
  const voidRequest = (extra: Record<string, unknown> = {}) => ({ terminalId: 'T1', paymentId: randomUUID(), amountFen: 1999, operatorId: 'OP1', ...extra });

  beforeAll(async () => {
    service = await bootService(voidServiceDefinition, stack, {
      MERCHANT_API_KEYS: `M100:${hashApiKey(key)}`,
      OPERATOR_TOKENS: `victor:viewer:${hashApiKey(viewerToken)}`,
      // The webhook routes exist only with a key.
      WEBHOOK_SECRET_KEY: randomBytes(32).toString('hex'),
    });
    contract = await HttpErrorContract.of(service.url, 'void');
  });

  afterAll(async () => {
    await service?.close();
  });

  it('answers every refusal of a void request with a documented code, and is no decision', async () => {
    const refuse = (headers: Record<string, string>, body: unknown, code: Parameters<HttpErrorContract['expectError']>[3]) =>
      contract.expectError('post', '/v1/voids', { path: '/v1/voids', headers, body }, code);
    await refuse(auth(), voidRequest({ currency: 'USD' }), 'VALIDATION_FAILED');
    await refuse(auth(), voidRequest({ amountFen: 0 }), 'INVALID_AMOUNT');
    await refuse({ 'x-api-key': key }, voidRequest(), 'IDEMPOTENCY_KEY_REQUIRED');
    await refuse(auth(), voidRequest({ idempotencyKey: 'another-key-0001' }), 'IDEMPOTENCY_KEY_CONFLICT');
    await refuse(auth(), { terminalId: 'T1', amountFen: 1999, operatorId: 'OP1' }, 'PAYMENT_REFERENCE_REQUIRED');
    await refuse(auth(), voidRequest({ merchantId: 'M200' }), 'MERCHANT_MISMATCH');
  });

  it('refuses supervisor authorisations with documented codes, a locked supervisor with its own', async () => {
    const authorise = (body: unknown, code: Parameters<HttpErrorContract['expectError']>[3]) =>
      contract.expectError('post', '/v1/supervisor-authorisations', { path: '/v1/supervisor-authorisations', headers: { 'x-api-key': key }, body }, code);
    const supervisor = { operatorId: 'OP9', credential: '0000' };
    await authorise({ terminalId: 'T1', paymentId: randomUUID(), supervisor: { operatorId: 'OP9' } }, 'VALIDATION_FAILED');
    await authorise({ terminalId: 'T1', supervisor }, 'PAYMENT_REFERENCE_REQUIRED');
    // OP9 is no supervisor here: each attempt is a wrong credential, and the fifth (the default) locks it.
    for (let attempt = 1; attempt <= 4; attempt++) await authorise({ terminalId: 'T1', paymentId: randomUUID(), supervisor }, 'SUPERVISOR_AUTH_FAILED');
    await authorise({ terminalId: 'T1', paymentId: randomUUID(), supervisor }, 'SUPERVISOR_LOCKED');
  });

  it('refuses malformed ids with 400 (INVALID_VOID_ID, INVALID_PAYMENT_ID) and an unknown void with 404 VOID_NOT_FOUND', async () => {
    const headers = { 'x-api-key': key };
    await contract.expectError('get', '/v1/voids/{voidId}', { path: '/v1/voids/not-a-uuid', headers }, 'INVALID_VOID_ID');
    await contract.expectError('get', '/v1/voids/{voidId}', { path: `/v1/voids/${randomUUID()}`, headers }, 'VOID_NOT_FOUND');
    await contract.expectError('get', '/v1/payments/{paymentId}/voids', { path: '/v1/payments/not-a-uuid/voids', headers }, 'INVALID_PAYMENT_ID');
  });

  it('refuses a bad eligibility question and bad bulk requests with documented codes', async () => {
    const headers = { 'x-api-key': key };
    const eligibility = '/v1/payments/{paymentId}/void-eligibility';
    await contract.expectError('get', eligibility, { path: '/v1/payments/not-a-uuid/void-eligibility', headers }, 'INVALID_PAYMENT_ID');
    await contract.expectError('get', eligibility, { path: `/v1/payments/${randomUUID()}/void-eligibility?terminalId=%20T1`, headers }, 'INVALID_TERMINAL_ID');
    await contract.expectError('get', eligibility, { path: `/v1/payments/${randomUUID()}/void-eligibility?terminalId=T1&terminalId=T2`, headers }, 'INVALID_TERMINAL_ID');
    const bulk = (body: unknown, code: Parameters<HttpErrorContract['expectError']>[3]) =>
      contract.expectError('post', '/v1/voids/bulk', { path: '/v1/voids/bulk', headers, body }, code);
    await bulk({ items: [] }, 'BULK_ITEMS_REQUIRED');
    await bulk({}, 'BULK_ITEMS_REQUIRED');
    await bulk({ items: Array.from({ length: 101 }, (_, i) => voidRequest({ idempotencyKey: `bulk-contract-${i}` })) }, 'BULK_TOO_MANY_ITEMS');
    await bulk({ items: [voidRequest({ idempotencyKey: 'bulk-contract-x' })], dryRun: true }, 'VALIDATION_FAILED');
  });

  it('refuses bad decision queries with documented codes', async () => {
    const query = (q: string, code: Parameters<HttpErrorContract['expectError']>[3]) =>
      contract.expectError('get', '/v1/voids', { path: `/v1/voids?${q}`, headers: { 'x-api-key': key } }, code);
    await query('date=2026-02-30', 'INVALID_DATE');
    await query('date=2026-11-27&reason=SOMETHING', 'INVALID_REASON');
    await query('date=2026-11-27&decision=MAYBE', 'INVALID_DECISION');
    await query('date=2026-11-27&limit=501', 'INVALID_LIMIT');
    await query('date=2026-11-27&after=bm90LWEtY3Vyc29y', 'INVALID_CURSOR');
  });

  it('refuses webhook registrations and queries with documented codes', async () => {
    const headers = { 'x-api-key': key };
    const put = (body: unknown, code: Parameters<HttpErrorContract['expectError']>[3]) =>
      contract.expectError('put', '/v1/webhook', { path: '/v1/webhook', headers, body }, code);
    await put([], 'VALIDATION_FAILED');
    await put({ url: 'https://pos.example.com/hook', events: ['all'] }, 'VALIDATION_FAILED');
    await put({ url: 'hook' }, 'WEBHOOK_URL_INVALID');
    await put({ url: 'http://pos.example.com/hook' }, 'WEBHOOK_URL_SCHEME_NOT_ALLOWED');
    await put({ url: 'https://me:pw@pos.example.com/hook' }, 'WEBHOOK_URL_CREDENTIALS');
    await put({ url: 'https://192.168.1.20/hook' }, 'WEBHOOK_URL_ADDRESS_FORBIDDEN');
    await contract.expectError('get', '/v1/webhook', { path: '/v1/webhook', headers }, 'WEBHOOK_NOT_FOUND');
    await contract.expectError('delete', '/v1/webhook', { path: '/v1/webhook', headers }, 'WEBHOOK_NOT_FOUND');
    await contract.expectError('post', '/v1/webhook/secret', { path: '/v1/webhook/secret', headers }, 'WEBHOOK_NOT_FOUND');

    const list = (query: string, who: Record<string, string>, code: Parameters<HttpErrorContract['expectError']>[3]) =>
      contract.expectError('get', '/v1/webhook/deliveries', { path: `/v1/webhook/deliveries?${query}`, headers: who }, code);
    await list('status=LOST', headers, 'INVALID_DELIVERY_STATUS');
    await list('limit=0', headers, 'INVALID_LIMIT');
    await list('merchantId=M200', headers, 'MERCHANT_MISMATCH');
    await list('status=FAILED', { authorization: `Bearer ${viewerToken}` }, 'MERCHANT_ID_REQUIRED');
    const one = '/v1/webhook/deliveries/{deliveryId}';
    await contract.expectError('get', one, { path: '/v1/webhook/deliveries/not-a-uuid', headers }, 'INVALID_DELIVERY_ID');
    await contract.expectError('get', one, { path: `/v1/webhook/deliveries/${randomUUID()}`, headers }, 'DELIVERY_NOT_FOUND');
  });

  it('refuses redrives with documented codes', async () => {
    // A delivered delivery, and a failed one of a merchant whose webhook is gone, as the worker leaves them.
    const db = new Client({ connectionString: stack.postgresUrl });
    await db.connect();
    const [delivered, orphaned] = [randomUUID(), randomUUID()];
    try {
      await db.query(
        `INSERT INTO ${service.schema}.webhook_deliveries (delivery_id, merchant_id, event_id, event_type, event_time, body, status, next_attempt_at, completed_at)
         VALUES ($1, 'M100', $3, 'pos.void.rejected', now(), '{}', 'DELIVERED', NULL, now()), ($2, 'M100', $4, 'pos.void.rejected', now(), '{}', 'FAILED', NULL, now())`,
        [delivered, orphaned, randomUUID(), randomUUID()],
      );
    } finally {
      await db.end();
    }
    const route = '/v1/webhook/deliveries/{deliveryId}/redrive';
    const redrive = (id: string, headers: Record<string, string>, code: Parameters<HttpErrorContract['expectError']>[3]) =>
      contract.expectError('post', route, { path: `/v1/webhook/deliveries/${id}/redrive`, headers }, code);
    await redrive('not-a-uuid', { 'x-api-key': key }, 'INVALID_DELIVERY_ID');
    await redrive(randomUUID(), { 'x-api-key': key }, 'DELIVERY_NOT_FOUND');
    await redrive(delivered, { 'x-api-key': key }, 'DELIVERY_NOT_FAILED');
    await redrive(orphaned, { 'x-api-key': key }, 'WEBHOOK_NOT_FOUND');
    await redrive(orphaned, { authorization: `Bearer ${viewerToken}` }, 'ROLE_FORBIDDEN');
  });

  it('answers bad bodies and missing API keys on every route with documented codes', async () => {
    await contract.expectSharedErrors();
  });

  it('answers what Node refuses before any route, and unknown routes, with {code, message}', async () => {
    await expectRequestLevelErrors(service.url);
  });

  it('writes the instants of its decisions in UTC (Z)', async () => {
    const response = await fetch(`${service.url}/v1/voids`, { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: JSON.stringify(voidRequest()) });
    const decision = (await response.json()) as Record<string, unknown>;
    expect(decision).toMatchObject({ decision: 'REJECTED', reason: 'PAYMENT_NOT_FOUND' });
    expect(decision['decidedAt']).toMatch(WIRE_INSTANT);
  });

  // Last: the tests above provoke the codes.
  it('documents only codes of the catalogue that the void service answers, and every one of them was provoked', () => {
    expect(contract.foreignCodes()).toEqual([]);
    expect(contract.unprovoked()).toEqual([]);
  });
});
