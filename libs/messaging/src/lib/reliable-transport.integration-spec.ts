import { Controller, DynamicModule, INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { DataSource } from 'typeorm';
import { PaymentFailed, PaymentReversed, PaymentSucceeded, ServiceSources, Topics } from '@pos/contracts';
import { systemClock } from '@pos/business-calendar';
import { createDataSource, runMigrations } from '@pos/persistence';
import { kafkaClientOf, testStack, uniqueName } from '@pos/testing';
import { InboundMessage, MessageBroker } from './broker.port';
import { encodeEnvelope } from './envelope-codec';
import { KafkajsBroker } from './kafkajs/kafkajs-broker';
import { MessageValidator } from './message-validator';
import { messagingMigrations } from './messaging-tables.migration';
import { ConsumerGroupLag, NO_MESSAGING_OBSERVER } from './messaging-metrics';
import { MESSAGE_BROKER, MESSAGING_OBSERVER } from './messaging.module';
import { NamespacedBroker } from './namespaced-broker';
import { Outbox } from './outbox';
import { OutboxClient } from './outbox-client';
import { DeadLetterHeaders, PermanentFailure } from './reliable-consumer';
import { connectReliableConsumers, ConsumerGroup, EventBatchContext, EventBatchPattern, EventContext } from './reliable-transport';

const paymentIdOf = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const facts = (n: number) => ({
  paymentId: paymentIdOf(n),
  merchantId: 'M100',
  terminalId: 'T1',
  channel: 'WECHAT' as const,
  amountFen: 1999,
  currency: 'CNY' as const,
  outTradeNo: `ORDER-${n}`,
});
const succeeded = (n: number) =>
  encodeEnvelope(Topics.paymentEvents, {
    id: `evt-${n}`, type: 'pos.payment.succeeded', source: ServiceSources.payment, time: '2026-11-27T14:59:59Z', schemaVersion: 1, key: 'M100',
    data: { ...facts(n), succeededAt: '2026-11-27T22:59:59.900+08:00', channelTradeNo: `WX-${n}` },
  });
const failed = (n: number) =>
  encodeEnvelope(Topics.paymentEvents, {
    id: `evt-${n}`, type: 'pos.payment.failed', source: ServiceSources.payment, time: '2026-11-27T14:59:59Z', schemaVersion: 1, key: 'M100',
    data: { ...facts(n), failedAt: '2026-11-27T22:59:59.900+08:00', reason: 'DECLINED' },
  });

/** What the handlers saw, for the test to compare with what Kafka and PostgreSQL hold. */
interface Seen {
  readonly type: string;
  readonly payload: unknown;
  readonly id?: string;
  readonly topic?: string;
  readonly partition?: number;
  readonly offset?: string;
  readonly txid: string;
}
const seen: Seen[] = [];
const effects: string[] = [];

async function collect(broker: MessageBroker, topic: string, count: number, timeoutMs = 30_000): Promise<InboundMessage[]> {
  const received: InboundMessage[] = [];
  const consumer = await broker.createConsumer({ groupId: uniqueName('observer'), topics: [topic] });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${received.length} of ${count} messages on ${topic}`)), timeoutMs);
    void consumer.run(async (message) => {
      received.push(message);
      if (received.length >= count) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  await consumer.stop();
  return received;
}

/** Each event's effect is a row of `applied`, written in the event's transaction; a failing one is attempted three times. */
@Controller()
@ConsumerGroup({ groupId: 'transport-test', topics: [Topics.paymentEvents], maxAttempts: 3, initialBackoffMs: 10 })
class PaymentFactHandlers {
  constructor(private readonly events: OutboxClient) {}

  @EventPattern('pos.payment.succeeded')
  async succeeded(@Payload() payment: PaymentSucceeded, @Ctx() context: EventContext<PaymentSucceeded>): Promise<void> {
    const [{ txid }] = await context.manager.query(`INSERT INTO applied (event_id) VALUES ($1) RETURNING txid_current()::text AS txid`, [
      context.envelope.id,
    ]);
    const { paymentId, merchantId, terminalId, channel, amountFen, currency, outTradeNo, succeededAt } = payment;
    const reversed: PaymentReversed = {
      ...{ paymentId, merchantId, terminalId, channel, amountFen, currency, outTradeNo },
      reversedAt: succeededAt,
      reason: `reversal of ${context.envelope.id}`,
    };
    await this.events.emit(
      'pos.payment.reversed',
      reversed,
      { manager: context.manager, key: payment.merchantId, subject: payment.paymentId },
    );
    seen.push({ type: context.envelope.type, payload: payment, id: context.envelope.id, topic: context.topic, partition: context.partition, offset: context.offset, txid });
    context.afterCommit(() => effects.push(context.envelope.id));
    if (payment.paymentId === paymentIdOf(13)) throw new Error('the handler fails on this payment');
  }

  @EventPattern('pos.payment.failed')
  async failed(@Payload() payment: PaymentFailed, @Ctx() context: EventContext<PaymentFailed>): Promise<void> {
    const [{ txid }] = await context.manager.query(`INSERT INTO applied (event_id) VALUES ($1) RETURNING txid_current()::text AS txid`, [
      context.envelope.id,
    ]);
    seen.push({ type: context.envelope.type, payload: payment, id: context.envelope.id, txid });
    throw new PermanentFailure(`payment ${payment.paymentId} is refused`);
  }
}

/** The same effect, a run of events at once. */
@Controller()
@ConsumerGroup({ groupId: 'transport-batch-test', topics: [Topics.paymentEvents], batchSize: 10 })
class PaymentFactRuns {
  @EventBatchPattern('pos.payment.succeeded')
  async succeeded(@Payload() payments: PaymentSucceeded[], @Ctx() context: EventBatchContext<PaymentSucceeded>): Promise<void> {
    const ids = context.events.map((event) => event.envelope.id);
    const [{ txid }] = await context.manager.query(
      `WITH rows AS (INSERT INTO applied (event_id) SELECT unnest($1::text[])) SELECT txid_current()::text AS txid`,
      [ids],
    );
    seen.push({ type: 'run', payload: payments, txid });
  }
}

@Module({})
class TransportTestModule {}

describe('the reliable transport on @nestjs/microservices, on real Kafka and PostgreSQL', () => {
  const stack = testStack();
  let dataSource: DataSource;
  let broker: MessageBroker;
  let app: INestApplication | undefined;

  beforeEach(async () => {
    seen.length = 0;
    effects.length = 0;
    const schema = uniqueName('transport');
    dataSource = createDataSource({ url: stack.postgresUrl, schema }, { applicationName: 'transport-test', migrations: messagingMigrations });
    await dataSource.initialize();
    await runMigrations(dataSource);
    await dataSource.query(`CREATE TABLE applied (event_id text PRIMARY KEY)`);
    broker = new NamespacedBroker(new KafkajsBroker(kafkaClientOf(stack, schema)), `${schema}.`);
    await broker.ensureTopics([Topics.paymentEvents, `${Topics.paymentEvents}.dlq`].map((name) => ({ name, partitions: 2 })));
  });

  afterEach(async () => {
    const started = app;
    app = undefined;
    await started?.close();
    await broker.close();
    await dataSource.destroy();
  });

  /** A Nest application of these controllers, its transport connected as a service's is, consuming. */
  async function start(controller: new (...args: never[]) => unknown): Promise<void> {
    const module: DynamicModule = {
      module: TransportTestModule,
      controllers: [controller],
      providers: [
        { provide: MESSAGE_BROKER, useValue: broker },
        { provide: ConsumerGroupLag, useValue: new ConsumerGroupLag(broker) },
        { provide: MESSAGING_OBSERVER, useValue: NO_MESSAGING_OBSERVER },
        { provide: DataSource, useValue: dataSource },
        { provide: MessageValidator, useValue: new MessageValidator() },
        { provide: OutboxClient, useValue: new OutboxClient(new Outbox('/transport-test', new MessageValidator(), systemClock)) },
      ],
    };
    app = await NestFactory.create(module, { logger: false });
    connectReliableConsumers(app);
    await app.init();
    await app.startAllMicroservices();
  }

  async function appliedIds(): Promise<string[]> {
    const rows: { event_id: string }[] = await dataSource.query(`SELECT event_id FROM applied ORDER BY event_id`);
    return rows.map((row) => row.event_id);
  }

  async function waitFor(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('hands an @EventPattern handler the payload and a context of its transaction, attributes and position', async () => {
    const producer = await broker.createProducer();
    await producer.send([succeeded(1)]);
    await producer.disconnect();
    const [onTopic] = await collect(broker, Topics.paymentEvents, 1);

    await start(PaymentFactHandlers);
    await waitFor(() => effects.length === 1, 'the effect after commit');

    expect(seen).toHaveLength(1);
    const [handled] = seen;
    expect(handled.payload).toEqual(JSON.parse(String(onTopic.value)));
    expect(handled).toMatchObject({ type: 'pos.payment.succeeded', id: 'evt-1', topic: onTopic.topic, partition: onTopic.partition, offset: onTopic.offset });
    expect(await appliedIds()).toEqual(['evt-1']);
    // The handler's row and the inbox row were written by one transaction, the one the handler saw.
    const [row] = await dataSource.query(
      `SELECT applied.xmin::text AS applied_tx, inbox.xmin::text AS inbox_tx, inbox.topic, inbox.partition, inbox."offset"::text AS offset
       FROM applied, inbox WHERE applied.event_id = 'evt-1' AND inbox.event_id = 'evt-1'`,
    );
    expect(row.applied_tx).toBe(row.inbox_tx);
    expect(BigInt(row.applied_tx) % 2n ** 32n).toBe(BigInt(handled.txid) % 2n ** 32n);
    expect(row).toMatchObject({ topic: onTopic.topic, partition: onTopic.partition, offset: onTopic.offset });
    // What the handler emitted is an outbox row of the same transaction, on the type's topic.
    const outbox = await dataSource.query(`SELECT topic, message_key, xmin::text AS tx, payload->>'reason' AS reason FROM outbox`);
    expect(outbox).toEqual([{ topic: Topics.paymentEvents, message_key: 'M100', tx: row.inbox_tx, reason: 'reversal of evt-1' }]);
  });

  it("rolls back a throwing handler's effect and dead-letters its event after the retries; a PermanentFailure at once", async () => {
    const producer = await broker.createProducer();
    await producer.send([succeeded(13), failed(14), succeeded(15)]);
    await producer.disconnect();
    const parked = collect(broker, `${Topics.paymentEvents}.dlq`, 2);

    await start(PaymentFactHandlers);
    const dead = await parked;
    await waitFor(() => effects.includes('evt-15'), 'the event after the failing ones');

    expect(dead.map((message) => [message.headers['ce_id'], message.headers[DeadLetterHeaders.reason]])).toEqual([
      ['evt-13', 'RETRIES_EXHAUSTED'],
      ['evt-14', 'REJECTED_BY_HANDLER'],
    ]);
    expect(dead[0].headers[DeadLetterHeaders.detail]).toMatch(/3 attempts: .*the handler fails on this payment/);
    expect(dead[1].headers[DeadLetterHeaders.detail]).toBe(`payment ${paymentIdOf(14)} is refused`);
    // Three attempts of the failing event, one of the refused one, each rolled back with its inbox row.
    expect(seen.map((s) => s.id)).toEqual(['evt-13', 'evt-13', 'evt-13', 'evt-14', 'evt-15']);
    expect(new Set(seen.slice(0, 3).map((s) => s.txid)).size).toBe(3);
    expect(await appliedIds()).toEqual(['evt-15']);
    const inbox: { event_id: string }[] = await dataSource.query(`SELECT event_id FROM inbox ORDER BY event_id`);
    expect(inbox.map((row) => row.event_id)).toEqual(['evt-15']);
    expect(effects).toEqual(['evt-15']);
    const outbox: { reason: string }[] = await dataSource.query(`SELECT payload->>'reason' AS reason FROM outbox`);
    expect(outbox.map((row) => row.reason)).toEqual(['reversal of evt-15']);
  });

  it('hands an @EventBatchPattern handler a run of events in partition order, in one transaction', async () => {
    const producer = await broker.createProducer();
    await producer.send([1, 2, 3, 4, 5].map(succeeded));
    await producer.disconnect();

    await start(PaymentFactRuns);
    await waitFor(async () => (await appliedIds()).length === 5, 'five applied events');

    const runs = seen.map((s) => (s.payload as PaymentSucceeded[]).map((p) => p.paymentId));
    expect(runs.flat()).toEqual([1, 2, 3, 4, 5].map(paymentIdOf));
    // A backlog sent before the consumer started is fetched together: fewer transactions than events.
    expect(new Set(seen.map((s) => s.txid)).size).toBeLessThan(5);
    const [{ transactions }] = await dataSource.query(`SELECT count(DISTINCT xmin::text)::int AS transactions FROM inbox`);
    expect(transactions).toBe(seen.length);
  });
});
