import { DataSource } from 'typeorm';
import { ServiceSources, Topics } from '@pos/contracts';
import { systemClock } from '@pos/business-calendar';
import {
  ConsumerGroupLag,
  KafkajsBroker,
  MessageBroker,
  MessageValidator,
  messagingMigrations,
  NamespacedBroker,
  Outbox,
  OutboxRelay,
  PermanentFailure,
  ReliableConsumer,
} from '@pos/messaging';
import { ServiceMetrics } from '@pos/observability';
import { createDataSource, runMigrations } from '@pos/persistence';
import { kafkaClientOf, testStack, uniqueName } from '@pos/testing';
import { bindMessagingMetrics } from './service-metrics';

const succeeded = (n: number) => ({
  paymentId: `3b5b0a52-8a3e-4d7c-9b4e-3f0f6a1c2d${String(n).padStart(2, '0')}`,
  merchantId: 'M100',
  terminalId: 'T1',
  channel: 'WECHAT',
  amountFen: 1999 + n,
  currency: 'CNY',
  outTradeNo: `ORDER-${n}`,
  succeededAt: '2026-11-27T22:59:59.900+08:00',
  channelTradeNo: `WX-${n}`,
});

/** Sample values of one family in a scrape, by their label string (`{...}`, empty for none). */
function samples(text: string, family: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = new RegExp(`^${family}(\\{[^}]*\\})? (\\S+)$`).exec(line);
    if (match) found.set(match[1] ?? '', Number(match[2]));
  }
  return found;
}

const total = (values: Map<string, number>) => [...values.values()].reduce((sum, v) => sum + v, 0);

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe("a service's consumer lag, outbox backlog, dead letters and handler failures, scraped from real Kafka and PostgreSQL", () => {
  const stack = testStack();
  const validator = new MessageValidator();
  let dataSource: DataSource;
  let broker: MessageBroker;
  let schema: string;

  beforeEach(async () => {
    schema = uniqueName('metrics');
    dataSource = createDataSource({ url: stack.postgresUrl, schema }, { applicationName: 'metrics-test', migrations: messagingMigrations });
    await dataSource.initialize();
    await runMigrations(dataSource);
    broker = new NamespacedBroker(new KafkajsBroker(kafkaClientOf(stack, schema)), `${schema}.`);
    await broker.ensureTopics([Topics.paymentEvents, `${Topics.paymentEvents}.dlq`].map((name) => ({ name, partitions: 2 })));
  });

  afterEach(async () => {
    await broker.close();
    await dataSource.destroy();
  });

  it('shows the backlog and its age while the relay is not running, and lag while the consumer is not; both fall to 0 once they run', async () => {
    const metrics = new ServiceMetrics();
    const lag = new ConsumerGroupLag(broker);
    bindMessagingMetrics(metrics, lag, dataSource);
    const groupId = uniqueName('metrics-consumer');
    lag.watch(groupId, [Topics.paymentEvents]);
    const scrape = () => metrics.registry.metrics();

    // Five events written; no relay yet: all five wait in the outbox, and the oldest ages.
    const outbox = new Outbox(ServiceSources.payment, validator, systemClock);
    for (let n = 1; n <= 5; n++) {
      await dataSource.transaction((tx) => outbox.append(tx, [{ topic: Topics.paymentEvents, type: 'pos.payment.succeeded', key: 'M100', data: succeeded(n) }]));
    }
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const waiting = await scrape();
    expect(samples(waiting, 'pos_outbox_backlog').get('')).toBe(5);
    expect(samples(waiting, 'pos_outbox_oldest_age_seconds').get('')).toBeGreaterThanOrEqual(1);
    expect(total(samples(waiting, 'pos_kafka_consumer_lag'))).toBe(0);

    // The relay publishes them: the backlog empties, and the group, not started, lags by all five.
    const relay = new OutboxRelay(broker, { databaseUrl: stack.postgresUrl, schema });
    relay.start();
    try {
      const relayed = await eventually(scrape, (text) => samples(text, 'pos_outbox_backlog').get('') === 0, 'outbox backlog');
      expect(samples(relayed, 'pos_outbox_oldest_age_seconds').get('')).toBe(0);
      const lagging = await eventually(scrape, (text) => total(samples(text, 'pos_kafka_consumer_lag')) === 5, 'consumer lag before the consumer runs');
      // Per partition of the group's topic, labelled with the logical topic name.
      expect([...samples(lagging, 'pos_kafka_consumer_lag').keys()].sort()).toEqual([
        `{group="${groupId}",topic="${Topics.paymentEvents}",partition="0"}`,
        `{group="${groupId}",topic="${Topics.paymentEvents}",partition="1"}`,
      ]);
    } finally {
      await relay.stop();
    }

    // The consumer runs: it rejects one event (dead-lettered at once), fails another once (retried).
    let failedOnce = false;
    const consumer = new ReliableConsumer(
      broker,
      dataSource,
      validator,
      {
        groupId,
        topics: [Topics.paymentEvents],
        initialBackoffMs: 10,
        handlers: {
          'pos.payment.succeeded': async (event) => {
            const { outTradeNo } = event.envelope.data as { outTradeNo: string };
            if (outTradeNo === 'ORDER-2') throw new PermanentFailure('refused by this test');
            if (outTradeNo === 'ORDER-3' && !failedOnce) {
              failedOnce = true;
              throw new Error('a passing failure');
            }
          },
        },
      },
      metrics,
    );
    await consumer.start();
    try {
      const caughtUp = await eventually(scrape, (text) => total(samples(text, 'pos_kafka_consumer_lag')) === 0, 'consumer lag once the consumer runs');
      expect(samples(caughtUp, 'pos_kafka_consumer_lag').size).toBe(2);
      expect(samples(caughtUp, 'pos_dlq_messages_total').get(`{topic="${Topics.paymentEvents}.dlq",reason="REJECTED_BY_HANDLER"}`)).toBe(1);
      const failures = samples(caughtUp, 'pos_handler_failures_total');
      expect(failures.get(`{group="${groupId}",type="pos.payment.succeeded",outcome="dead_letter"}`)).toBe(1);
      expect(failures.get(`{group="${groupId}",type="pos.payment.succeeded",outcome="retry"}`)).toBe(1);
      const [onDeadLetterTopic] = await broker.topicOffsets([`${Topics.paymentEvents}.dlq`]);
      expect(onDeadLetterTopic.partitions.reduce((n, p) => n + Number(p.high) - Number(p.low), 0)).toBe(1);
    } finally {
      await consumer.stop();
    }
  });
});
