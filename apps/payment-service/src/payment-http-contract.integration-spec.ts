import { randomUUID } from 'node:crypto';
import { Topics } from '@pos/contracts';
import { MessageBroker } from '@pos/messaging';
import { bootService, BootedService, expectRequestLevelErrors, HttpErrorContract, WIRE_INSTANT } from '@pos/service-testing';
import { testStack } from '@pos/testing';
import { paymentServiceDefinition } from './app/payment-service.definition';
import { brokerFor, KEYS, MERCHANT_API_KEYS, post, TopicRecorder, walletPayment } from './testing/payment-test-kit';

/**
 * The payment service's HTTP contract on real Kafka and PostgreSQL: every error answer of every
 * route is one its OpenAPI document lists, with the catalogue's code and status, and every code
 * the document lists is provoked here.
 */
describe('payment service HTTP contract', () => {
  const stack = testStack();
  let service: BootedService;
  let contract: HttpErrorContract;
  const auth = { 'x-api-key': KEYS.M100 };

  beforeAll(async () => {
    service = await bootService(paymentServiceDefinition, stack, { MERCHANT_API_KEYS, PAYMENT_MAX_AMOUNT_FEN: '1000000' });
    contract = await HttpErrorContract.of(service.url, 'payment');
  });

  afterAll(async () => {
    await service?.close();
  });

  it('answers every refusal of a payment request with a documented code', async () => {
    const refuse = (body: unknown, code: Parameters<HttpErrorContract['expectError']>[3]) =>
      contract.expectError('post', '/v1/payments', { path: '/v1/payments', headers: auth, body }, code);
    const without = (field: string) => Object.fromEntries(Object.entries(walletPayment()).filter(([name]) => name !== field));
    await refuse(without('terminalId'), 'FIELD_REQUIRED');
    await refuse(walletPayment('00', { tip: 1 }), 'FIELD_INVALID');
    await refuse(walletPayment('00', { amountFen: 12.5 }), 'AMOUNT_NOT_INTEGER');
    await refuse(walletPayment('00', { amountFen: 0 }), 'AMOUNT_NOT_POSITIVE');
    await refuse(walletPayment('00', { amountFen: 1_000_001 }), 'AMOUNT_TOO_LARGE');
    await refuse(walletPayment('00', { channel: 'PAYPAL' }), 'UNKNOWN_CHANNEL');
    await refuse(walletPayment('00', { currency: 'USD' }), 'UNSUPPORTED_CURRENCY');
    await refuse(without('paymentCode'), 'PAYMENT_CODE_REQUIRED');
    await refuse({ ...without('paymentCode'), channel: 'UNIONPAY_CARD' }, 'CARD_DETAILS_REQUIRED');
    await refuse(walletPayment('00', { merchantId: 'M200' }), 'MERCHANT_MISMATCH');
    const first = walletPayment();
    expect((await post(service.url, first)).status).toBe(201);
    const modified = await refuse({ ...first, amountFen: first.amountFen + 1 }, 'MODIFIED_REQUEST');
    expect(modified['details']).toEqual({ paymentId: expect.any(String) });
  });

  it('refuses a malformed payment id with 400 INVALID_PAYMENT_ID and an unknown one with 404 PAYMENT_NOT_FOUND', async () => {
    await contract.expectError('get', '/v1/payments/{paymentId}', { path: '/v1/payments/not-a-uuid', headers: auth }, 'INVALID_PAYMENT_ID');
    await contract.expectError('get', '/v1/payments/{paymentId}', { path: `/v1/payments/${randomUUID()}`, headers: auth }, 'PAYMENT_NOT_FOUND');
  });

  it('refuses bad payment queries with documented codes', async () => {
    await contract.expectError('get', '/v1/payments', { path: '/v1/payments?limit=10', headers: auth }, 'FIELD_REQUIRED');
    await contract.expectError('get', '/v1/payments', { path: '/v1/payments?businessDate=2026-11-27&limit=0', headers: auth }, 'FIELD_INVALID');
  });

  it('answers bad bodies and missing API keys on every route with documented codes', async () => {
    await contract.expectSharedErrors();
  });

  it('answers what Node refuses before any route, and unknown routes, with {code, message}', async () => {
    await expectRequestLevelErrors(service.url);
  });

  it('writes every instant of its answers and events in UTC (Z)', async () => {
    const broker: MessageBroker = brokerFor(stack, `${service.schema}.`);
    const events = await TopicRecorder.start(broker, [Topics.paymentEvents]);
    try {
      const created = await post(service.url, walletPayment('00'));
      expect(created.status).toBe(201);
      expect(created.body['createdAt']).toMatch(WIRE_INSTANT);
      expect(created.body['succeededAt']).toMatch(WIRE_INSTANT);
      const [event] = await events.waitFor((_, data) => data['paymentId'] === created.body['paymentId'], 1, 30_000, 0);
      expect(JSON.parse(event.value?.toString() ?? 'null').succeededAt).toMatch(WIRE_INSTANT);
    } finally {
      await events.stop();
      await broker.close();
    }
  });

  // Last: the tests above provoke the codes.
  it('documents only codes of the catalogue that the payment service answers, and every one of them was provoked', () => {
    expect(contract.foreignCodes()).toEqual([]);
    expect(contract.unprovoked()).toEqual([]);
  });
});
