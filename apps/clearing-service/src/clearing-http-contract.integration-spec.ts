import { randomUUID } from 'node:crypto';
import { BootedService, bootService, expectRequestLevelErrors, HttpErrorContract, WIRE_INSTANT } from '@pos/service-testing';
import { testStack, uniqueName } from '@pos/testing';
import { clearingServiceDefinition } from './app/clearing-service.definition';
import { ClearingDatabase, eventually, payment, Upstream } from './testing/clearing-harness';

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
  const get = (route: string, path: string, code: Code) => contract.expectError('get', route, { path }, code);

  beforeAll(async () => {
    upstream = new Upstream(stack, prefix);
    service = await bootService(clearingServiceDefinition, stack, { DATABASE_SCHEMA: schema, KAFKA_TOPIC_PREFIX: prefix });
    db = await ClearingDatabase.connect(stack, schema);
    contract = await HttpErrorContract.of(service.url, 'clearing');
  });

  afterAll(async () => {
    await upstream?.close();
    await db?.close();
    await service?.close();
  });

  it('refuses an invalid terminal settlement and bad batch queries with documented codes', async () => {
    await contract.expectError('post', '/v1/terminal-settlements', { path: '/v1/terminal-settlements', body: { merchantId: 'M100', terminalId: 'T1', batchNo: '12' } }, 'INVALID_REQUEST');
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
    const batch = (await (await fetch(`${service.url}/v1/batches/${encodeURIComponent(batchId)}`)).json()) as Record<string, unknown>;
    expect([batch['opensAt'], batch['closesAt']]).toEqual([expect.stringMatching(WIRE_INSTANT), expect.stringMatching(WIRE_INSTANT)]);
  });

  it('refuses a malformed payment id with 400 INVALID_PAYMENT_ID and an unknown one with 404 PAYMENT_NOT_FOUND', async () => {
    await get('/v1/payments/{paymentId}/clearing', '/v1/payments/not-a-uuid/clearing', 'INVALID_PAYMENT_ID');
    await get('/v1/payments/{paymentId}/clearing', `/v1/payments/${randomUUID()}/clearing`, 'PAYMENT_NOT_FOUND');
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
