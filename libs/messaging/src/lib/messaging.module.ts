import { DynamicModule, Inject, Injectable, Module, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { BrokerConnection, MessageBroker } from './broker.port';
import { KafkajsBroker } from './kafkajs/kafkajs-broker';

export const MESSAGE_BROKER = Symbol('MESSAGE_BROKER');
const MESSAGING_OPTIONS = Symbol('MESSAGING_OPTIONS');

export interface MessagingOptions {
  readonly connection: BrokerConnection;
  /** Topics this service produces or consumes; created at boot when missing. */
  readonly topics: readonly string[];
  readonly partitions: number;
}

export interface MessagingModuleAsyncOptions {
  readonly imports?: DynamicModule['imports'];
  // Nest's own injection tokens are untyped.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly inject?: any[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly useFactory: (...args: any[]) => MessagingOptions | Promise<MessagingOptions>;
}

@Injectable()
class BrokerLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(MESSAGE_BROKER) private readonly broker: MessageBroker,
    @Inject(MESSAGING_OPTIONS) private readonly options: MessagingOptions,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.broker.ensureTopics(this.options.topics.map((name) => ({ name, partitions: this.options.partitions })));
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

@Module({})
export class MessagingModule {
  static forRootAsync(options: MessagingModuleAsyncOptions): DynamicModule {
    return {
      module: MessagingModule,
      global: true,
      imports: options.imports ?? [],
      providers: [
        { provide: MESSAGING_OPTIONS, inject: options.inject ?? [], useFactory: options.useFactory },
        {
          provide: MESSAGE_BROKER,
          inject: [MESSAGING_OPTIONS],
          useFactory: (resolved: MessagingOptions): MessageBroker => new KafkajsBroker(resolved.connection),
        },
        HealthIndicatorService,
        BrokerLifecycle,
        KafkaHealthIndicator,
      ],
      exports: [MESSAGE_BROKER, KafkaHealthIndicator],
    };
  }
}
