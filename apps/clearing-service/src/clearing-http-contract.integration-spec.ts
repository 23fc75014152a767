import { randomUUID } from 'node:crypto';
import { BootedService, bootService, expectRequestLevelErrors, HttpErrorContract, WIRE_INSTANT } from '@pos/service-testing';
import { testStack, uniqueName } from '@pos/testing';
import { clearingServiceDefinition } from './app/clearing-service.definition';
import { asMerchant, asOperator, clearingAuthEnv, ClearingDatabase, eventually, keyedMerchantId, payment, TestOperator, Upstream } from './testing/clearing-harness';

/**
 * The clearing service's HTTP contract on real Kafka and PostgreSQL: every error answer of every
 * route is one its OpenAPI document lists, with the catalogue's code and status, and every code
 * the document lists is provoked here.
 */
describe('clearing service HTTP contract', () => {
  const stack = testStack();
  const prefix = `${uniqueName('clrhttp')}.`;
  const schema = uniqueName('clearing');
  let service: BootedService;
  let upstream: Upstream;
  let db: ClearingDatabase;
  let contract: HttpErrorContract;
  type Code = Parameters<HttpErrorContract['expectError']>[3];
  const merchant = keyedMerchantId('C');
  const get = (route: string, path: string, code: Code, headers: Record<string, string> = asOperator('vera')) => contract.expectError('get', route, { path, headers }, code);
  const post = (route: string, path: string, code: Code, headers: Record<string, string>, body?: unknown) =>
    contract.expectError('post', route, { path, headers, ...(body !== undefined ? { body } : {}) }, code);
  const request = async (name: TestOperator, body: unknown) => {
    const response = await fetch(`${service.url}/v1/approvals`, { method: 'POST', headers: { 'content-type': 'application/json', ...asOperator(name) }, body: JSON.stringify(body) });
    expect(response.status).toBe(201);
    return ((await response.json()) as { approvalId: string }).approvalId;
  };
  const replayOf = (offset: string) => ({ topic: 'payments.events.v1.dlq', partition: 0, offset, type: 'pos.payment.succeeded' });

  beforeAll(async () => {
    upstream = new Upstream(stack, prefix);
    service = await bootService(clearingServiceDefinition, stack, { DATABASE_SCHEMA: schema, KAFKA_TOPIC_PREFIX: prefix, ...clearingAuthEnv([merchant]) });
    db = await ClearingDatabase.connect(stack, schema);
    contract = await HttpErrorContract.of(service.url, 'clearing');
  });

  afterAll(async () => {
    await upstream?.close();
    await db?.close();
    await service?.close();
  });

  it('refuses an invalid terminal settlement and bad batch queries with documented codes', async () => {
    await post('/v1/terminal-settlements', '/v1/terminal-settlements', 'INVALID_REQUEST', asMerchant(merchant), { merchantId: merchant, terminalId: 'T1', batchNo: '12' });
    await get('/v1/batches', '/v1/batches?clearingDate=2026-13-01', 'INVALID_DATE');
    await get('/v1/batches', '/v1/batches?state=OPENED', 'INVALID_STATE');
    await get('/v1/batches', '/v1/batches?limit=0', 'INVALID_LIMIT');
    await get('/v1/reconciliation/merchants/{merchantId}/dates/{clearingDate}', '/v1/reconciliation/merchants/M100/dates/2026-11-31', 'INVALID_DATE');
    await get('/v1/reconciliation/merchants/{merchantId}/dates/{clearingDate}', '/v1/reconciliation/merchants/M100/dates/2026-11-27', 'NO_CLOSED_BATCHES');
  });

  it('answers unknown batches 404, and the file of an open batch 409 BATCH_NOT_CLOSED', async () => {
    await get('/v1/batches/{batchId}', '/v1/batches/M100:WECHAT:NOPE', 'BATCH_NOT_FOUND');
    await get('/v1/batches/{batchId}/reconciliation', '/v1/batches/M100:WECHAT:NOPE/reconciliation', 'BATCH_NOT_FOUND');
    const paid = payment({ merchantId: uniqueName('M').slice(0, 30), succeededAt: new Date().toISOString() });
    await upstream.paid([paid]);
    const batchId = await eventually(() => db.batchOf(paid.paymentId), 'the payment in a batch');
    await get('/v1/batches/{batchId}/reconciliation', `/v1/batches/${encodeURIComponent(batchId)}/reconciliation`, 'BATCH_NOT_CLOSED');

    // The open batch and the payment's clearing status write their instants in UTC (Z).
    const batch = (await (await fetch(`${service.url}/v1/batches/${encodeURIComponent(batchId)}`, { headers: asOperator('vera') })).json()) as Record<string, unknown>;
    expect([batch['opensAt'], batch['closesAt']]).toEqual([expect.stringMatching(WIRE_INSTANT), expect.stringMatching(WIRE_INSTANT)]);
  });

  it('refuses a malformed payment id with 400 INVALID_PAYMENT_ID and an unknown one with 404 PAYMENT_NOT_FOUND', async () => {
    await get('/v1/payments/{paymentId}/clearing', '/v1/payments/not-a-uuid/clearing', 'INVALID_PAYMENT_ID');
    await get('/v1/payments/{paymentId}/clearing', `/v1/payments/${randomUUID()}/clearing`, 'PAYMENT_NOT_FOUND');
  });

  it("refuses callers a route does not admit, another merchant's settlement, and an operator's settlement without four eyes", async () => {
    const settlement = { merchantId: merchant, terminalId: 'T1', batchNo: '000001', requestedBy: 'cashier-1' };
    await post('/v1/terminal-settlements', '/v1/terminal-settlements', 'ROLE_FORBIDDEN', asOperator('vera'), settlement);
    await post('/v1/terminal-settlements', '/v1/terminal-settlements', 'FOUR_EYES_REQUIRED', asOperator('otto'), settlement);
    await post('/v1/terminal-settlements', '/v1/terminal-settlements', 'MERCHANT_MISMATCH', asMerchant(merchant), { ...settlement, merchantId: 'M100' });
    await post('/v1/approvals', '/v1/approvals', 'ROLE_FORBIDDEN', asOperator('vera'), { action: 'dlq-replay', params: replayOf('1'), reason: 'fixed' });
    await post('/v1/approvals', '/v1/approvals', 'INVALID_REQUEST', asOperator('otto'), { action: 'dlq-replay', params: { ...replayOf('1'), type: 'pos.payment.failed' }, reason: 'fixed' });
    await get('/v1/approvals', '/v1/approvals', 'ROLE_FORBIDDEN', asMerchant(merchant));
    await get('/v1/approvals', '/v1/approvals?state=DONE', 'INVALID_STATE');
    await get('/v1/approvals', '/v1/approvals?limit=501', 'INVALID_LIMIT');
    await get('/v1/approvals/{approvalId}', `/v1/approvals/${randomUUID()}`, 'APPROVAL_NOT_FOUND');
    await get('/v1/approvals/{approvalId}', `/v1/approvals/${randomUUID()}`, 'ROLE_FORBIDDEN', asMerchant(merchant));
    await get('/v1/audit', '/v1/audit', 'ROLE_FORBIDDEN', asMerchant(merchant));
    await get('/v1/audit', '/v1/audit?from=yesterday', 'INVALID_TIME');
    await get('/v1/audit', '/v1/audit?before=abc', 'INVALID_CURSOR');
    await get('/v1/audit', '/v1/audit?outcome=MAYBE', 'INVALID_STATE');
    await get('/v1/audit', '/v1/audit?limit=0', 'INVALID_LIMIT');
  });

  it('answers four-eyes decisions and claims with documented codes', async () => {
    for (const verb of ['approve', 'reject']) {
      const route = `/v1/approvals/{approvalId}/${verb}`;
      const pending = await request('otto', { action: 'dlq-replay', params: replayOf(verb === 'approve' ? '2' : '3'), reason: 'consumer fixed' });
      await post(route, `/v1/approvals/${randomUUID()}/${verb}`, 'APPROVAL_NOT_FOUND', asOperator('anna'));
      await post(route, `/v1/approvals/${pending}/${verb}`, 'ROLE_FORBIDDEN', asOperator('olga'));
      const own = await request('anna', { action: 'dlq-replay', params: replayOf(`4${verb.length}`), reason: 'consumer fixed' });
      await post(route, `/v1/approvals/${own}/${verb}`, 'SELF_APPROVAL', asOperator('anna'));
      expect((await fetch(`${service.url}/v1/approvals/${pending}/${verb}`, { method: 'POST', headers: asOperator('abel') })).status).toBeLessThan(300);
      await post(route, `/v1/approvals/${pending}/${verb}`, 'APPROVAL_NOT_PENDING', asOperator('anna'));
    }
    const route = '/v1/approvals/{approvalId}/claim';
    const claim = { action: 'dlq-replay', params: replayOf('5') };
    const pending = await request('otto', { ...claim, reason: 'consumer fixed' });
    await post(route, `/v1/approvals/${randomUUID()}/claim`, 'APPROVAL_NOT_FOUND', asOperator('otto'), claim);
    await post(route, `/v1/approvals/${pending}/claim`, 'ROLE_FORBIDDEN', asOperator('vera'), claim);
    await post(route, `/v1/approvals/${pending}/claim`, 'INVALID_REQUEST', asOperator('otto'), { action: 'dlq-replay' });
    await post(route, `/v1/approvals/${pending}/claim`, 'APPROVAL_NOT_APPROVED', asOperator('otto'), claim);
    await post(route, `/v1/approvals/${pending}/claim`, 'APPROVAL_MISMATCH', asOperator('otto'), { ...claim, params: replayOf('6') });
  });

  it('answers bad bodies on every route that takes one with documented codes', async () => {
    await contract.expectSharedErrors();
  });

  it('answers what Node refuses before any route, and unknown routes, with {code, message}', async () => {
    await expectRequestLevelErrors(service.url);
  });

  // Last: the tests above provoke the codes.
  it('documents only codes of the catalogue that the clearing service answers, and every one of them was provoked', () => {
    expect(contract.foreignCodes()).toEqual([]);
    expect(contract.unprovoked()).toEqual([]);
  });
});
