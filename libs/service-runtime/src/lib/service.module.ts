import { DynamicModule, Module } from '@nestjs/common';
import { z } from 'zod';
import { MessagingModule } from '@pos/messaging';
import { ObservabilityModule, ServiceMetrics } from '@pos/observability';
import { DatabaseModule } from '@pos/persistence';
import { CommonConfig, kafkaConnectionOf } from './config';
import { HealthModule } from './health.controller';
import { MessagingMetricsBinding } from './service-metrics';
import { ServiceIdentity } from './logging';

export const SERVICE_CONFIG = Symbol('SERVICE_CONFIG');

export interface ServiceDefinition {
  readonly identity: ServiceIdentity;
  /** Topics the service produces or consumes; created at boot when missing. */
  readonly topics: readonly string[];
  // TypeORM's own type for migration and entity classes.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  readonly migrations: readonly Function[];
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  readonly entities?: readonly Function[];
  /** The service's own settings, validated at boot together with the common ones. */
  readonly configShape?: z.ZodRawShape;
  /** The service's own modules, built from the validated configuration (common + its own keys). */
  readonly modules?: (config: CommonConfig & Record<string, unknown>) => NonNullable<DynamicModule['imports']>;
}

/**
 * The root module every service shares: validated configuration, its PostgreSQL
 * schema migrated at boot, Kafka, health checks, and the Prometheus metrics every service has. A service adds its own modules on top.
 */
@Module({})
export class ServiceModule {
  static forRoot(definition: ServiceDefinition, config: CommonConfig & Record<string, unknown>): DynamicModule {
    return {
      module: ServiceModule,
      imports: [
        ObservabilityModule.forRoot(),
        DatabaseModule.forRootAsync({
          useFactory: () => ({
            connection: {
              url: config.DATABASE_URL,
              schema: config.DATABASE_SCHEMA,
              ...(config.DATABASE_MIGRATION_URL !== undefined ? { migrationUrl: config.DATABASE_MIGRATION_URL } : {}),
            },
            parts: {
              applicationName: definition.identity.name,
              migrations: [...definition.migrations],
              entities: [...(definition.entities ?? [])],
              poolSize: config.DATABASE_POOL_SIZE,
              poolIdleTimeoutMs: config.DATABASE_POOL_IDLE_TIMEOUT_MS,
            },
          }),
        }),
        MessagingModule.forRootAsync({
          inject: [ServiceMetrics],
          useFactory: (metrics: ServiceMetrics) => ({
            connection: kafkaConnectionOf(config, config.KAFKA_CLIENT_ID ?? definition.identity.name, config.KAFKA_BROKERS),
            source: `/${definition.identity.name}`,
            upstreamSources: config.KAFKA_UPSTREAM_SOURCES,
            topics: definition.topics,
            partitions: config.KAFKA_TOPIC_PARTITIONS,
            topicPrefix: config.KAFKA_TOPIC_PREFIX,
            databaseUrl: config.DATABASE_URL,
            schema: config.DATABASE_SCHEMA,
            observer: metrics,
          }),
        }),
        HealthModule,
        ...(definition.modules?.(config) ?? []),
      ],
      providers: [{ provide: SERVICE_CONFIG, useValue: config }, MessagingMetricsBinding],
      exports: [SERVICE_CONFIG],
      global: true,
    };
  }
}
