import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { deadLetterTopicOf, Topics } from '@pos/contracts';
import { createDataSource, runMigrations } from '@pos/persistence';
import {
  ConsumedEvent,
  messagingMigrations,
  KafkajsBroker,
  MessageBroker,
  MessageValidator,
  NamespacedBroker,
  ReliableConsumer,
} from '@pos/messaging';
import { KafkaAccess, kafkaClientOf, testStack, uniqueName } from '@pos/testing';

/**
 * kcat (Debian package `kcat`), a librdkafka client: nothing of ours, only what docs/asyncapi.json
 * says, the partitioner included (librdkafka's default, consistent_random, is CRC32 of the key).
 */
function kcatProduce(kafka: KafkaAccess, topic: string, key: string, headers: Record<string, string>, value: string): Promise<void> {
  // Authenticated as docs/contracts.md tells an upstream team whose librdkafka predates 2.6.1
  // (Debian 12's kcat: its SCRAM is refused by Kafka 4): a client certificate over TLS. The test
  // topics carry a per-test prefix the upstream principal's ACLs do not cover, so the certificate
  // is the stack's admin's; the ACLs are tested in broker-acls.integration-spec.
  const args = [
    '-P', '-b', kafka.kafkaMtls.brokers.join(','), '-t', topic, '-k', key,
    '-X', 'security.protocol=SSL', '-X', `ssl.ca.location=${kafka.kafkaCaFile}`,
    '-X', `ssl.certificate.location=${kafka.kafkaMtls.adminCertFile}`, '-X', `ssl.key.location=${kafka.kafkaMtls.adminKeyFile}`,
    '-X', 'partitioner=murmur2_random',
    ...Object.entries(headers).flatMap(([n, v]) => ['-H', `${n}=${v}`]),
  ];
  return new Promise((resolve, reject) => {
    const child = execFile('kcat', args, { timeout: 30_000 }, (error, _stdout, stderr) =>
      error ? reject(new Error(`kcat failed: ${stderr || error.message}`)) : resolve(),
    );
    child.stdin?.end(`${value}\n`);
  });
}

const PARTITIONS = 6;
/** A merchant that CRC32 (librdkafka's default) and murmur2 (Java's, the services') put on different partitions of six. */
const MERCHANT = 'M041';

/** Where the services' own producer puts a key: the partition of a message it sends with that key. */
async function partitionOfServices(broker: MessageBroker, key: string): Promise<number> {
  const producer = await broker.createProducer();
  await producer.send([{ topic: Topics.paymentEvents, key, value: '{}', headers: {} }]);
  await producer.disconnect();
  const [offsets] = await broker.topicOffsets([Topics.paymentEvents]);
  const used = offsets.partitions.filter((p) => p.high !== p.low);
  if (used.length !== 1) throw new Error(`expected one message, found ${used.length} partitions with messages`);
  return used[0].partition;
}

describe('a producer built from the AsyncAPI document alone (kcat)', () => {
  const stack = testStack();
  let dataSource: DataSource;
  let broker: MessageBroker;
  let prefix: string;

  beforeAll(async () => {
    const schema = uniqueName('upstream');
    prefix = `${schema}.`;
    dataSource = createDataSource({ url: stack.postgresUrl, schema }, { applicationName: 'upstream-test', migrations: messagingMigrations });
    await dataSource.initialize();
    await runMigrations(dataSource);
    broker = new NamespacedBroker(new KafkajsBroker(kafkaClientOf(stack, schema)), prefix);
    // Six partitions, as the services create them: enough for partitioners to disagree.
    await broker.ensureTopics(
      [Topics.paymentCommands, deadLetterTopicOf(Topics.paymentCommands), Topics.paymentEvents].map((name) => ({ name, partitions: PARTITIONS })),
    );
  });

  afterAll(async () => {
    await broker.close();
    await dataSource.destroy();
  });

  it('is accepted by the reliable consumer of payments.commands.v1', async () => {
    const eventId = randomUUID();
    // Exactly what the document asks for: the CloudEvents headers, the merchant id as key, the JSON payload.
    const payload = {
      merchantId: MERCHANT,
      terminalId: 'T9',
      channel: 'ALIPAY',
      amountFen: 12345,
      currency: 'CNY',
      outTradeNo: 'KCAT-0001',
      paymentCode: '281234567890123456',
    };
    await kcatProduce(
      stack,
      `${prefix}${Topics.paymentCommands}`,
      MERCHANT,
      {
        ce_id: eventId,
        ce_type: 'pos.payment.requested',
        ce_source: '/acme-pos-gateway',
        ce_time: '2026-11-27T22:59:59.900+08:00',
        ce_specversion: '1.0',
        ce_schemaversion: '1',
        'content-type': 'application/json',
      },
      JSON.stringify(payload),
    );

    // Reading it back first also waits out a group coordinator still loading on a fresh cluster.
    const [written] = await broker.topicOffsets([Topics.paymentCommands]);
    const seen: number[] = [];
    await broker.readMessages(
      written.partitions.map((p) => ({ topic: Topics.paymentCommands, partition: p.partition, from: p.low, until: p.high })),
      async (message) => {
        seen.push(message.partition);
      },
    );
    // The contract's partitioner: the merchant's commands land where the services' producer puts it.
    expect(seen).toEqual([await partitionOfServices(broker, MERCHANT)]);

    const received: ConsumedEvent[] = [];
    const consumer = new ReliableConsumer(broker, dataSource, new MessageValidator(), {
      groupId: 'payment-service',
      topics: [Topics.paymentCommands],
      handlers: {
        'pos.payment.requested': async (event) => {
          received.push(event);
        },
      },
    });
    await consumer.start();
    const deadline = Date.now() + 30_000;
    while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await consumer.stop();

    expect(received).toHaveLength(1);
    expect(received[0].envelope).toMatchObject({
      id: eventId,
      type: 'pos.payment.requested',
      source: '/acme-pos-gateway',
      schemaVersion: 1,
      key: MERCHANT,
      data: payload,
    });
    const [{ count }] = await dataSource.query(`SELECT count(*)::int AS count FROM inbox WHERE event_id = $1`, [eventId]);
    expect(count).toBe(1);
    const [dlq] = await broker.topicOffsets([deadLetterTopicOf(Topics.paymentCommands)]);
    expect(dlq.partitions.every((p) => p.high === '0')).toBe(true);
  });
});
