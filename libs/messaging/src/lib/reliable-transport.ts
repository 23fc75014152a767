import { Catch, ExceptionFilter, INestApplication, Logger, UseFilters } from '@nestjs/common';
import { BaseRpcContext, CustomStrategy, CustomTransportStrategy, EventPattern, MessageHandler, Server } from '@nestjs/microservices';
import { PATTERN_EXTRAS_METADATA, PATTERN_METADATA } from '@nestjs/microservices/constants';
import { isObservable, lastValueFrom, Observable, throwError } from 'rxjs';
import { DataSource, EntityManager } from 'typeorm';
import { EventEnvelope } from '@pos/contracts';
import { MessageBroker } from './broker.port';
import { MessageValidator } from './message-validator';
import { ConsumerGroupLag, MessagingObserver, NO_MESSAGING_OBSERVER } from './messaging-metrics';
import { MESSAGE_BROKER, MESSAGING_OBSERVER } from './messaging.module';
import { AfterCommit, ConsumedEvent, EventHandler, ReliableConsumer, ReliableConsumerOptions, SetHandler } from './reliable-consumer';

/** Everything of a consumer group but its handlers, which are the methods of its controller. */
export type ConsumerGroupOptions = Omit<ReliableConsumerOptions, 'handlers'>;

/** The transport's id: a handler may name it in `@EventPattern(type, RELIABLE_KAFKA)`, none has to. */
export const RELIABLE_KAFKA = Symbol('RELIABLE_KAFKA');

/** Pattern extras (`@EventPattern`'s third argument) the transport reads. */
const GROUP_EXTRA = 'reliableConsumerGroup';
const BATCH_EXTRA = 'reliableEventBatch';

/**
 * What `@Ctx()` gives an `@EventPattern` handler of the reliable transport: the event's
 * transaction (write through it, and what is written commits with the inbox row or not at all),
 * its CloudEvents attributes, where it was read, and `afterCommit` for effects outside the database.
 */
export class EventContext<T = unknown> extends BaseRpcContext<[ConsumedEvent<T>, EntityManager, AfterCommit]> {
  /** The consumer's transaction. */
  get manager(): EntityManager {
    return this.args[1];
  }

  /** The CloudEvents envelope: id, type, source, time, subject, key, schema version and data. */
  get envelope(): EventEnvelope<T> {
    return this.args[0].envelope;
  }

  get topic(): string {
    return this.args[0].topic;
  }

  get partition(): number {
    return this.args[0].partition;
  }

  get offset(): string {
    return this.args[0].offset;
  }

  /** The event with its position, as the reliable consumer hands it over. */
  get event(): ConsumedEvent<T> {
    return this.args[0];
  }

  /** Registers an effect to run once the transaction has committed; never for an attempt that rolled back. */
  get afterCommit(): AfterCommit {
    return this.args[2];
  }
}

/**
 * What `@Ctx()` gives an `@EventBatchPattern` handler: a run of consecutive events of its type in
 * partition order (`@Payload()` is their data, in the same order), and their one transaction.
 */
export class EventBatchContext<T = unknown> extends BaseRpcContext<[readonly ConsumedEvent<T>[], EntityManager, AfterCommit]> {
  get manager(): EntityManager {
    return this.args[1];
  }

  get events(): readonly ConsumedEvent<T>[] {
    return this.args[0];
  }

  get afterCommit(): AfterCommit {
    return this.args[2];
  }
}

/**
 * A handler of a run of events of one type at once (ADR 0004), for a set-based statement: with the
 * group's `batchSize`, a batch's run of them; a run of one otherwise, and when a failed batch is
 * applied again event by event. `@Payload()` is an array of the events' data.
 */
export const EventBatchPattern = (type: string): MethodDecorator => EventPattern(type, { [BATCH_EXTRA]: true });

/**
 * Hands a handler's own error to the reliable consumer, which tells a PermanentFailure (dead letter
 * now), an outage or InstanceNotReady (waited out) and other errors (retried, then dead-lettered)
 * apart: Nest's default filter would turn each into a generic RPC error and log it.
 */
@Catch()
class HandlerFailures implements ExceptionFilter {
  catch(exception: unknown): Observable<never> {
    return throwError(() => exception);
  }
}

/**
 * Makes a controller's `@EventPattern` and `@EventBatchPattern` methods the handlers of one
 * consumer group of the reliable transport: each event is applied in the group's transaction with
 * its inbox row, retried and dead-lettered as ReliableConsumer does.
 */
export function ConsumerGroup(options: ConsumerGroupOptions): ClassDecorator {
  return (target) => {
    const prototype = target.prototype as object;
    for (const name of Object.getOwnPropertyNames(prototype)) {
      const method: unknown = Object.getOwnPropertyDescriptor(prototype, name)?.value;
      if (typeof method !== 'function' || Reflect.getMetadata(PATTERN_METADATA, method) === undefined) continue;
      Reflect.defineMetadata(PATTERN_EXTRAS_METADATA, { ...Reflect.getMetadata(PATTERN_EXTRAS_METADATA, method), [GROUP_EXTRA]: options }, method);
    }
    UseFilters(new HandlerFailures())(target);
  };
}

interface Group {
  readonly options: ConsumerGroupOptions;
  readonly handlers: Record<string, EventHandler | SetHandler>;
}

/** How often, and how far apart, joining a group is tried at boot (see join). */
const JOIN_ATTEMPTS = 20;
const JOIN_BACKOFF_MS = 500;

/**
 * A transport of @nestjs/microservices over the reliable consumer: the `@EventPattern` methods of
 * `@ConsumerGroup` controllers become the handlers of their groups, by CloudEvents type. Nest's
 * Kafka transport runs a handler outside any transaction and commits offsets apart from its
 * effect, with no dead-letter topic; here the inbox row, the handler's writes and its outbox rows
 * commit in one transaction before the offset does (ADR 0006).
 */
export class ReliableKafkaTransport extends Server implements CustomTransportStrategy {
  override readonly transportId = RELIABLE_KAFKA;
  private readonly transportLogger = new Logger('ReliableKafkaTransport');
  private readonly consumers: ReliableConsumer[] = [];

  constructor(
    private readonly broker: MessageBroker,
    private readonly dataSource: DataSource,
    private readonly validator: MessageValidator,
    /** Metrics: the groups' lag is read through `lag`, dead letters and handler failures reported to `observer`. */
    private readonly metrics: { readonly lag?: ConsumerGroupLag; readonly observer?: MessagingObserver } = {},
  ) {
    super();
  }

  listen(callback: (error?: unknown) => void): void {
    this.start().then(
      () => callback(),
      (error: unknown) => callback(error),
    );
  }

  /** Consumers stop before the database closes: Nest closes transports before the shutdown hooks. */
  async close(): Promise<void> {
    await Promise.all(this.consumers.splice(0).map((consumer) => consumer.stop()));
  }

  on(): never {
    throw new Error('the reliable transport has no events to listen to');
  }

  unwrap<T>(): T {
    return this.consumers as T;
  }

  private async start(): Promise<void> {
    const groups = new Map<string, Group>();
    for (const [type, handler] of this.getHandlers()) {
      // Nest chains a second handler of the same pattern to the first and runs both on one call.
      if (handler.next) throw new Error(`${type} has more than one @EventPattern handler; a service handles a type in one place`);
      const options = handler.extras?.[GROUP_EXTRA] as ConsumerGroupOptions | undefined;
      if (!options) throw new Error(`the @EventPattern handler of ${type} is not in a @ConsumerGroup controller`);
      const group = groups.get(options.groupId) ?? { options, handlers: {} };
      if (group.options !== options) throw new Error(`consumer group ${options.groupId} is declared by more than one controller`);
      groups.set(options.groupId, group);
      group.handlers[type] = handler.extras?.[BATCH_EXTRA]
        ? {
            applySet: (events, tx, afterCommit) =>
              this.invoke(
                handler,
                events.map((event) => event.envelope.data),
                new EventBatchContext([events, tx, afterCommit]),
              ),
          }
        : (event, tx, afterCommit) => this.invoke(handler, event.envelope.data, new EventContext([event, tx, afterCommit]));
    }
    await Promise.all([...groups.values()].map((group) => this.join(group)));
  }

  /** Runs a handler through Nest (pipes, guards, interceptors, filters); it fails with the handler's own error. */
  private async invoke(handler: MessageHandler, data: unknown, context: EventContext | EventBatchContext): Promise<void> {
    const result: unknown = await handler(data, context);
    if (isObservable(result)) await lastValueFrom(result, { defaultValue: undefined });
  }

  /**
   * A freshly started broker answers the first group joins with COORDINATOR_LOAD_IN_PROGRESS while
   * it creates __consumer_offsets; kafkajs surfaces that from run() instead of retrying, so the
   * join is retried here for a bounded time rather than failing the boot.
   */
  private async join({ options, handlers }: Group): Promise<void> {
    this.metrics.lag?.watch(options.groupId, options.topics);
    for (let attempt = 1; ; attempt++) {
      const consumer = new ReliableConsumer(this.broker, this.dataSource, this.validator, { ...options, handlers }, this.metrics.observer ?? NO_MESSAGING_OBSERVER);
      try {
        await consumer.start();
        this.consumers.push(consumer);
        return;
      } catch (error) {
        await consumer.stop().catch(() => undefined);
        if (attempt >= JOIN_ATTEMPTS) throw error;
        this.transportLogger.warn(`joining ${options.groupId} failed (attempt ${attempt}), retrying: ${String(error)}`);
        await new Promise((resolve) => setTimeout(resolve, JOIN_BACKOFF_MS));
      }
    }
  }
}

/** Connects the reliable transport to a service's application; `startAllMicroservices` starts its consumers. */
export function connectReliableConsumers(app: INestApplication): void {
  const strategy = new ReliableKafkaTransport(app.get<MessageBroker>(MESSAGE_BROKER), app.get(DataSource), app.get(MessageValidator), {
    lag: app.get(ConsumerGroupLag),
    observer: app.get<MessagingObserver>(MESSAGING_OBSERVER),
  });
  app.connectMicroservice<CustomStrategy>({ strategy });
}
