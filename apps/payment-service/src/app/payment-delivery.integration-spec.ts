import { Topics } from '@pos/contracts';
import { bootService } from '@pos/service-testing';
import { imageFor, startKafka, TEST_STACK_LABEL, testStack, uniqueName } from '@pos/testing';
import { Client } from 'pg';
import { getContainerRuntimeClient } from 'testcontainers';
import { brokerFor, expectValidEvent, MERCHANT_API_KEYS, post, sleep, TopicRecorder, walletPayment } from '../testing/payment-test-kit';
import { paymentServiceDefinition } from './payment-service.definition';

async function unpublished(postgresUrl: string, schema: string): Promise<number> {
  const client = new Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    const { rows } = await client.query(`SELECT count(*)::int AS n FROM "${schema}".outbox WHERE published_at IS NULL`);
    return rows[0].n;
  } finally {
    await client.end();
  }
}

/** Every payment id announced exactly once: as many messages as ids, each id and each ce_id once. */
function expectExactlyOnce(recorder: TopicRecorder, paymentIds: string[]): void {
  const messages = recorder.messages;
  const ids = messages.map((m) => JSON.parse(m.value?.toString() ?? '{}').paymentId as string);
  expect(ids.sort()).toEqual([...paymentIds].sort());
  expect(new Set(messages.map((m) => m.headers['ce_id'])).size).toBe(messages.length);
  for (const message of messages) expectValidEvent(message, Topics.paymentEvents, 'pos.payment.succeeded');
}

describe('payment events survive a crash and a Kafka outage', () => {
  const stack = testStack();

  it('publishes exactly once what an instance committed but never published before it died', async () => {
    const schema = uniqueName('payment');
    const env = { DATABASE_SCHEMA: schema, KAFKA_TOPIC_PREFIX: `${schema}.`, MERCHANT_API_KEYS };
    // The relay publishes only while it holds this advisory lock (one relay per schema). Holding it
    // here lets the first instance commit payments and outbox rows but never publish them: the
    // state of a process killed between the database commit and the publish.
    const lock = new Client({ connectionString: stack.postgresUrl });
    await lock.connect();
    await lock.query(`SELECT pg_advisory_lock(hashtext($1))`, [`outbox-relay:${schema}`]);
    let locked = true;

    const first = await bootService(paymentServiceDefinition, stack, env);
    const broker = brokerFor(stack, `${schema}.`);
    const recorder = await TopicRecorder.start(broker, [Topics.paymentEvents]);
    const second: { close: () => Promise<void> } = { close: async () => undefined };
    try {
      const answers = await Promise.all(Array.from({ length: 10 }, () => post(first.url, walletPayment('00'))));
      expect(answers.map((a) => a.status)).toEqual(Array(10).fill(201));
      const paymentIds = answers.map((a) => a.body['paymentId'] as string);
      await sleep(2_000);
      expect(recorder.messages).toHaveLength(0);
      expect(await unpublished(stack.postgresUrl, schema)).toBe(10);
      await first.close();
      await lock.end();
      locked = false;

      const restarted = await bootService(paymentServiceDefinition, stack, env);
      second.close = () => restarted.close();
      await recorder.waitFor(() => true, 10, 30_000, 3_000);
      expectExactlyOnce(recorder, paymentIds);
      expect(await unpublished(stack.postgresUrl, schema)).toBe(0);
    } finally {
      await recorder.stop();
      await broker.close();
      await second.close();
      if (locked) await lock.end();
    }
  });

  it('keeps accepting payments while Kafka is unreachable and publishes every one of them once it is back', async () => {
    // A dedicated broker, because the shared one must stay up for the other suites. It is frozen
    // with `docker pause` rather than stopped: a stopped container comes back on a new mapped port
    // that the advertised listener no longer matches, while a paused one keeps its address and
    // simply stops answering (TCP connections hang, requests time out) — what a broker outage or
    // a network partition looks like to the relay.
    const kafka = await startKafka(imageFor('KAFKA_IMAGE'), { [TEST_STACK_LABEL]: 'true' });
    const container = (await getContainerRuntimeClient()).container.getById(kafka.container.getId());
    const service = await bootService(paymentServiceDefinition, { ...kafka.access, postgresUrl: stack.postgresUrl }, { MERCHANT_API_KEYS });
    const broker = brokerFor(kafka.access, `${service.schema}.`);
    const recorder = await TopicRecorder.start(broker, [Topics.paymentEvents]);
    let paused = false;
    try {
      const before = await post(service.url, walletPayment('00'));
      await recorder.waitFor(() => true, 1, 30_000, 0);

      await container.pause();
      paused = true;
      const during = await Promise.all(Array.from({ length: 20 }, () => post(service.url, walletPayment('00'))));
      expect(during.map((a) => a.status)).toEqual(Array(20).fill(201));
      await sleep(3_000);
      expect(recorder.messages).toHaveLength(1);
      expect(await unpublished(stack.postgresUrl, service.schema)).toBe(20);

      await container.unpause();
      paused = false;
      await recorder.waitFor(() => true, 21, 90_000, 3_000);
      expectExactlyOnce(recorder, [before, ...during].map((a) => a.body['paymentId'] as string));
      expect(await unpublished(stack.postgresUrl, service.schema)).toBe(0);
    } finally {
      if (paused) await container.unpause();
      await recorder.stop();
      await broker.close();
      await service.close();
      await kafka.stop();
    }
  }, 240_000);
});
