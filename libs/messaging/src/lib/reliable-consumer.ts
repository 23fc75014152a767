import { Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { DeadLetterReason, deadLetterTopicOf, EventEnvelope, TopicName } from '@pos/contracts';
import { queryPrepared } from '@pos/persistence';
import { HandlerContext, InboundMessage, MessageBroker, MessageConsumer, MessageProducer } from './broker.port';
import { decodeEnvelope } from './envelope-codec';
import { MessageValidator } from './message-validator';

/** An event that passed envelope and schema checks, handed to a handler with its position. */
export interface ConsumedEvent<T = unknown> {
  readonly envelope: EventEnvelope<T>;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

/** Runs inside the consumer's transaction; everything it writes commits with the inbox row. */
// The payload type is chosen per handler by its registration.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EventHandler = (event: ConsumedEvent<any>, tx: EntityManager) => Promise<void>;

/** Thrown by a handler for a message that can never succeed: it goes to the dead-letter topic at once. */
export class PermanentFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentFailure';
  }
}

export interface ReliableConsumerOptions {
  readonly groupId: string;
  readonly topics: readonly TopicName[];
  /** By CloudEvents type. Types of the topic's contract that are absent here are acknowledged and skipped. */
  readonly handlers: Readonly<Record<string, EventHandler>>;
  /** Attempts for an error that is neither permanent nor an outage, before dead-lettering. */
  readonly maxAttempts?: number;
  readonly initialBackoffMs?: number;
}

export const DeadLetterHeaders = {
  reason: 'dlq_reason',
  detail: 'dlq_detail',
  sourceTopic: 'dlq_source_topic',
  sourcePartition: 'dlq_source_partition',
  sourceOffset: 'dlq_source_offset',
  consumerGroup: 'dlq_consumer_group',
  failedAt: 'dlq_failed_at',
} as const;

/** SQLSTATE classes and socket errors that mean "the database is not there", not "this message is bad". */
function isOutage(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (code.startsWith('08') || code.startsWith('57P') || code === '53300') return true;
    if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND'].includes(code)) return true;
  }
  const message = error instanceof Error ? error.message : String(error);
  return /Connection terminated|connection timeout|Connection refused|timeout exceeded when trying to connect|Driver not Connected/i.test(message);
}

function isConflict(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '40001' || code === '40P01';
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The consumer side of exactly-once: each event is applied in one PostgreSQL transaction together
 * with its inbox row, and the Kafka offset is committed only after that transaction. A redelivered
 * event finds its inbox row and changes nothing; the same id with another payload is parked as a
 * modified duplicate. Malformed, unknown and schema-invalid messages, and those a handler rejects
 * or keeps failing on, go to the topic's dead-letter topic with the reason in headers; the
 * partition keeps moving. An outage of the database is waited out, never dead-lettered.
 */
export class ReliableConsumer {
  private readonly logger: Logger;
  private consumer?: MessageConsumer;
  private deadLetters?: MessageProducer;
  /** Once set, a failing message is left for redelivery instead of being retried or parked. */
  private stopping = false;

  constructor(
    private readonly broker: MessageBroker,
    private readonly dataSource: DataSource,
    private readonly validator: MessageValidator,
    private readonly options: ReliableConsumerOptions,
  ) {
    this.logger = new Logger(`Consumer:${options.groupId}`);
  }

  async start(): Promise<void> {
    this.deadLetters = await this.broker.createProducer();
    this.consumer = await this.broker.createConsumer({ groupId: this.options.groupId, topics: this.options.topics });
    await this.consumer.run((message, context) => this.process(message, context));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.consumer?.stop();
    await this.deadLetters?.disconnect();
    this.consumer = undefined;
    this.deadLetters = undefined;
  }

  private async process(message: InboundMessage, context: HandlerContext): Promise<void> {
    const decoded = decodeEnvelope(message);
    if (!decoded.ok) return this.deadLetter(message, 'MALFORMED_ENVELOPE', `${decoded.reason}: ${decoded.detail}`);
    const { envelope } = decoded;
    const validation = this.validator.validate(message.topic, envelope.type, envelope.schemaVersion, envelope.data);
    if (!validation.ok) return this.deadLetter(message, validation.reason, validation.detail);
    const handler = this.options.handlers[envelope.type];
    if (!handler) return;

    const event: ConsumedEvent = { envelope, topic: message.topic, partition: message.partition, offset: message.offset };
    const hash = createHash('sha256').update(envelope.type).update('\n').update(message.value ?? Buffer.alloc(0)).digest('hex');
    const maxAttempts = this.options.maxAttempts ?? 5;
    let backoff = this.options.initialBackoffMs ?? 100;
    for (let attempt = 1; ; attempt++) {
      try {
        const outcome = await this.applyOnce(event, hash, handler);
        if (outcome === 'modified') {
          return this.deadLetter(message, 'MODIFIED_DUPLICATE', `event ${envelope.id} was seen before with another payload`);
        }
        return;
      } catch (error) {
        if (error instanceof PermanentFailure) return this.deadLetter(message, 'REJECTED_BY_HANDLER', error.message);
        // Shutting down: the offset stays uncommitted and the group's next owner applies it.
        if (this.stopping) throw error;
        const waitOut = isOutage(error) || isConflict(error);
        if (!waitOut && attempt >= maxAttempts) {
          return this.deadLetter(message, 'RETRIES_EXHAUSTED', `${attempt} attempts: ${String(error)}`);
        }
        this.logger.warn(`${envelope.type} ${envelope.id} attempt ${attempt} failed, retrying in ${backoff} ms: ${String(error)}`);
        await sleep(backoff);
        await context.heartbeat();
        backoff = Math.min(backoff * 2, 5_000);
      }
    }
  }

  /** One transaction: claim the event in the inbox, apply it. */
  private applyOnce(event: ConsumedEvent, hash: string, handler: EventHandler): Promise<'applied' | 'duplicate' | 'modified'> {
    return this.dataSource.transaction(async (tx) => {
      const inserted = await queryPrepared(
        tx,
        `INSERT INTO inbox (consumer_group, event_id, payload_hash, topic, partition, "offset")
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING event_id`,
        [this.options.groupId, event.envelope.id, hash, event.topic, event.partition, event.offset],
      );
      if (inserted.length === 0) {
        const [seen] = await tx.query(`SELECT payload_hash FROM inbox WHERE consumer_group = $1 AND event_id = $2`, [
          this.options.groupId,
          event.envelope.id,
        ]);
        return seen?.payload_hash === hash ? 'duplicate' : 'modified';
      }
      await handler(event, tx);
      return 'applied';
    });
  }

  /** Parks the message with its reason; resolves only once the broker has it, so nothing is lost. */
  private async deadLetter(message: InboundMessage, reason: DeadLetterReason, detail: string): Promise<void> {
    if (!this.deadLetters) throw new Error('consumer is not started');
    this.logger.warn(`dead-lettering ${message.topic}[${message.partition}]@${message.offset}: ${reason}: ${detail}`);
    await this.deadLetters.send([
      {
        topic: deadLetterTopicOf(message.topic as TopicName),
        key: message.key,
        value: message.value,
        headers: {
          ...message.headers,
          [DeadLetterHeaders.reason]: reason,
          [DeadLetterHeaders.detail]: detail.slice(0, 1_000),
          [DeadLetterHeaders.sourceTopic]: message.topic,
          [DeadLetterHeaders.sourcePartition]: String(message.partition),
          [DeadLetterHeaders.sourceOffset]: message.offset,
          [DeadLetterHeaders.consumerGroup]: this.options.groupId,
          [DeadLetterHeaders.failedAt]: new Date().toISOString(),
        },
      },
    ]);
  }
}
