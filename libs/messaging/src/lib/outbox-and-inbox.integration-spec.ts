import { DataSource } from 'typeorm';
import { ServiceSources, Topics } from '@pos/contracts';
import { systemClock } from '@pos/business-calendar';
import { createDataSource, runMigrations } from '@pos/persistence';
import { kafkaClientOf, testStack, uniqueName } from '@pos/testing';
import { InboundMessage, MessageBroker } from './broker.port';
import { encodeEnvelope } from './envelope-codec';
import { KafkajsBroker } from './kafkajs/kafkajs-broker';
import { MessageValidator } from './message-validator';
import { messagingMigrations } from './messaging-tables.migration';
import { NamespacedBroker } from './namespaced-broker';
import { Outbox } from './outbox';
import { OutboxRelay } from './outbox-relay';
import { ConsumedEvent, DeadLetterHeaders, EventHandler, PermanentFailure, ReliableConsumer, SetHandler } from './reliable-consumer';

const succeeded = (paymentId: string) => ({
  paymentId,
  merchantId: 'M100',
  terminalId: 'T1',
  channel: 'WECHAT',
  amountFen: 1999,
  currency: 'CNY',
  outTradeNo: 'ORDER-1',
  succeededAt: '2026-11-27T22:59:59.900+08:00',
  channelTradeNo: 'WX-1',
});

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

describe('outbox, relay and reliable consumer on real Kafka and PostgreSQL', () => {
  const stack = testStack();
  let dataSource: DataSource;
  let broker: MessageBroker;
  let schema: string;
  const validator = new MessageValidator();

  beforeEach(async () => {
    schema = uniqueName('messaging');
    dataSource = createDataSource(
      { url: stack.postgresUrl, schema },
      { applicationName: 'messaging-test', migrations: messagingMigrations },
    );
    await dataSource.initialize();
    await runMigrations(dataSource);
    await dataSource.query(`CREATE TABLE applied (event_id text PRIMARY KEY, payment_id uuid NOT NULL)`);
    broker = new NamespacedBroker(new KafkajsBroker(kafkaClientOf(stack, schema)), `${schema}.`);
    await broker.ensureTopics(
      [Topics.paymentEvents, `${Topics.paymentEvents}.dlq`].map((name) => ({ name, partitions: 2 })),
    );
  });

  afterEach(async () => {
    await broker.close();
    await dataSource.destroy();
  });

  it('publishes committed outbox rows once, with CloudEvents headers, and leaves rolled-back ones out', async () => {
    const outbox = new Outbox('/messaging-test', validator, systemClock);
    const [kept] = await dataSource.transaction((tx) =>
      outbox.append(tx, [{ topic: Topics.paymentEvents, type: 'pos.payment.succeeded', key: 'M100', data: succeeded('3b5b0a52-8a3e-4d7c-9b4e-3f0f6a1c2d11') }]),
    );
    await expect(
      dataSource.transaction(async (tx) => {
        await outbox.append(tx, [{ topic: Topics.paymentEvents, type: 'pos.payment.succeeded', key: 'M100', data: succeeded('6f1d2c3b-4a5e-4f60-8b7a-9c0d1e2f3a4b') }]);
        throw new Error('business rule failed');
      }),
    ).rejects.toThrow('business rule failed');

    const relay = new OutboxRelay(broker, { databaseUrl: stack.postgresUrl, schema });
    relay.start();
    const [message] = await collect(broker, Topics.paymentEvents, 1);
    await relay.stop();

    expect(message.key).toBe('M100');
    expect(message.headers).toMatchObject({ ce_id: kept, ce_type: 'pos.payment.succeeded', ce_source: '/messaging-test', ce_specversion: '1.0', ce_schemaversion: '1' });
    expect(JSON.parse(String(message.value))).toEqual(succeeded('3b5b0a52-8a3e-4d7c-9b4e-3f0f6a1c2d11'));
    const [{ unpublished }] = await dataSource.query(`SELECT count(*)::int AS unpublished FROM outbox WHERE published_at IS NULL`);
    expect(unpublished).toBe(0);
  });

  it('publishes a backlog of several batches once each, in id order, stamped with the time of the ack', async () => {
    const outbox = new Outbox('/messaging-test', validator, systemClock);
    const paymentIds = Array.from({ length: 7 }, (_, i) => `3b5b0a52-8a3e-4d7c-9b4e-3f0f6a1c2d2${i}`);
    const eventIds: string[] = [];
    for (const paymentId of paymentIds) {
      const [id] = await dataSource.transaction((tx) =>
        outbox.append(tx, [{ topic: Topics.paymentEvents, type: 'pos.payment.succeeded', key: 'M100', data: succeeded(paymentId) }]),
      );
      eventIds.push(id);
    }

    // Batches of 3: each read marks the batch before it and must leave those rows out.
    const before = new Date();
    const relay = new OutboxRelay(broker, { databaseUrl: stack.postgresUrl, schema, batchSize: 3 });
    relay.start();
    const messages = await collect(broker, Topics.paymentEvents, 7);
    await relay.stop();
    const after = new Date();

    expect(messages.map((m) => m.headers['ce_id'])).toEqual(eventIds);
    const [offsets] = await broker.topicOffsets([Topics.paymentEvents]);
    const onTopic = offsets.partitions.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
    expect(onTopic).toBe(7);
    const [{ unpublished }] = await dataSource.query(`SELECT count(*)::int AS unpublished FROM outbox WHERE published_at IS NULL`);
    expect(unpublished).toBe(0);
    const rows: { published_at: Date }[] = await dataSource.query(`SELECT published_at FROM outbox ORDER BY id`);
    const times = rows.map((row) => row.published_at.getTime());
    expect(Math.min(...times)).toBeGreaterThanOrEqual(before.getTime());
    expect(Math.max(...times)).toBeLessThanOrEqual(after.getTime());
    // Three batches, three acknowledgements in order: the rows of a batch share its time.
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(new Set(times.slice(0, 3)).size).toBe(1);
    expect(new Set(times.slice(3, 6)).size).toBe(1);
  });

  it('marks the last batch it published when it stops, though no read came after it', async () => {
    const outbox = new Outbox('/messaging-test', validator, systemClock);
    await dataSource.transaction((tx) =>
      outbox.append(tx, [{ topic: Topics.paymentEvents, type: 'pos.payment.succeeded', key: 'M100', data: succeeded('3b5b0a52-8a3e-4d7c-9b4e-3f0f6a1c2d31') }]),
    );

    // A linger far longer than the test: after its one batch the relay reads nothing more until it stops.
    const relay = new OutboxRelay(broker, { databaseUrl: stack.postgresUrl, schema, lingerMs: 600_000 });
    relay.start();
    await collect(broker, Topics.paymentEvents, 1);
    const [pending] = await dataSource.query(`SELECT published_at FROM outbox`);
    expect(pending.published_at).toBeNull();
    await relay.stop();

    const [marked] = await dataSource.query(`SELECT published_at FROM outbox`);
    expect(marked.published_at).toBeInstanceOf(Date);
  });

  it('deletes published rows past their retention, a chunk at a time, and keeps recent ones', async () => {
    // Published history: 2,500 rows a week and a day old (more than one cleanup statement
    // deletes), then 10 from an hour ago, in that id order.
    await dataSource.query(
      `INSERT INTO outbox (event_id, topic, message_key, headers, payload, created_at, published_at)
       SELECT gen_random_uuid(), $1, 'M100', '{}', '{}', now() - history.age, now() - history.age
       FROM (VALUES (1, 2500, interval '8 days'), (2, 10, interval '1 hour')) AS history (part, n, age), generate_series(1, history.n)
       ORDER BY history.part`,
      [Topics.paymentEvents],
    );
    const outbox = new Outbox('/messaging-test', validator, systemClock);
    const [pending] = await dataSource.transaction((tx) =>
      outbox.append(tx, [{ topic: Topics.paymentEvents, type: 'pos.payment.succeeded', key: 'M100', data: succeeded('3b5b0a52-8a3e-4d7c-9b4e-3f0f6a1c2d11') }]),
    );

    const relay = new OutboxRelay(broker, { databaseUrl: stack.postgresUrl, schema, cleanupChunk: 1_000 });
    relay.start();
    const [message] = await collect(broker, Topics.paymentEvents, 1);
    const remaining = async () => (await dataSource.query(`SELECT count(*)::int AS n FROM outbox`))[0].n as number;
    const deadline = Date.now() + 20_000;
    while ((await remaining()) > 11 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await relay.stop();

    expect(message.headers['ce_id']).toBe(pending);
    const rows: { recent: boolean; published: boolean }[] = await dataSource.query(
      `SELECT published_at > now() - interval '2 hours' AS recent, published_at IS NOT NULL AS published FROM outbox`,
    );
    expect(rows).toHaveLength(11);
    expect(rows.every((row) => row.recent && row.published)).toBe(true);
  });

  it('refuses to write a payload that breaks its own schema', async () => {
    const outbox = new Outbox('/messaging-test', validator, systemClock);
    await expect(
      dataSource.transaction((tx) =>
        outbox.append(tx, [{ topic: Topics.paymentEvents, type: 'pos.payment.succeeded', key: 'M100', data: { ...succeeded('3b5b0a52-8a3e-4d7c-9b4e-3f0f6a1c2d11'), amountFen: 12.5 } }]),
      ),
    ).rejects.toThrow(/SCHEMA_VIOLATION/);
  });

  it.each([1, 10])('applies each event once, parks bad and modified messages with reasons, and keeps going (batches of %d)', async (batchSize) => {
    const producer = await broker.createProducer();
    const good = encodeEnvelope(Topics.paymentEvents, {
      id: 'evt-good', type: 'pos.payment.succeeded', source: ServiceSources.payment, time: '2026-11-27T14:59:59Z', schemaVersion: 1, key: 'M100',
      data: succeeded('3b5b0a52-8a3e-4d7c-9b4e-3f0f6a1c2d11'),
    });
    const modified = { ...good, value: JSON.stringify({ ...succeeded('3b5b0a52-8a3e-4d7c-9b4e-3f0f6a1c2d11'), amountFen: 1 }) };
    const invalid = encodeEnvelope(Topics.paymentEvents, { id: 'evt-invalid', type: 'pos.payment.succeeded', source: ServiceSources.payment, time: '2026-11-27T14:59:59Z', schemaVersion: 1, key: 'M100', data: { paymentId: 'nope' } });
    const unknownType = encodeEnvelope(Topics.paymentEvents, { id: 'evt-unknown', type: 'pos.payment.teleported', source: ServiceSources.payment, time: '2026-11-27T14:59:59Z', schemaVersion: 1, key: 'M100', data: {} });
    const future = encodeEnvelope(Topics.paymentEvents, { id: 'evt-future', type: 'pos.payment.succeeded', source: ServiceSources.payment, time: '2026-11-27T14:59:59Z', schemaVersion: 9, key: 'M100', data: succeeded('3b5b0a52-8a3e-4d7c-9b4e-3f0f6a1c2d11') });
    const last = encodeEnvelope(Topics.paymentEvents, {
      id: 'evt-last', type: 'pos.payment.succeeded', source: ServiceSources.payment, time: '2026-11-27T14:59:59Z', schemaVersion: 1, key: 'M100',
      data: succeeded('6f1d2c3b-4a5e-4f60-8b7a-9c0d1e2f3a4b'),
    });
    // Same key, so one partition, in this order.
    await producer.send([
      good,
      { topic: Topics.paymentEvents, key: 'M100', value: '{"not json', headers: good.headers },
      good,
      invalid,
      unknownType,
      future,
      modified,
      last,
    ]);
    await producer.disconnect();

    const applied: string[] = [];
    const consumer = new ReliableConsumer(broker, dataSource, validator, {
      groupId: 'clearing-test',
      topics: [Topics.paymentEvents],
      batchSize,
      handlers: {
        'pos.payment.succeeded': async (event: ConsumedEvent<{ paymentId: string }>, tx) => {
          await tx.query(`INSERT INTO applied (event_id, payment_id) VALUES ($1, $2)`, [event.envelope.id, event.envelope.data.paymentId]);
          applied.push(event.envelope.id);
        },
      },
    });
    const parked = collect(broker, `${Topics.paymentEvents}.dlq`, 5);
    await consumer.start();
    const dead = await parked;
    const deadline = Date.now() + 20_000;
    while (applied.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await consumer.stop();

    expect(applied).toEqual(['evt-good', 'evt-last']);
    const rows = await dataSource.query(`SELECT event_id FROM applied ORDER BY event_id`);
    expect(rows.map((r: { event_id: string }) => r.event_id)).toEqual(['evt-good', 'evt-last']);
    expect(dead.map((m) => m.headers[DeadLetterHeaders.reason])).toEqual([
      'MALFORMED_ENVELOPE',
      'SCHEMA_VIOLATION',
      'UNKNOWN_EVENT_TYPE',
      'UNSUPPORTED_SCHEMA_VERSION',
      'MODIFIED_DUPLICATE',
    ]);
    for (const message of dead) {
      expect(message.headers[DeadLetterHeaders.sourceTopic]).toBe(Topics.paymentEvents);
      expect(message.headers[DeadLetterHeaders.consumerGroup]).toBe('clearing-test');
      expect(message.headers[DeadLetterHeaders.detail].length).toBeGreaterThan(0);
    }
    expect(dead[1].headers[DeadLetterHeaders.detail]).toMatch(/paymentId/);
  });

  describe('in batches', () => {
    const paymentIdOf = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
    const eventOf = (n: number, amountFen = 1999) =>
      encodeEnvelope(Topics.paymentEvents, {
        id: `evt-${n}`, type: 'pos.payment.succeeded', source: ServiceSources.payment, time: '2026-11-27T14:59:59Z', schemaVersion: 1, key: 'M100',
        data: { ...succeeded(paymentIdOf(n)), amountFen },
      });

    /** Sends the messages (one key, so one partition, in this order), then consumes until `applied` events are in. */
    async function consume(messages: ReturnType<typeof eventOf>[], handler: EventHandler | SetHandler, applied: number, parked: number) {
      const producer = await broker.createProducer();
      await producer.send(messages);
      await producer.disconnect();
      const dead = parked > 0 ? collect(broker, `${Topics.paymentEvents}.dlq`, parked) : Promise.resolve([]);
      const consumer = new ReliableConsumer(broker, dataSource, validator, {
        groupId: 'batch-test',
        topics: [Topics.paymentEvents],
        batchSize: 10,
        handlers: { 'pos.payment.succeeded': handler },
      });
      await consumer.start();
      try {
        const deadline = Date.now() + 30_000;
        for (;;) {
          const [{ n }] = await dataSource.query(`SELECT count(*)::int AS n FROM applied`);
          if (n >= applied) break;
          if (Date.now() > deadline) throw new Error(`only ${n} of ${applied} events applied`);
          await new Promise((r) => setTimeout(r, 100));
        }
        return await dead;
      } finally {
        await consumer.stop();
      }
    }

    it('applies a backlog several events to a transaction, each event once, and parks a modified copy', async () => {
      await dataSource.query(`ALTER TABLE applied ADD COLUMN tx bigint NOT NULL`);
      const backlog = Array.from({ length: 30 }, (_, n) => eventOf(n));
      // A replay and a modified copy inside the batch of the event they repeat, and a replay in a later batch.
      backlog.splice(3, 0, eventOf(1), eventOf(2, 1));
      backlog.push(eventOf(29));
      const dead = await consume(
        backlog,
        async (event, tx) => {
          await tx.query(`INSERT INTO applied (event_id, payment_id, tx) VALUES ($1, $2, txid_current())`, [event.envelope.id, event.envelope.data.paymentId]);
        },
        30,
        1,
      );
      const rows: { event_id: string; tx: string }[] = await dataSource.query(`SELECT event_id, tx FROM applied`);
      expect(rows.map((r) => r.event_id).sort()).toEqual(Array.from({ length: 30 }, (_, n) => `evt-${n}`).sort());
      // 30 events, at most 10 messages to a transaction: at least 3 transactions, and far fewer than 30.
      const transactions = new Set(rows.map((r) => r.tx)).size;
      expect(transactions).toBeGreaterThanOrEqual(3);
      expect(transactions).toBeLessThanOrEqual(10);
      expect(dead.map((m) => m.headers[DeadLetterHeaders.reason])).toEqual(['MODIFIED_DUPLICATE']);
      expect(JSON.parse(dead[0].value?.toString() ?? '{}')).toMatchObject({ amountFen: 1 });
      const [{ n }] = await dataSource.query(`SELECT count(*)::int AS n FROM inbox WHERE consumer_group = 'batch-test'`);
      expect(n).toBe(30);
    });

    it('hands a set handler each run of its events at once, in partition order, each event once', async () => {
      const runs: string[][] = [];
      const backlog = Array.from({ length: 30 }, (_, n) => eventOf(n));
      // A replay inside a run is left out of it.
      backlog.splice(3, 0, eventOf(1));
      await consume(
        backlog,
        {
          applySet: async (events: readonly ConsumedEvent<{ paymentId: string }>[], tx) => {
            runs.push(events.map((e) => e.envelope.id));
            await tx.query(`INSERT INTO applied (event_id, payment_id) SELECT * FROM unnest($1::text[], $2::uuid[])`, [
              events.map((e) => e.envelope.id),
              events.map((e) => e.envelope.data.paymentId),
            ]);
          },
        },
        30,
        0,
      );
      expect(runs.flat()).toEqual(Array.from({ length: 30 }, (_, n) => `evt-${n}`));
      // 31 messages, at most 10 to a batch: at least 4 batches, one of them perhaps of the replay only.
      expect(runs.length).toBeGreaterThanOrEqual(3);
      expect(runs.length).toBeLessThanOrEqual(10);
      expect(Math.max(...runs.map((run) => run.length))).toBeGreaterThan(1);
    });

    it('rolls a batch back when one of its events fails, then applies the others once each, their effects after commit once each, and parks the failing one', async () => {
      const attempts = new Map<string, number>();
      const effects: string[] = [];
      const dead = await consume(
        Array.from({ length: 8 }, (_, n) => eventOf(n)),
        async (event, tx, afterCommit) => {
          attempts.set(event.envelope.id, (attempts.get(event.envelope.id) ?? 0) + 1);
          await tx.query(`INSERT INTO applied (event_id, payment_id) VALUES ($1, $2)`, [event.envelope.id, event.envelope.data.paymentId]);
          afterCommit(() => effects.push(event.envelope.id));
          if (event.envelope.id === 'evt-5') throw new PermanentFailure('payment 5 cannot be batched');
        },
        7,
        1,
      );
      const rows: { event_id: string }[] = await dataSource.query(`SELECT event_id FROM applied ORDER BY event_id`);
      expect(rows.map((r) => r.event_id)).toEqual(['evt-0', 'evt-1', 'evt-2', 'evt-3', 'evt-4', 'evt-6', 'evt-7']);
      // The events before the failing one ran in the batch that rolled back, then again on their own.
      expect(attempts.get('evt-0')).toBe(2);
      // The rolled-back attempts' effects never ran: each committed event's ran once, the failing one's not at all.
      expect([...effects].sort()).toEqual(['evt-0', 'evt-1', 'evt-2', 'evt-3', 'evt-4', 'evt-6', 'evt-7']);
      expect(dead.map((m) => [m.headers[DeadLetterHeaders.reason], m.headers[DeadLetterHeaders.detail]])).toEqual([['REJECTED_BY_HANDLER', 'payment 5 cannot be batched']]);
      const inbox: { event_id: string }[] = await dataSource.query(`SELECT event_id FROM inbox WHERE consumer_group = 'batch-test' ORDER BY event_id`);
      expect(inbox.map((r) => r.event_id)).toEqual(['evt-0', 'evt-1', 'evt-2', 'evt-3', 'evt-4', 'evt-6', 'evt-7']);
    });
  });
});
