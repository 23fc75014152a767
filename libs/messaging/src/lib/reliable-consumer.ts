import { Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import {
  CloudEventHeaders,
  continueTrace,
  contractFor,
  DeadLetterReason,
  deadLetterTopicOf,
  EventEnvelope,
  forbiddenFieldsIn,
  TopicName,
  TraceContext,
  withoutFields,
} from '@pos/contracts';
import { queryPrepared } from '@pos/persistence';
import { HandlerContext, InboundMessage, MessageBroker, MessageConsumer, MessageProducer, MessageTooLargeError, OutboundMessage } from './broker.port';
import { deadLetterReasonOf, decodeEnvelope } from './envelope-codec';
import { MessageValidator } from './message-validator';
import { MessagingObserver, NO_MESSAGING_OBSERVER } from './messaging-metrics';
import { LEGACY_INBOX_SOURCE } from './messaging-tables.migration';
import { currentTrace, inTrace } from './trace-scope';

/** An event that passed envelope and schema checks, handed to a handler with its position. */
export interface ConsumedEvent<T = unknown> {
  readonly envelope: EventEnvelope<T>;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

/**
 * Registers what a handler does outside the database (a metric, a log line): it runs once the
 * handler's transaction has committed, and never for an attempt that rolled back, so a retried or
 * re-batched event counts once.
 */
export type AfterCommit = (effect: () => void) => void;

/** Runs inside the consumer's transaction; everything it writes commits with the inbox row. */
// The payload type is chosen per handler by its registration.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EventHandler = (event: ConsumedEvent<any>, tx: EntityManager, afterCommit: AfterCommit) => Promise<void>;

/**
 * A handler that takes a run of consecutive events of its type at once, in partition order, so it
 * can write them with one set-based statement instead of one statement each: with `batchSize`, a
 * batch's run of them (an event of another type in between ends a run); otherwise, and when a
 * failed batch is applied again event by event, a run of one.
 */
export interface SetHandler {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly applySet: (events: readonly ConsumedEvent<any>[], tx: EntityManager, afterCommit: AfterCommit) => Promise<void>;
}

/** The dead-letter reasons a handler may give; REJECTED_BY_HANDLER when no more specific one fits. */
export type HandlerRejection = Extract<DeadLetterReason, 'REJECTED_BY_HANDLER' | 'UNKNOWN_MERCHANT'>;

/** Thrown by a handler for a message that can never succeed: it goes to the dead-letter topic at once. */
export class PermanentFailure extends Error {
  constructor(
    message: string,
    readonly reason: HandlerRejection = 'REJECTED_BY_HANDLER',
  ) {
    super(message);
    this.name = 'PermanentFailure';
  }
}

/**
 * Thrown by a handler when this instance cannot apply the message yet, though the message is good:
 * e.g. its configuration lacks what other instances already act on. Waited out like an outage,
 * retried with backoff and never dead-lettered, so the message stays for this instance once fixed
 * (or for the group's next owner of the partition).
 */
export class InstanceNotReady extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InstanceNotReady';
  }
}

export interface ReliableConsumerOptions {
  readonly groupId: string;
  readonly topics: readonly TopicName[];
  /** By CloudEvents type. Types of the topic's contract that are absent here are acknowledged and skipped. */
  readonly handlers: Readonly<Record<string, EventHandler | SetHandler>>;
  /** Attempts for an error that is neither permanent nor waited out (an outage, a conflict, InstanceNotReady), before dead-lettering. */
  readonly maxAttempts?: number;
  readonly initialBackoffMs?: number;
  /**
   * Up to this many consecutive events of a partition are applied in one transaction (default 1:
   * each in its own). Only for handlers whose every effect is in the transaction or registered
   * with `afterCommit`: if one event of a batch fails, the batch rolls back and each event is
   * applied again on its own.
   */
  readonly batchSize?: number;
  /** Lets the broker gather messages this long before answering a fetch, so batches fill (`ConsumerOptions`). */
  readonly gatherMs?: number;
}

/** A `batchSize` for consumers whose handlers only write to the database. */
export const TRANSACTIONAL_BATCH_SIZE = 50;

/** For such consumers whose events may wait a moment: batches gathered for up to 100 ms. */
export const GATHERED_BATCHES = { batchSize: TRANSACTIONAL_BATCH_SIZE, gatherMs: 100 } as const;

/** A message that passed its checks and has a handler. */
interface Applicable {
  readonly message: InboundMessage;
  readonly event: ConsumedEvent;
  /** Of the type and the raw value: tells a replay from a modified event with the same id. */
  readonly hash: string;
  readonly handler: EventHandler | SetHandler;
  /** The span handling it: a child of the event's `ce_traceparent`, or a new trace without one. */
  readonly trace: TraceContext;
}

export const DeadLetterHeaders = {
  reason: 'dlq_reason',
  detail: 'dlq_detail',
  sourceTopic: 'dlq_source_topic',
  sourcePartition: 'dlq_source_partition',
  sourceOffset: 'dlq_source_offset',
  consumerGroup: 'dlq_consumer_group',
  failedAt: 'dlq_failed_at',
  /** Only on a copy cut to fit the dead-letter topic: the original value's size in bytes. */
  truncatedFrom: 'dlq_truncated_from',
} as const;

/**
 * What a dead letter keeps of its original when the whole copy would exceed the dead-letter
 * topic's message size: enough to recognise it; the original stays at its coordinates.
 */
const TRUNCATED_VALUE_BYTES = 1_024;
const TRUNCATED_TEXT_CHARS = 256;

/** An event's identity: CloudEvents 1.0 makes `source` + `id` unique, not the id alone. */
const identityOf = (source: string, id: string): string => JSON.stringify([source, id]);
const eventIdentity = (item: Applicable): string => identityOf(item.event.envelope.source, item.event.envelope.id);

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

/** Registers effects to run after the commit, each in the span of the event that registered it. */
function collectInto(effects: (() => void)[]): AfterCommit {
  return (effect) => {
    const trace = currentTrace();
    effects.push(trace ? () => inTrace(trace, effect) : effect);
  };
}

/**
 * The consumer side of exactly-once: each event is applied in one PostgreSQL transaction together
 * with its inbox row (with the others of its batch, see `batchSize`), and the Kafka offset is
 * committed only after that transaction. A redelivered event finds its inbox row and changes
 * nothing; the same id with another payload is parked as a modified duplicate. Malformed,
 * unknown and schema-invalid messages, and those a handler rejects or keeps failing on, go to the
 * topic's dead-letter topic with the reason in headers; the partition keeps moving. An outage of
 * the database is waited out, never dead-lettered.
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
    /** Told of each dead letter and failed handler attempt (metrics). */
    private readonly observer: MessagingObserver = NO_MESSAGING_OBSERVER,
  ) {
    this.logger = new Logger(`Consumer:${options.groupId}`);
  }

  async start(): Promise<void> {
    this.deadLetters = await this.broker.createProducer();
    this.consumer = await this.broker.createConsumer({ groupId: this.options.groupId, topics: this.options.topics, gatherMs: this.options.gatherMs });
    await this.consumer.runBatches((messages, context) => this.processBatch(messages, context), Math.max(1, this.options.batchSize ?? 1));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.consumer?.stop();
    await this.deadLetters?.disconnect();
    this.consumer = undefined;
    this.deadLetters = undefined;
  }

  private async processBatch(messages: readonly InboundMessage[], context: HandlerContext): Promise<void> {
    const ready: Applicable[] = [];
    for (const message of messages) {
      const applicable = await this.admit(message);
      if (applicable) ready.push(applicable);
    }
    if (ready.length > 1) {
      try {
        const modified = await this.applyAll(ready);
        for (const item of modified) await inTrace(item.trace, () => this.deadLetterModified(item));
        return;
      } catch (error) {
        if (this.stopping) throw error;
        // Nothing of the batch was applied: each event gets its own transaction, retries and dead letter.
        this.logger.debug(`a batch of ${ready.length} events failed, applying them one by one: ${String(error)}`);
      }
    }
    for (const item of ready) await inTrace(item.trace, () => this.process(item, context));
  }

  /**
   * Checks a message's envelope and schema; a bad one is dead-lettered, one without a handler
   * skipped. Runs in the message's span, so that what is logged about it carries its trace.
   */
  private admit(message: InboundMessage): Promise<Applicable | undefined> {
    const trace = continueTrace(message.headers[CloudEventHeaders.traceparent]);
    return inTrace(trace, () => this.check(message, trace));
  }

  private async check(message: InboundMessage, trace: TraceContext): Promise<Applicable | undefined> {
    const decoded = decodeEnvelope(message);
    if (!decoded.ok) {
      const reason = deadLetterReasonOf(decoded.reason);
      await this.deadLetter(message, reason, reason === decoded.reason ? decoded.detail : `${decoded.reason}: ${decoded.detail}`);
      return undefined;
    }
    const { envelope } = decoded;
    // A secret that should never have been sent is not copied anywhere: parked without it, and nothing else.
    const contract = contractFor(message.topic, envelope.type);
    const secrets = contract ? forbiddenFieldsIn(contract, envelope.data) : [];
    if (secrets.length > 0) {
      const value = Buffer.from(JSON.stringify(withoutFields(envelope.data, secrets)), 'utf8');
      await this.deadLetter({ ...message, value }, 'SECRET_IN_MESSAGE', `${secrets.join(', ')} must never travel on Kafka; removed from this copy`);
      return undefined;
    }
    const validation = this.validator.validateEvent(message.topic, envelope);
    if (!validation.ok) {
      await this.deadLetter(message, validation.reason, validation.detail);
      return undefined;
    }
    const handler = this.options.handlers[envelope.type];
    if (!handler) return undefined;
    const event: ConsumedEvent = { envelope, topic: message.topic, partition: message.partition, offset: message.offset };
    const hash = createHash('sha256').update(envelope.type).update('\n').update(message.value ?? Buffer.alloc(0)).digest('hex');
    return { message, event, hash, handler, trace };
  }

  /** One event in its own transaction, retried while it fails for a passing reason. */
  private async process(item: Applicable, context: HandlerContext): Promise<void> {
    const { message, event } = item;
    const { envelope } = event;
    const maxAttempts = this.options.maxAttempts ?? 5;
    let backoff = this.options.initialBackoffMs ?? 100;
    for (let attempt = 1; ; attempt++) {
      try {
        const outcome = await this.applyOnce(item);
        if (outcome === 'modified') return this.deadLetterModified(item);
        return;
      } catch (error) {
        if (error instanceof PermanentFailure) {
          this.observer.handlerFailed(this.options.groupId, envelope.type, 'dead_letter');
          return this.deadLetter(message, error.reason, error.message);
        }
        // Shutting down: the offset stays uncommitted and the group's next owner applies it.
        if (this.stopping) throw error;
        const waitOut = error instanceof InstanceNotReady || isOutage(error) || isConflict(error);
        if (!waitOut && attempt >= maxAttempts) {
          this.observer.handlerFailed(this.options.groupId, envelope.type, 'dead_letter');
          return this.deadLetter(message, 'RETRIES_EXHAUSTED', `${attempt} attempts: ${String(error)}`);
        }
        this.observer.handlerFailed(this.options.groupId, envelope.type, 'retry');
        this.logger.warn(`${envelope.type} ${envelope.id} attempt ${attempt} failed, retrying in ${backoff} ms: ${String(error)}`);
        await sleep(backoff);
        await context.heartbeat();
        backoff = Math.min(backoff * 2, 5_000);
      }
    }
  }

  /** One transaction: claim the event in the inbox, apply it; then its effects. */
  private async applyOnce(item: Applicable): Promise<'applied' | 'duplicate' | 'modified'> {
    const { event, hash } = item;
    const effects: (() => void)[] = [];
    const outcome = await this.dataSource.transaction(async (tx): Promise<'applied' | 'duplicate' | 'modified'> => {
      // A row of before the inbox knew sources (LEGACY_INBOX_SOURCE) claims its id for every source.
      const inserted = await queryPrepared(
        tx,
        `INSERT INTO inbox (consumer_group, event_source, event_id, payload_hash, topic, partition, "offset")
         SELECT $1, $2, $3, $4, $5, $6::int, $7::bigint
         WHERE NOT EXISTS (SELECT 1 FROM inbox WHERE consumer_group = $1 AND event_source = $8 AND event_id = $3)
         ON CONFLICT DO NOTHING RETURNING event_id`,
        [this.options.groupId, event.envelope.source, event.envelope.id, hash, event.topic, event.partition, event.offset, LEGACY_INBOX_SOURCE],
      );
      if (inserted.length === 0) {
        const [seen] = await queryPrepared<{ payload_hash: string }>(
          tx,
          `SELECT payload_hash FROM inbox WHERE consumer_group = $1 AND event_source IN ($2, $3) AND event_id = $4`,
          [this.options.groupId, event.envelope.source, LEGACY_INBOX_SOURCE, event.envelope.id],
        );
        return seen?.payload_hash === hash ? 'duplicate' : 'modified';
      }
      await this.applyInOrder([item], tx, collectInto(effects));
      return 'applied';
    });
    this.runEffects(effects);
    return outcome;
  }

  /**
   * Several events in one transaction: their inbox rows in one statement, then the new ones'
   * handlers in partition order. Returns the deliveries that reuse an applied event's id with
   * another payload, to be dead-lettered once the transaction has committed, and runs the
   * handlers' effects then.
   */
  private async applyAll(ready: readonly Applicable[]): Promise<Applicable[]> {
    // The first delivery of an event in the batch claims it; later ones compare with what is stored.
    const firsts = new Map<string, Applicable>();
    for (const item of ready) if (!firsts.has(eventIdentity(item))) firsts.set(eventIdentity(item), item);
    const claims = [...firsts.values()];
    const effects: (() => void)[] = [];
    const modified = await this.dataSource.transaction(async (tx) => {
      // A row of before the inbox knew sources (LEGACY_INBOX_SOURCE) claims its id for every source.
      const inserted = await queryPrepared<{ event_source: string; event_id: string }>(
        tx,
        `INSERT INTO inbox (consumer_group, event_source, event_id, payload_hash, topic, partition, "offset")
         SELECT $1, claim.* FROM unnest($2::text[], $3::text[], $4::char(64)[], $5::text[], $6::int[], $7::bigint[])
           AS claim (event_source, event_id, payload_hash, topic, partition, "offset")
         WHERE NOT EXISTS (SELECT 1 FROM inbox legacy WHERE legacy.consumer_group = $1 AND legacy.event_source = $8 AND legacy.event_id = claim.event_id)
         ON CONFLICT DO NOTHING RETURNING event_source, event_id`,
        [
          this.options.groupId,
          claims.map((c) => c.event.envelope.source),
          claims.map((c) => c.event.envelope.id),
          claims.map((c) => c.hash),
          claims.map((c) => c.event.topic),
          claims.map((c) => c.event.partition),
          claims.map((c) => c.event.offset),
          LEGACY_INBOX_SOURCE,
        ],
      );
      const claimed = new Set(inserted.map((row) => identityOf(row.event_source, row.event_id)));
      const stored = new Map(claims.filter((c) => claimed.has(eventIdentity(c))).map((c) => [eventIdentity(c), c.hash]));
      const seenBefore = claims.filter((c) => !claimed.has(eventIdentity(c)));
      if (seenBefore.length > 0) {
        const rows = await queryPrepared<{ event_source: string; event_id: string; payload_hash: string }>(
          tx,
          `SELECT event_source, event_id, payload_hash FROM inbox
           WHERE consumer_group = $1 AND event_id = ANY($2::text[]) AND event_source = ANY($3::text[])`,
          [this.options.groupId, seenBefore.map((c) => c.event.envelope.id), [...new Set(seenBefore.map((c) => c.event.envelope.source)), LEGACY_INBOX_SOURCE]],
        );
        const found = new Map(rows.map((row) => [identityOf(row.event_source, row.event_id), row.payload_hash]));
        for (const claim of seenBefore) {
          const hash = found.get(eventIdentity(claim)) ?? found.get(identityOf(LEGACY_INBOX_SOURCE, claim.event.envelope.id));
          if (hash !== undefined) stored.set(eventIdentity(claim), hash);
        }
      }
      const modified: Applicable[] = [];
      const fresh: Applicable[] = [];
      for (const item of ready) {
        const identity = eventIdentity(item);
        if (claimed.has(identity) && firsts.get(identity) === item) fresh.push(item);
        else if (stored.get(identity) !== item.hash) modified.push(item);
      }
      await this.applyInOrder(fresh, tx, collectInto(effects));
      return modified;
    });
    this.runEffects(effects);
    return modified;
  }

  /**
   * Runs the handlers of claimed events in their order: a set handler once for each run of its
   * events. Each runs in its event's span, so what it logs and emits carries the event's trace; a
   * run of several events handled at once, in the span of its first event.
   */
  private async applyInOrder(items: readonly Applicable[], tx: EntityManager, afterCommit: AfterCommit): Promise<void> {
    for (let start = 0; start < items.length; ) {
      const { handler, trace, event } = items[start];
      let end = start + 1;
      if (typeof handler === 'function') {
        await inTrace(trace, () => handler(event, tx, afterCommit));
      } else {
        while (end < items.length && items[end].handler === handler) end++;
        const run = items.slice(start, end).map((item) => item.event);
        await inTrace(trace, () => handler.applySet(run, tx, afterCommit));
      }
      start = end;
    }
  }

  /** The committed events' effects. One that throws is logged: its event stays applied, once. */
  private runEffects(effects: readonly (() => void)[]): void {
    for (const effect of effects) {
      try {
        effect();
      } catch (error) {
        this.logger.error(`an effect after commit failed: ${String(error)}`);
      }
    }
  }

  private deadLetterModified({ message, event }: Applicable): Promise<void> {
    return this.deadLetter(
      message,
      'MODIFIED_DUPLICATE',
      `event ${event.envelope.id} from ${event.envelope.source} was seen before with another payload`,
    );
  }

  /**
   * Parks the message with its reason; resolves only once the broker has it, so nothing is lost.
   * A message just under its topic's size limit can be over it once the dead-letter headers are
   * added: then a cut copy is parked instead (see TRUNCATED_VALUE_BYTES), rather than failing on
   * the same offset for ever.
   */
  private async deadLetter(message: InboundMessage, reason: DeadLetterReason, detail: string): Promise<void> {
    const deadLetters = this.deadLetters;
    if (!deadLetters) throw new Error('consumer is not started');
    this.logger.warn(`dead-lettering ${message.topic}[${message.partition}]@${message.offset}: ${reason}: ${detail}`);
    const deadLetterHeaders = {
      [DeadLetterHeaders.reason]: reason,
      [DeadLetterHeaders.detail]: detail.slice(0, 1_000),
      [DeadLetterHeaders.sourceTopic]: message.topic,
      [DeadLetterHeaders.sourcePartition]: String(message.partition),
      [DeadLetterHeaders.sourceOffset]: message.offset,
      [DeadLetterHeaders.consumerGroup]: this.options.groupId,
      [DeadLetterHeaders.failedAt]: new Date().toISOString(),
    };
    const topic = deadLetterTopicOf(message.topic as TopicName);
    const whole: OutboundMessage = { topic, key: message.key, value: message.value, headers: { ...message.headers, ...deadLetterHeaders } };
    try {
      await deadLetters.send([whole]);
      this.observer.deadLettered(topic, reason);
    } catch (error) {
      if (!(error instanceof MessageTooLargeError)) throw error;
      this.logger.warn(`the dead letter of ${message.topic}[${message.partition}]@${message.offset} is too large for ${topic}: parking a cut copy`);
      const cut = (text: string) => text.slice(0, TRUNCATED_TEXT_CHARS);
      await deadLetters.send([
        {
          topic,
          key: message.key === null ? null : cut(message.key),
          value: message.value?.subarray(0, TRUNCATED_VALUE_BYTES) ?? null,
          headers: {
            ...Object.fromEntries(Object.entries(message.headers).map(([name, value]) => [cut(name), cut(value)])),
            ...deadLetterHeaders,
            [DeadLetterHeaders.truncatedFrom]: String(message.value?.length ?? 0),
          },
        },
      ]);
      this.observer.deadLettered(topic, reason);
    }
  }
}
