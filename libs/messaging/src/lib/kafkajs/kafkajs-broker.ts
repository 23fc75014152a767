import { Logger } from '@nestjs/common';
import {
  Admin,
  Consumer,
  IHeaders,
  Kafka,
  KafkaMessage,
  KafkaConfig,
  LogEntry,
  logLevel,
  Partitioners,
  Producer,
  SASLOptions,
} from 'kafkajs';
import { randomUUID } from 'node:crypto';
import {
  BatchHandler,
  BrokerConnection,
  CommittedOffset,
  ConsumerGroupInfo,
  ConsumerOptions,
  InboundMessage,
  MessageBroker,
  MessageConsumer,
  MessageHandler,
  MessageProducer,
  MessageTooLargeError,
  OutboundMessage,
  ReadOptions,
  ReadRange,
  TopicOffsets,
  TopicSpec,
} from '../broker.port';
import { whileLeadersMove } from './while-leaders-move';

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

/** A kafkajs message as the port hands it to handlers. */
function inboundOf(topic: string, partition: number, message: KafkaMessage): InboundMessage {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key ? message.key.toString() : null,
    value: message.value,
    headers: headersOf(message.headers),
    timestamp: Number(message.timestamp),
  };
}

/** kafkajs wraps the broker's error code (a protocol error) in its retrier's errors, as `cause`. */
function isTooLarge(error: unknown): boolean {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    const type = (cause as { type?: unknown }).type;
    if (type === 'MESSAGE_TOO_LARGE' || type === 'RECORD_LIST_TOO_LARGE') return true;
  }
  return false;
}

class KafkajsProducer implements MessageProducer {
  constructor(private readonly producer: Producer) {}

  async send(messages: readonly OutboundMessage[]): Promise<void> {
    try {
      await this.sendBatch(messages);
    } catch (error) {
      if (isTooLarge(error)) throw new MessageTooLargeError(error instanceof Error ? error.message : String(error));
      throw error;
    }
  }

  private async sendBatch(messages: readonly OutboundMessage[]): Promise<void> {
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

  run(handler: MessageHandler): Promise<void> {
    return this.runBatches(([message], context) => handler(message, context), 1);
  }

  async runBatches(handler: BatchHandler, maxMessages: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.consumer.subscribe({ topics: [...this.options.topics], fromBeginning: this.options.fromBeginning ?? true });
        break;
      } catch (error) {
        // Metadata of just-created topics can lag for a moment; kafkajs marks such errors retriable.
        if (!(error as { retriable?: boolean }).retriable || attempt >= 20) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
      }
    }
    const joined = new Promise<void>((resolve, reject) => {
      const removeJoin = this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
        removeJoin();
        removeCrash();
        resolve();
      });
      // kafkajs restarts by itself after a retriable crash (e.g. the group coordinator still loading
      // on a fresh cluster); only a crash it gives up on is a failure to start.
      const removeCrash = this.consumer.on(this.consumer.events.CRASH, (event) => {
        if (event.payload.restart) return;
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
          const offset = pending;
          if (offset === undefined) return;
          pending = undefined;
          // If this fails the batch fails, and kafkajs resumes from the last committed offset.
          await this.consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(offset) + 1n).toString() }]);
        };
        let sinceCommit = 0;
        for (let start = 0; start < batch.messages.length; start += maxMessages) {
          if (!isRunning() || isStale()) break;
          const chunk = batch.messages.slice(start, start + maxMessages);
          await handler(
            chunk.map((message) => inboundOf(batch.topic, batch.partition, message)),
            { heartbeat },
          );
          const last = chunk[chunk.length - 1].offset;
          resolveOffset(last);
          pending = last;
          sinceCommit += chunk.length;
          if (sinceCommit >= COMMIT_EVERY) {
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
      ssl: connection.tls ? { ...connection.tls } : connection.ssl,
      sasl: saslOptions(connection.sasl),
      logLevel: logLevel.WARN,
      logCreator: kafkajsLogCreator,
      retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5_000 },
      // kafkajs' default (1 s) covers the TLS handshake too: on a busy host a SASL_SSL connection
      // to a healthy broker took longer, until the retries ran out.
      connectionTimeout: 5_000,
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
    const consumer = this.kafka.consumer({
      groupId: options.groupId,
      allowAutoTopicCreation: false,
      // Gathering: the broker answers when the wait is over, or sooner with a megabyte in hand.
      ...(options.gatherMs ? { minBytes: 1 << 20, maxWaitTimeInMs: options.gatherMs } : {}),
    });
    await consumer.connect();
    return new KafkajsConsumer(consumer, options);
  }

  async ensureTopics(topics: readonly TopicSpec[]): Promise<void> {
    await this.createMissingTopics(topics);
    await this.awaitLeaders(topics.map((t) => t.name));
  }

  /**
   * A topic another instance has just created can be listed before its partitions have leaders;
   * consumers subscribing then fail with "does not host this topic-partition". Wait it out.
   */
  private async awaitLeaders(topics: readonly string[], timeoutMs = 60_000): Promise<void> {
    if (topics.length === 0) return;
    const admin = await this.connectedAdmin();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const { topics: metadata } = await admin.fetchTopicMetadata({ topics: [...topics] });
        if (metadata.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
      if (Date.now() > deadline) throw new Error(`topics without leaders after ${timeoutMs} ms: ${topics.join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  private async createMissingTopics(topics: readonly TopicSpec[]): Promise<void> {
    const admin = await this.connectedAdmin();
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.name));
    if (missing.length === 0) return;
    try {
      // kafkajs' own waitForLeaders can leave a rejected promise unhandled (a crash on a busy
      // broker); awaitLeaders does the waiting instead.
      await admin.createTopics({
        waitForLeaders: false,
        topics: missing.map((t) => ({
          topic: t.name,
          numPartitions: t.partitions,
          replicationFactor: t.replicationFactor ?? 1,
          configEntries: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
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

  async listTopics(): Promise<string[]> {
    const admin = await this.connectedAdmin();
    return (await admin.listTopics()).filter((name) => !name.startsWith('__')).sort();
  }

  async topicOffsets(topics: readonly string[]): Promise<TopicOffsets[]> {
    const admin = await this.connectedAdmin();
    return Promise.all(
      topics.map(async (topic) => ({
        topic,
        partitions: (await whileLeadersMove(() => admin.fetchTopicOffsets(topic)))
          .map((p) => ({ partition: p.partition, low: p.low, high: p.high }))
          .sort((a, b) => a.partition - b.partition),
      })),
    );
  }

  async offsetsAtTime(topic: string, timestampMs: number): Promise<{ partition: number; offset: string }[]> {
    const admin = await this.connectedAdmin();
    const [atTime, ends] = await whileLeadersMove(() =>
      Promise.all([admin.fetchTopicOffsetsByTimestamp(topic, timestampMs), admin.fetchTopicOffsets(topic)]),
    );
    const endOf = new Map(ends.map((p) => [p.partition, p.high]));
    // The broker answers -1 for a partition with nothing at or after the time: reading starts at its end.
    return atTime
      .map((p) => ({ partition: p.partition, offset: p.offset === '-1' ? (endOf.get(p.partition) ?? '0') : p.offset }))
      .sort((a, b) => a.partition - b.partition);
  }

  async listConsumerGroups(): Promise<ConsumerGroupInfo[]> {
    const admin = await this.connectedAdmin();
    const { groups } = await admin.listGroups();
    const ids = groups.filter((g) => g.protocolType === 'consumer' || g.protocolType === '').map((g) => g.groupId);
    if (ids.length === 0) return [];
    const described = await admin.describeGroups(ids);
    return described.groups
      .map((g) => ({ groupId: g.groupId, state: g.state, members: g.members.length }))
      .sort((a, b) => a.groupId.localeCompare(b.groupId));
  }

  async committedOffsets(groupId: string): Promise<CommittedOffset[]> {
    const admin = await this.connectedAdmin();
    const topics = await admin.fetchOffsets({ groupId });
    return topics.flatMap((t) =>
      t.partitions.map((p) => ({ topic: t.topic, partition: p.partition, offset: p.offset })),
    );
  }

  async readMessages(
    ranges: readonly ReadRange[],
    handler: (message: InboundMessage) => Promise<void>,
    options: ReadOptions = {},
  ): Promise<void> {
    const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;
    const wanted = new Map(ranges.map((r) => [key(r.topic, r.partition), r]));
    const pending = new Set(
      ranges.filter((r) => r.until === undefined || BigInt(r.from) < BigInt(r.until)).map((r) => key(r.topic, r.partition)),
    );
    if (pending.size === 0 || options.signal?.aborted) return;

    // A throwaway group that never commits: the reader changes no service's position and leaves no offsets behind.
    const consumer = this.kafka.consumer({ groupId: `pos-reader-${randomUUID()}`, allowAutoTopicCreation: false });
    const topics = [...new Set(ranges.map((r) => r.topic))];
    const partitions = await this.topicOffsets(topics);
    /** Next offset to hand over, per partition: a re-join after a crash resumes there, never repeats. */
    const next = new Map(ranges.map((r) => [key(r.topic, r.partition), BigInt(r.from)]));
    await consumer.connect();
    try {
      await new Promise<void>((resolve, reject) => {
        const finish = () => resolve();
        options.signal?.addEventListener('abort', finish, { once: true });
        consumer.on(consumer.events.CRASH, (event) => {
          // kafkajs restarts by itself after a retriable crash (e.g. a coordinator still being elected).
          if (!event.payload.restart) reject(event.payload.error);
        });
        // Seeks belong to one group generation: set them on every join, before the first fetch.
        consumer.on(consumer.events.GROUP_JOIN, () => {
          for (const topic of partitions) {
            const skipped: number[] = [];
            for (const p of topic.partitions) {
              const from = next.get(key(topic.topic, p.partition));
              if (from !== undefined) consumer.seek({ topic: topic.topic, partition: p.partition, offset: from.toString() });
              else skipped.push(p.partition);
            }
            if (skipped.length > 0) consumer.pause([{ topic: topic.topic, partitions: skipped }]);
          }
        });
        const done = (topic: string, partition: number) => {
          pending.delete(key(topic, partition));
          if (pending.size === 0) finish();
        };
        const start = async () => {
          await consumer.subscribe({ topics, fromBeginning: true });
          await consumer.run({
            autoCommit: false,
            eachBatch: async ({ batch, heartbeat, isRunning, isStale }) => {
              const k = key(batch.topic, batch.partition);
              const range = wanted.get(k);
              if (!range) return;
              const until = range.until === undefined ? undefined : BigInt(range.until);
              for (const message of batch.messages) {
                if (!isRunning() || isStale() || options.signal?.aborted) return;
                const offset = BigInt(message.offset);
                if (offset < (next.get(k) ?? 0n)) continue;
                if (until !== undefined && offset >= until) break;
                // A failing handler ends the read with its error instead of kafkajs retrying the batch.
                const failed = await handler(inboundOf(batch.topic, batch.partition, message)).then(
                  () => undefined,
                  (error: unknown) => error ?? new Error('reader handler failed'),
                );
                if (failed !== undefined) {
                  reject(failed);
                  return;
                }
                next.set(k, offset + 1n);
                await heartbeat();
              }
              if (until !== undefined && BigInt(batch.lastOffset()) + 1n >= until) done(batch.topic, batch.partition);
            },
          });
        };
        start().catch(reject);
      });
    } finally {
      await consumer.disconnect();
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
