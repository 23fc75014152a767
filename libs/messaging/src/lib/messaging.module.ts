import {
  BeforeApplicationShutdown,
  DynamicModule,
  Inject,
  Injectable,
  Module,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  OnModuleInit,
} from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { Clock, systemClock } from '@pos/business-calendar';
import { BrokerConnection, MessageBroker } from './broker.port';
import { KafkajsBroker } from './kafkajs/kafkajs-broker';
import { MessageValidator } from './message-validator';
import { ConsumerGroupLag, MessagingObserver, NO_MESSAGING_OBSERVER } from './messaging-metrics';
import { NamespacedBroker } from './namespaced-broker';
import { Outbox } from './outbox';
import { OutboxClient } from './outbox-client';
import { OutboxRelay } from './outbox-relay';

export const MESSAGE_BROKER = Symbol('MESSAGE_BROKER');
export const CLOCK = Symbol('CLOCK');
/** The MessagingObserver of `MessagingOptions.observer` (a no-op without one). */
export const MESSAGING_OBSERVER = Symbol('MESSAGING_OBSERVER');
const MESSAGING_OPTIONS = Symbol('MESSAGING_OPTIONS');

export interface MessagingOptions {
  readonly connection: BrokerConnection;
  /** CloudEvents `source` of everything this service produces, e.g. `/payment-service`. */
  readonly source: string;
  /** The `ce_source`s of the upstream systems whose commands this deployment accepts; see isSourceAllowed. */
  readonly upstreamSources?: readonly string[];
  /** Topics this service produces or consumes; created at boot when missing. */
  readonly topics: readonly string[];
  readonly partitions: number;
  /** Prefix of every topic and consumer group name; empty in production (see NamespacedBroker). */
  readonly topicPrefix: string;
  /** The relay's own PostgreSQL session and the schema whose outbox it publishes. */
  readonly databaseUrl: string;
  readonly schema: string;
  /** Told of dead letters and failed handler attempts, for the service's metrics. */
  readonly observer?: MessagingObserver;
}

export interface MessagingModuleAsyncOptions {
  // Nest's own injection tokens are untyped.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly inject?: any[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly useFactory: (...args: any[]) => MessagingOptions | Promise<MessagingOptions>;
  readonly clock?: Clock;
}

@Injectable()
class BrokerLifecycle implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly relay: OutboxRelay;

  constructor(
    @Inject(MESSAGE_BROKER) private readonly broker: MessageBroker,
    @Inject(MESSAGING_OPTIONS) private readonly options: MessagingOptions,
  ) {
    this.relay = new OutboxRelay(broker, { databaseUrl: options.databaseUrl, schema: options.schema });
  }

  /** Topics exist before any consumer subscribes (consumers start once the application is initialised). */
  async onModuleInit(): Promise<void> {
    await this.broker.ensureTopics(this.options.topics.map((name) => ({ name, partitions: this.options.partitions })));
  }

  onApplicationBootstrap(): void {
    this.relay.start();
  }

  /** Before the database closes (TypeORM closes in onApplicationShutdown). */
  async beforeApplicationShutdown(): Promise<void> {
    await this.relay.stop();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.broker.close();
  }
}

/** Readiness: the cluster answers a metadata request in time. */
@Injectable()
export class KafkaHealthIndicator {
  constructor(
    @Inject(MESSAGE_BROKER) private readonly broker: MessageBroker,
    private readonly health: HealthIndicatorService,
  ) {}

  isHealthy(key = 'kafka', timeoutMs = 2_000) {
    const indicator = this.health.check(key);
    return this.broker.ping(timeoutMs).then(
      () => indicator.up(),
      (error: unknown) => indicator.down({ message: error instanceof Error ? error.message : String(error) }),
    );
  }
}

/**
 * Kafka for a service: the broker port, schema validation, the transactional outbox with its relay,
 * `OutboxClient` to emit through it, and the Kafka health indicator; `connectReliableConsumers`
 * runs the services' `@ConsumerGroup` controllers on the reliable transport.
 */
@Module({})
export class MessagingModule {
  static forRootAsync(options: MessagingModuleAsyncOptions): DynamicModule {
    return {
      module: MessagingModule,
      global: true,
      providers: [
        { provide: MESSAGING_OPTIONS, inject: options.inject ?? [], useFactory: options.useFactory },
        { provide: CLOCK, useValue: options.clock ?? systemClock },
        {
          provide: MESSAGE_BROKER,
          inject: [MESSAGING_OPTIONS],
          useFactory: (resolved: MessagingOptions): MessageBroker => {
            const broker = new KafkajsBroker(resolved.connection);
            return resolved.topicPrefix ? new NamespacedBroker(broker, resolved.topicPrefix) : broker;
          },
        },
        {
          provide: MessageValidator,
          inject: [MESSAGING_OPTIONS],
          useFactory: (resolved: MessagingOptions) => new MessageValidator({ upstreamSources: resolved.upstreamSources }),
        },
        {
          provide: Outbox,
          inject: [MESSAGING_OPTIONS, MessageValidator, CLOCK],
          useFactory: (resolved: MessagingOptions, validator: MessageValidator, clock: Clock) =>
            new Outbox(resolved.source, validator, clock),
        },
        { provide: OutboxClient, inject: [Outbox], useFactory: (outbox: Outbox) => new OutboxClient(outbox) },
        { provide: MESSAGING_OBSERVER, inject: [MESSAGING_OPTIONS], useFactory: (resolved: MessagingOptions) => resolved.observer ?? NO_MESSAGING_OBSERVER },
        { provide: ConsumerGroupLag, inject: [MESSAGE_BROKER], useFactory: (broker: MessageBroker) => new ConsumerGroupLag(broker) },
        HealthIndicatorService,
        BrokerLifecycle,
        KafkaHealthIndicator,
      ],
      exports: [MESSAGE_BROKER, CLOCK, MESSAGING_OBSERVER, ConsumerGroupLag, MessageValidator, Outbox, OutboxClient, KafkaHealthIndicator],
    };
  }
}
