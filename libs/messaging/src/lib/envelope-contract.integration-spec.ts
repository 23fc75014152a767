import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { deadLetterTopicOf, PaymentRequested, PaymentSucceeded, ServiceSources, TopicName, Topics } from '@pos/contracts';
import { createDataSource, runMigrations } from '@pos/persistence';
import { kafkaClientOf, testStack, uniqueName } from '@pos/testing';
import { InboundMessage, MessageBroker, OutboundMessage } from './broker.port';
import { encodeEnvelope } from './envelope-codec';
import { KafkajsBroker } from './kafkajs/kafkajs-broker';
import { MessageValidator } from './message-validator';
import { CreateMessagingTables1764200000000, DropOutboxNotify1764500000000, messagingMigrations } from './messaging-tables.migration';
import { NamespacedBroker } from './namespaced-broker';
import { ConsumedEvent, DeadLetterHeaders, ReliableConsumer } from './reliable-consumer';

/**
 * What the Kafka contract (docs/contracts.md, docs/asyncapi.json) forbids, sent to a reliable
 * consumer on the real broker: each such message is parked with its own reason, the others are
 * applied, and events are told apart by source + id.
 */

const succeeded = (merchantId: string, n: number): PaymentSucceeded => ({
  paymentId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  merchantId,
  terminalId: 'T1',
  channel: 'WECHAT',
  amountFen: 1999,
  currency: 'CNY',
  outTradeNo: `ORDER-${n}`,
  succeededAt: '2026-12-04T10:00:00+08:00',
  channelTradeNo: `WX-${n}`,
});

const requested = (merchantId: string, outTradeNo: string, amountFen = 1999): PaymentRequested => ({
  merchantId,
  terminalId: 'T1',
  channel: 'WECHAT',
  amountFen,
  currency: 'CNY',
  outTradeNo,
  paymentCode: '134512345678901234',
});

function paymentEvent(id: string, data: PaymentSucceeded, overrides: { source?: string; key?: string; time?: string } = {}): OutboundMessage {
  return encodeEnvelope(Topics.paymentEvents, {
    id,
    type: 'pos.payment.succeeded',
    source: overrides.source ?? ServiceSources.payment,
    time: overrides.time ?? '2026-12-04T10:00:00+08:00',
    schemaVersion: 1,
    key: overrides.key ?? data.merchantId,
    data,
  });
}

function paymentCommand(id: string, source: string, data: PaymentRequested): OutboundMessage {
  return encodeEnvelope(Topics.paymentCommands, {
    id, type: 'pos.payment.requested', source, time: '2026-12-04T10:00:00+08:00', schemaVersion: 1, key: data.merchantId, data,
  });
}

describe('the Kafka contract, enforced by the reliable consumer on real Kafka and PostgreSQL', () => {
  const stack = testStack();
  let dataSource: DataSource;
  let broker: MessageBroker;
  let schema: string;

  beforeEach(async () => {
    schema = uniqueName('contract');
    broker = new NamespacedBroker(new KafkajsBroker(kafkaClientOf(stack, schema)), `${schema}.`);
  });

  afterEach(async () => {
    await broker.close();
    await dataSource?.destroy();
  });

  async function database(migrations: readonly (typeof messagingMigrations)[number][] = messagingMigrations): Promise<DataSource> {
    const source = createDataSource({ url: stack.postgresUrl, schema }, { applicationName: 'contract-test', migrations: [...migrations] });
    await source.initialize();
    await runMigrations(source);
    return source;
  }

  async function topics(names: readonly TopicName[], config?: Record<string, string>): Promise<void> {
    await broker.ensureTopics(names.flatMap((name) => [name, deadLetterTopicOf(name)]).map((name) => ({ name, partitions: 3, config })));
  }

  async function send(messages: readonly OutboundMessage[]): Promise<void> {
    const producer = await broker.createProducer();
    try {
      await producer.send(messages);
    } finally {
      await producer.disconnect();
    }
  }

  /** Every message on a topic once `count` are there, read without a consumer group. */
  async function messagesOn(topic: string, count: number, timeoutMs = 30_000): Promise<InboundMessage[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [offsets] = await broker.topicOffsets([topic]);
      const total = offsets.partitions.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
      if (total >= count) {
        const messages: InboundMessage[] = [];
        await broker.readMessages(
          offsets.partitions.map((p) => ({ topic, partition: p.partition, from: p.low, until: p.high })),
          async (message) => {
            messages.push(message);
          },
        );
        return messages;
      }
      if (Date.now() > deadline) throw new Error(`only ${total} of ${count} messages on ${topic}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Runs a consumer that records what it applies until `applied` events are in, then stops it. */
  async function consume(topic: TopicName, type: string, applied: number, options: { batchSize?: number; validator?: MessageValidator } = {}) {
    const seen: ConsumedEvent[] = [];
    const consumer = new ReliableConsumer(broker, dataSource, options.validator ?? new MessageValidator(), {
      groupId: 'contract-test',
      topics: [topic],
      batchSize: options.batchSize,
      handlers: {
        [type]: async (event, tx) => {
          await tx.query(`INSERT INTO applied (event_source, event_id, body) VALUES ($1, $2, $3)`, [event.envelope.source, event.envelope.id, event.envelope.data]);
          seen.push(event);
        },
      },
    });
    await consumer.start();
    try {
      const deadline = Date.now() + 30_000;
      while (seen.length < applied && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      // A moment more, so that "exactly these" also means no later one.
      await new Promise((r) => setTimeout(r, 1_000));
    } finally {
      await consumer.stop();
    }
    return seen;
  }

  const appliedTable = (source: DataSource) =>
    source.query(`CREATE TABLE applied (event_source text NOT NULL, event_id text NOT NULL, body jsonb NOT NULL, PRIMARY KEY (event_source, event_id))`);

  const reasonsById = (dead: readonly InboundMessage[]) =>
    Object.fromEntries(dead.map((m) => [m.headers['ce_id'], m.headers[DeadLetterHeaders.reason]]));

  it.each([1, 10])('parks each envelope the contract forbids with its own reason and applies the rest (batches of %d)', async (batchSize) => {
    dataSource = await database();
    await appliedTable(dataSource);
    await topics([Topics.paymentEvents]);
    const longId = 'x'.repeat(201);
    const good = paymentEvent('evt-good', succeeded('M041', 1));
    const notUtf8 = { ...paymentEvent('evt-latin1', succeeded('M041', 2)) };
    // The JSON of the event with its outTradeNo in Latin-1 bytes: 0xC9 is not UTF-8 on its own.
    const latin1 = Buffer.from(String(notUtf8.value).replace('ORDER-2', 'ORDER-\u00c9'), 'latin1');
    await send([
      paymentEvent('evt-yesterday', succeeded('M041', 3), { time: 'yesterday' }),
      paymentEvent('evt-no-offset', succeeded('M041', 4), { time: '2026-12-04T10:00:00' }),
      paymentEvent(longId, succeeded('M041', 5)),
      paymentEvent('evt-keyed-m042', succeeded('M041', 6), { key: 'M042' }),
      paymentEvent('evt-from-a-gateway', succeeded('M041', 7), { source: '/acme-pos-gateway' }),
      paymentEvent('evt-from-clearing', succeeded('M041', 8), { source: ServiceSources.clearing }),
      { ...notUtf8, value: latin1 },
      good,
    ]);

    const applied = await consume(Topics.paymentEvents, 'pos.payment.succeeded', 1, { batchSize });
    const dead = await messagesOn(deadLetterTopicOf(Topics.paymentEvents), 7);

    expect(applied.map((e) => e.envelope.id)).toEqual(['evt-good']);
    expect(reasonsById(dead)).toEqual({
      'evt-yesterday': 'INVALID_CE_TIME',
      'evt-no-offset': 'INVALID_CE_TIME',
      [longId]: 'INVALID_CE_ID',
      'evt-keyed-m042': 'KEY_MISMATCH',
      'evt-from-a-gateway': 'FORGED_SOURCE',
      'evt-from-clearing': 'FORGED_SOURCE',
      'evt-latin1': 'MALFORMED_ENCODING',
    });
    const latin1Copy = dead.find((m) => m.headers['ce_id'] === 'evt-latin1');
    expect(latin1Copy?.value?.equals(latin1)).toBe(true);
    expect(dead.find((m) => m.headers['ce_id'] === 'evt-keyed-m042')?.headers[DeadLetterHeaders.detail]).toMatch(/M042.*M041/);
    const [{ n }] = await dataSource.query(`SELECT count(*)::int AS n FROM applied`);
    expect(n).toBe(1);
  });

  it('takes commands only from upstream systems, and only from those a deployment names', async () => {
    dataSource = await database();
    await appliedTable(dataSource);
    await topics([Topics.paymentCommands]);
    await send([
      paymentCommand('cmd-1', '/acme-pos-gateway', requested('M041', 'ORDER-1')),
      paymentCommand('cmd-2', '/someone-else', requested('M041', 'ORDER-2')),
      paymentCommand('cmd-3', ServiceSources.payment, requested('M041', 'ORDER-3')),
    ]);

    const validator = new MessageValidator({ upstreamSources: ['/acme-pos-gateway'] });
    const applied = await consume(Topics.paymentCommands, 'pos.payment.requested', 1, { validator });
    const dead = await messagesOn(deadLetterTopicOf(Topics.paymentCommands), 2);

    expect(applied.map((e) => e.envelope.id)).toEqual(['cmd-1']);
    expect(reasonsById(dead)).toEqual({ 'cmd-2': 'FORGED_SOURCE', 'cmd-3': 'FORGED_SOURCE' });
  });

  it.each([1, 10])('tells events apart by source + id: two gateways may use one id (batches of %d)', async (batchSize) => {
    dataSource = await database();
    await appliedTable(dataSource);
    await topics([Topics.paymentCommands]);
    const fromA = paymentCommand('order-7', '/gateway-a', requested('M041', 'A-7'));
    const fromB = paymentCommand('order-7', '/gateway-b', requested('M041', 'B-7'));
    const modifiedFromA = paymentCommand('order-7', '/gateway-a', requested('M041', 'A-7', 2000));
    await send([fromA, fromB, fromA, modifiedFromA, fromB]);

    const applied = await consume(Topics.paymentCommands, 'pos.payment.requested', 2, { batchSize });
    const dead = await messagesOn(deadLetterTopicOf(Topics.paymentCommands), 1);

    expect(applied.map((e) => [e.envelope.source, e.envelope.id, (e.envelope.data as PaymentRequested).outTradeNo])).toEqual([
      ['/gateway-a', 'order-7', 'A-7'],
      ['/gateway-b', 'order-7', 'B-7'],
    ]);
    expect(dead.map((m) => [m.headers['ce_source'], m.headers[DeadLetterHeaders.reason]])).toEqual([['/gateway-a', 'MODIFIED_DUPLICATE']]);
    expect(JSON.parse(String(dead[0].value))).toMatchObject({ amountFen: 2000 });
    const inbox = await dataSource.query(`SELECT event_source, event_id FROM inbox WHERE consumer_group = 'contract-test' ORDER BY event_source`);
    expect(inbox).toEqual([
      { event_source: '/gateway-a', event_id: 'order-7' },
      { event_source: '/gateway-b', event_id: 'order-7' },
    ]);
  });

  it('keeps an event applied before the inbox knew sources applied, whatever source its redelivery names', async () => {
    // The inbox as it was: keyed by id alone, with one event applied.
    const before = await database([CreateMessagingTables1764200000000, DropOutboxNotify1764500000000]);
    const applied = paymentCommand('order-9', '/gateway-a', requested('M041', 'A-9'));
    const hash = createHash('sha256').update('pos.payment.requested').update('\n').update(String(applied.value)).digest('hex');
    await before.query(
      `INSERT INTO inbox (consumer_group, event_id, payload_hash, topic, partition, "offset") VALUES ('contract-test', 'order-9', $1, $2, 0, 0)`,
      [hash, Topics.paymentCommands],
    );
    await before.destroy();
    dataSource = await database();
    await appliedTable(dataSource);
    await topics([Topics.paymentCommands]);

    const other = paymentCommand('order-9', '/gateway-b', requested('M041', 'B-9'));
    // Event by event, then in a batch: each round ends with an event never seen before.
    for (const [batchSize, fresh] of [
      [1, 'order-10'],
      [10, 'order-11'],
    ] as const) {
      await send([applied, other, paymentCommand(fresh, '/gateway-a', requested('M041', fresh))]);
      const seen = await consume(Topics.paymentCommands, 'pos.payment.requested', 1, { batchSize });
      expect(seen.map((e) => e.envelope.id)).toEqual([fresh]);
    }
    const dead = await messagesOn(deadLetterTopicOf(Topics.paymentCommands), 2);
    expect(dead.map((m) => [m.headers['ce_source'], m.headers[DeadLetterHeaders.reason]])).toEqual([
      ['/gateway-b', 'MODIFIED_DUPLICATE'],
      ['/gateway-b', 'MODIFIED_DUPLICATE'],
    ]);
  });

  it('parks a cut copy of a message whose dead letter would exceed the topic size limit, and keeps going', async () => {
    dataSource = await database();
    await appliedTable(dataSource);
    const limit = 8_192;
    await topics([Topics.paymentEvents], { 'max.message.bytes': String(limit) });
    // The largest value the topic takes with these headers (64-byte steps): its dead letter, with
    // the dlq_* headers (more than 64 bytes of names alone), cannot fit.
    const headers = paymentEvent('evt-huge', succeeded('M041', 1)).headers;
    const producer = await broker.createProducer();
    let value = '';
    try {
      for (let size = limit; size > 0; size -= 64) {
        value = `{"not json${' '.repeat(size)}`;
        try {
          await producer.send([{ topic: Topics.paymentEvents, key: 'M041', value, headers }]);
          break;
        } catch (error) {
          if ((error as Error).name !== 'MessageTooLargeError') throw error;
        }
      }
      await producer.send([paymentEvent('evt-after', succeeded('M041', 2))]);
    } finally {
      await producer.disconnect();
    }

    const applied = await consume(Topics.paymentEvents, 'pos.payment.succeeded', 1);
    const [dead] = await messagesOn(deadLetterTopicOf(Topics.paymentEvents), 1);

    expect(applied.map((e) => e.envelope.id)).toEqual(['evt-after']);
    expect(dead.headers).toMatchObject({
      ce_id: 'evt-huge',
      [DeadLetterHeaders.reason]: 'MALFORMED_ENVELOPE',
      [DeadLetterHeaders.sourceTopic]: Topics.paymentEvents,
      [DeadLetterHeaders.truncatedFrom]: String(Buffer.byteLength(value)),
    });
    const [source] = await broker.topicOffsets([Topics.paymentEvents]);
    const original = source.partitions.find((p) => p.partition === Number(dead.headers[DeadLetterHeaders.sourcePartition]));
    expect(Number(dead.headers[DeadLetterHeaders.sourceOffset])).toBeLessThan(Number(original?.high));
    expect(dead.value?.toString()).toBe(value.slice(0, 1_024));
  });
});
