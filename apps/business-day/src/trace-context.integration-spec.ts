import { deadLetterTopicOf, parseTraceparent, TraceContext, Topics } from '@pos/contracts';
import { encodeEnvelope, InboundMessage, KafkajsBroker, MessageBroker, MessageConsumer, MessageProducer, NamespacedBroker } from '@pos/messaging';
import { hashApiKey } from '@pos/service-runtime';
import { spawnService, SpawnedService, stackEnv } from '@pos/service-testing';
import { kafkaClientOf, testStack, uniqueName } from '@pos/testing';
import { randomBytes, randomUUID } from 'node:crypto';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A traceparent of a caller's span, as an upstream system or a client would send it. */
function callerSpan(): { traceparent: string; traceId: string; spanId: string } {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceparent: `00-${traceId}-${spanId}-01`, traceId, spanId };
}

/**
 * W3C trace context through the system, on real Kafka and PostgreSQL with the services as they run
 * in production (their bundles, their own processes, level info): a payment's HTTP request names the
 * trace of every event it causes and of what the consumers emit in reaction, and of the log lines
 * written meanwhile; a command from upstream continues its own trace, or starts one.
 */
describe('trace context from a request through the events it causes', () => {
  const stack = testStack();
  const prefix = `${uniqueName('trace')}.`;
  const key = 'key-m100-trace-0123456789';
  let payment: SpawnedService;
  let clearing: SpawnedService;
  let broker: MessageBroker;
  let producer: MessageProducer;
  let consumer: MessageConsumer;
  const seen: InboundMessage[] = [];

  beforeAll(async () => {
    [payment, clearing] = await Promise.all([
      spawnService('payment-service', {
        ...(await stackEnv(stack, uniqueName('payment'), prefix)),
        LOG_LEVEL: 'info',
        MERCHANT_API_KEYS: `M100:${hashApiKey(key)}`,
        PAYMENT_POLL_INTERVAL_MS: '100',
        PAYMENT_PENDING_QUERY_INTERVAL_MS: '300',
      }),
      spawnService('clearing-service', { ...(await stackEnv(stack, uniqueName('clearing'), prefix)), LOG_LEVEL: 'info' }),
    ]);
    broker = new NamespacedBroker(new KafkajsBroker(kafkaClientOf(stack, uniqueName('trace-test'))), prefix);
    producer = await broker.createProducer();
    const topics = [Topics.paymentEvents, Topics.clearingEvents, deadLetterTopicOf(Topics.paymentCommands)];
    for (let attempt = 1; ; attempt++) {
      consumer = await broker.createConsumer({ groupId: uniqueName('trace-recorder'), topics, fromBeginning: true });
      try {
        await consumer.run(async (message) => {
          seen.push(message);
        });
        break;
      } catch (error) {
        // A fresh broker refuses the first joins while it loads its coordinator.
        await consumer.stop().catch(() => undefined);
        if (attempt >= 20) throw error;
        await sleep(500);
      }
    }
  }, 180_000);

  afterAll(async () => {
    await consumer?.stop();
    await producer?.disconnect();
    await broker?.close();
    await Promise.all([payment?.stop(), clearing?.stop()]);
  }, 60_000);

  async function arrived(description: string, predicate: (message: InboundMessage, data: Record<string, unknown>) => boolean): Promise<InboundMessage> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const found = seen.find((m) => predicate(m, JSON.parse(m.value?.toString() ?? '{}') as Record<string, unknown>));
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${description} arrived; payment-service said:\n${payment.output()}`);
      await sleep(100);
    }
  }

  const traceOf = (message: InboundMessage): TraceContext | undefined => parseTraceparent(message.headers['ce_traceparent']);

  function wallet(ending: string) {
    const unique = `${Date.now() % 1_000_000}`.padStart(12, '0');
    return { merchantId: 'M100', terminalId: 'T1', channel: 'WECHAT', amountFen: 1999, currency: 'CNY', outTradeNo: `ORD-${randomUUID().slice(0, 18)}`, paymentCode: `1345${unique}${ending}` };
  }

  async function pay(body: unknown, traceparent?: string): Promise<string> {
    const response = await fetch(`${payment.url}/v1/payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key, ...(traceparent !== undefined ? { traceparent } : {}) },
      body: JSON.stringify(body),
    });
    const answer = (await response.json()) as { paymentId: string };
    expect(response.status).toBe(201);
    return answer.paymentId;
  }

  const eventOf = (type: string, paymentId: string) => (m: InboundMessage) => m.headers['ce_type'] === type && m.headers['ce_subject'] === paymentId;

  it('carries the trace of the HTTP request to the payment event, to the event clearing emits in reaction, and to the log lines', async () => {
    const caller = callerSpan();
    const paymentId = await pay(wallet('00'), caller.traceparent);

    const succeeded = await arrived('pos.payment.succeeded', eventOf('pos.payment.succeeded', paymentId));
    const paymentSpan = traceOf(succeeded);
    // The same trace, in a span of the payment service's own: the caller's span is its parent.
    expect(paymentSpan).toEqual({ traceId: caller.traceId, spanId: expect.stringMatching(/^[0-9a-f]{16}$/), flags: '01' });
    expect(paymentSpan?.spanId).not.toBe(caller.spanId);

    // Clearing's first payment of the day for the merchant opens its batch, in reaction to the event.
    const opened = await arrived('pos.clearing.batch.opened', (m, data) => m.headers['ce_type'] === 'pos.clearing.batch.opened' && data['merchantId'] === 'M100');
    const clearingSpan = traceOf(opened);
    expect(clearingSpan?.traceId).toBe(caller.traceId);
    expect([caller.spanId, paymentSpan?.spanId]).not.toContain(clearingSpan?.spanId);

    // The access log line of the request carries the trace and the span the events name.
    const deadline = Date.now() + 10_000;
    const requestLine = () =>
      payment
        .output()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((line) => line['msg'] === 'request completed' && line['traceId'] === caller.traceId);
    while (!requestLine() && Date.now() < deadline) await sleep(100);
    expect(requestLine()).toEqual(expect.objectContaining({ req: { method: 'POST', path: '/v1/payments' }, traceId: caller.traceId, spanId: paymentSpan?.spanId }));
  });

  it('keeps the trace on events written later for the request: a pending payment resolved by the poller', async () => {
    const caller = callerSpan();
    // The customer is still paying: the poller learns the success later, outside the request.
    const paymentId = await pay(wallet('92'), caller.traceparent);
    const pending = await arrived('pos.payment.pending', eventOf('pos.payment.pending', paymentId));
    const succeeded = await arrived('pos.payment.succeeded', eventOf('pos.payment.succeeded', paymentId));
    expect(traceOf(pending)?.traceId).toBe(caller.traceId);
    expect(traceOf(succeeded)?.traceId).toBe(caller.traceId);
  });

  it('starts a new trace for a request without a traceparent or with a malformed one, and answers it as usual', async () => {
    const caller = callerSpan();
    const malformed = `00-${caller.traceId.toUpperCase()}-${caller.spanId}-01`;
    const withoutTrace = await pay(wallet('00'));
    const withMalformed = await pay(wallet('00'), malformed);
    const traces = await Promise.all(
      [withoutTrace, withMalformed].map(async (id) => traceOf(await arrived('pos.payment.succeeded', eventOf('pos.payment.succeeded', id)))),
    );
    for (const trace of traces) expect(trace?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set([...traces.map((t) => t?.traceId), caller.traceId]).size).toBe(3);
  });

  it('continues the trace of a command from upstream, or starts one for a command without, and logs its handling in it', async () => {
    const command = (data: Record<string, unknown>, traceparent?: string) =>
      encodeEnvelope(Topics.paymentCommands, {
        id: randomUUID(),
        type: 'pos.payment.requested',
        source: '/upstream-trace-test',
        time: new Date().toISOString(),
        schemaVersion: 1,
        key: String(data['merchantId']),
        data,
        ...(traceparent !== undefined ? { traceparent } : {}),
      });
    const traced = callerSpan();
    const unknownMerchant = callerSpan();
    const withTrace = wallet('00');
    const withoutTrace = wallet('00');
    const refused = { ...wallet('00'), merchantId: 'M999' };
    await producer.send([command(withTrace, traced.traceparent), command(withoutTrace), command(refused, unknownMerchant.traceparent)]);

    const byOrder = (outTradeNo: string) => (m: InboundMessage, data: Record<string, unknown>) =>
      m.headers['ce_type'] === 'pos.payment.succeeded' && data['outTradeNo'] === outTradeNo;
    const continued = traceOf(await arrived('the traced command\'s payment', byOrder(withTrace.outTradeNo)));
    const started = traceOf(await arrived('the untraced command\'s payment', byOrder(withoutTrace.outTradeNo)));
    expect(continued?.traceId).toBe(traced.traceId);
    expect(continued?.spanId).not.toBe(traced.spanId);
    expect(started?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(started?.traceId).not.toBe(traced.traceId);

    // The command of an unknown merchant is parked; the consumer's line about it carries its trace.
    const parked = await arrived('the parked command', (m) => m.topic === deadLetterTopicOf(Topics.paymentCommands) && m.headers['ce_traceparent'] === unknownMerchant.traceparent);
    expect(parked.headers['dlq_reason']).toBe('UNKNOWN_MERCHANT');
    const deadline = Date.now() + 10_000;
    const warning = () =>
      payment
        .output()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((line) => String(line['msg']).startsWith('dead-lettering') && String(line['msg']).includes('UNKNOWN_MERCHANT'));
    while (!warning() && Date.now() < deadline) await sleep(100);
    expect(warning()).toEqual(expect.objectContaining({ traceId: unknownMerchant.traceId, level: 40 }));
  });
});
