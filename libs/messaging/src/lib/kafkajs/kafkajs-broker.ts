import { Logger } from '@nestjs/common';
import {
  Admin,
  Consumer,
  IHeaders,
  Kafka,
  KafkaConfig,
  LogEntry,
  logLevel,
  Partitioners,
  Producer,
  SASLOptions,
} from 'kafkajs';
import {
  BrokerConnection,
  ConsumerOptions,
  MessageBroker,
  MessageConsumer,
  MessageHandler,
  MessageProducer,
  OutboundMessage,
  TopicSpec,
} from '../broker.port';

function saslOptions(sasl: BrokerConnection['sasl']): SASLOptions | undefined {
  if (!sasl) return undefined;
  return { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password } as SASLOptions;
}

function headersOf(raw: IHeaders | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw ?? {})) {
    if (value === undefined) continue;
    // A header repeated by a producer arrives as an array; the last one wins, as in Kafka's own clients.
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last !== undefined) headers[name] = last.toString();
  }
  return headers;
}

/** kafkajs logs through the service's logger, so its lines carry the service name and version too. */
function kafkajsLogCreator() {
  return ({ namespace, level, log }: LogEntry) => {
    const logger = new Logger(`kafkajs:${namespace}`);
    const text = `${log.message}${log['broker'] ? ` (${String(log['broker'])})` : ''}`;
    if (level === logLevel.ERROR) logger.error(text);
    else if (level === logLevel.WARN) logger.warn(text);
    else if (level === logLevel.INFO) logger.log(text);
    else logger.debug(text);
  };
}

class KafkajsProducer implements MessageProducer {
  constructor(private readonly producer: Producer) {}

  async send(messages: readonly OutboundMessage[]): Promise<void> {
    const byTopic = new Map<string, OutboundMessage[]>();
    for (const message of messages) {
      const list = byTopic.get(message.topic) ?? [];
      list.push(message);
      byTopic.set(message.topic, list);
    }
    await this.producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, list]) => ({
        topic,
        messages: list.map((m) => ({ key: m.key, value: m.value, headers: { ...m.headers } })),
      })),
    });
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }
}

/** Commit at most this many processed messages late; the inbox makes a redelivery a no-op. */
const COMMIT_EVERY = 100;

class KafkajsConsumer implements MessageConsumer {
  constructor(
    private readonly consumer: Consumer,
    private readonly options: ConsumerOptions,
  ) {}

  async run(handler: MessageHandler): Promise<void> {
    await this.consumer.subscribe({
      topics: [...this.options.topics],
      fromBeginning: this.options.fromBeginning ?? true,
    });
    const joined = new Promise<void>((resolve, reject) => {
      const removeJoin = this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
        removeJoin();
        removeCrash();
        resolve();
      });
      const removeCrash = this.consumer.on(this.consumer.events.CRASH, (event) => {
        removeJoin();
        removeCrash();
        reject(event.payload.error);
      });
    });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        let pending: string | undefined;
        const commit = async () => {
          if (pending === undefined) return;
          await this.consumer.commitOffsets([
            { topic: batch.topic, partition: batch.partition, offset: (BigInt(pending) + 1n).toString() },
          ]);
          pending = undefined;
        };
        let sinceCommit = 0;
        for (const message of batch.messages) {
          if (!isRunning() || isStale()) break;
          await handler({
            topic: batch.topic,
            partition: batch.partition,
            offset: message.offset,
            key: message.key ? message.key.toString() : null,
            value: message.value,
            headers: headersOf(message.headers),
            timestamp: Number(message.timestamp),
          }, { heartbeat });
          resolveOffset(message.offset);
          pending = message.offset;
          if (++sinceCommit >= COMMIT_EVERY) {
            await commit();
            sinceCommit = 0;
          }
          await heartbeat();
        }
        await commit();
      },
    });
    await joined;
  }

  stop(): Promise<void> {
    return this.consumer.disconnect();
  }
}

export class KafkajsBroker implements MessageBroker {
  private readonly kafka: Kafka;
  private admin?: Promise<Admin>;

  constructor(connection: BrokerConnection) {
    const config: KafkaConfig = {
      clientId: connection.clientId,
      brokers: [...connection.brokers],
      ssl: connection.ssl,
      sasl: saslOptions(connection.sasl),
      logLevel: logLevel.WARN,
      logCreator: kafkajsLogCreator,
      retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5_000 },
    };
    this.kafka = new Kafka(config);
  }

  async createProducer(): Promise<MessageProducer> {
    const producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      // An idempotent producer must retry without limit to keep its sequence numbers valid; a
      // caller that cannot publish waits (the outbox keeps the rows) instead of losing order.
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 200, maxRetryTime: 5_000 },
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    return new KafkajsProducer(producer);
  }

  async createConsumer(options: ConsumerOptions): Promise<MessageConsumer> {
    const consumer = this.kafka.consumer({ groupId: options.groupId, allowAutoTopicCreation: false });
    await consumer.connect();
    return new KafkajsConsumer(consumer, options);
  }

  async ensureTopics(topics: readonly TopicSpec[]): Promise<void> {
    const admin = await this.connectedAdmin();
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.name));
    if (missing.length === 0) return;
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((t) => ({
          topic: t.name,
          numPartitions: t.partitions,
          replicationFactor: t.replicationFactor ?? 1,
        })),
      });
    } catch (error) {
      // Another instance may have created them in the meantime; only a topic still missing is an error.
      const now = new Set(await admin.listTopics());
      if (missing.some((t) => !now.has(t.name))) throw error;
    }
  }

  async ping(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Kafka did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const admin = await Promise.race([this.connectedAdmin(), timeout]);
      await Promise.race([admin.describeCluster(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    if (admin) await (await admin.catch(() => undefined))?.disconnect();
  }

  private connectedAdmin(): Promise<Admin> {
    if (!this.admin) {
      const admin = this.kafka.admin();
      this.admin = admin.connect().then(
        () => admin,
        (error: unknown) => {
          this.admin = undefined;
          throw error;
        },
      );
    }
    return this.admin;
  }
}
