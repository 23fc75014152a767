import type { IncomingMessage, ServerResponse } from 'node:http';
import { Logger } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** How far a consumer group is behind on one partition: the partition's end offset minus the group's committed offset. */
export interface ConsumerLagSample {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly lag: number;
}

/** Outbox rows written but not yet published to Kafka, and the age of the oldest of them (0 when none). */
export interface OutboxBacklogSample {
  readonly rows: number;
  readonly oldestAgeSeconds: number;
}

/** What became of a failed attempt of a consumer's handler: tried again, or parked on the dead-letter topic. */
export type HandlerFailureOutcome = 'retry' | 'dead_letter';

/** Labels of a request as the access log sees it: the route's template, never the raw path (bounded cardinality). */
export const UNMATCHED_ROUTE = 'UNMATCHED';

/** Request durations from 1 ms to 10 s: the void decision's target (p99 < 50 ms) sits in the middle. */
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Express's request, as far as the middleware reads it. */
interface RoutedRequest extends IncomingMessage {
  readonly route?: { readonly path?: unknown };
  readonly baseUrl?: string;
}

/**
 * Reuses one read while it is in flight: two gauges fed by the same query (backlog and age) read
 * it once per scrape.
 */
function sharedRead<T>(read: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= read().finally(() => {
      pending = undefined;
    });
    return pending;
  };
}

/**
 * The Prometheus metrics of one service instance: its own registry (not prom-client's global one,
 * so several instances in one process, as in tests and benchmarks, do not collide), Node's default
 * metrics, and the families every service shares. A service adds its own families to `registry`,
 * named `pos_<service>_…`.
 *
 * Per request and per message only a histogram observation or a counter increment happens;
 * consumer lag and the outbox backlog are read from Kafka and PostgreSQL when Prometheus scrapes.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly logger = new Logger('ServiceMetrics');

  private readonly httpDuration = new Histogram({
    name: 'pos_http_request_duration_seconds',
    help: 'HTTP requests from arrival to the last byte of the answer, by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_BUCKETS,
    registers: [this.registry],
  });
  private readonly deadLetters = new Counter({
    name: 'pos_dlq_messages_total',
    help: 'Messages this instance wrote to a dead-letter topic, by dead-letter topic and reason',
    labelNames: ['topic', 'reason'] as const,
    registers: [this.registry],
  });
  private readonly handlerFailures = new Counter({
    name: 'pos_handler_failures_total',
    help: 'Failed attempts of a Kafka handler, by consumer group, CloudEvents type and outcome (retry, dead_letter)',
    labelNames: ['group', 'type', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly collectFailures = new Counter({
    name: 'pos_metrics_collect_failures_total',
    help: 'Scrapes at which a family read from Kafka or PostgreSQL could not be read (it is left out of that scrape; the count shows from the next scrape), by family',
    labelNames: ['family'] as const,
    registers: [this.registry],
  });

  private lagSource?: () => Promise<readonly ConsumerLagSample[]>;
  private outboxSource?: () => Promise<OutboxBacklogSample>;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    const lag = () => this.read('pos_kafka_consumer_lag', this.lagSource);
    const outbox = () => this.read('pos_outbox_backlog', this.outboxSource);
    new Gauge({
      name: 'pos_kafka_consumer_lag',
      help: "Messages a consumer group has yet to process, by group, topic and partition: the partition's end offset minus the group's committed offset",
      labelNames: ['group', 'topic', 'partition'] as const,
      registers: [this.registry],
      async collect() {
        const samples = await lag();
        this.reset();
        for (const s of samples ?? []) this.set({ group: s.group, topic: s.topic, partition: String(s.partition) }, s.lag);
      },
    });
    new Gauge({
      name: 'pos_outbox_backlog',
      help: 'Outbox rows written but not yet published to Kafka',
      registers: [this.registry],
      async collect() {
        const sample = await outbox();
        this.reset();
        if (sample) this.set(sample.rows);
      },
    });
    new Gauge({
      name: 'pos_outbox_oldest_age_seconds',
      help: 'Age of the oldest outbox row not yet published to Kafka (0 when none waits)',
      registers: [this.registry],
      async collect() {
        const sample = await outbox();
        this.reset();
        if (sample) this.set(sample.oldestAgeSeconds);
      },
    });
  }

  /** Where `pos_kafka_consumer_lag` is read from at each scrape. */
  consumerLagFrom(read: () => Promise<readonly ConsumerLagSample[]>): void {
    this.lagSource = read;
  }

  /** Where `pos_outbox_backlog` and `pos_outbox_oldest_age_seconds` are read from at each scrape (one read for both). */
  outboxBacklogFrom(read: () => Promise<OutboxBacklogSample>): void {
    this.outboxSource = sharedRead(read);
  }

  deadLettered(topic: string, reason: string): void {
    this.deadLetters.inc({ topic, reason });
  }

  handlerFailed(group: string, type: string, outcome: HandlerFailureOutcome): void {
    this.handlerFailures.inc({ group, type, outcome });
  }

  /** Express middleware: observes each request's duration once its answer is sent, labelled by its route's template. */
  httpMiddleware(): (request: IncomingMessage, response: ServerResponse, next: () => void) => void {
    return (request, response, next) => {
      const started = process.hrtime.bigint();
      response.once('finish', () => {
        const { route, baseUrl } = request as RoutedRequest;
        const template = typeof route?.path === 'string' ? `${baseUrl ?? ''}${route.path}` : UNMATCHED_ROUTE;
        this.httpDuration.observe(
          { method: request.method ?? 'UNKNOWN', route: template, status: String(response.statusCode) },
          Number(process.hrtime.bigint() - started) / 1e9,
        );
      });
      next();
    };
  }

  /** A family's reading at scrape time; one that fails is counted and logged, and the rest of the scrape is served. */
  private async read<T>(family: string, source: (() => Promise<T>) | undefined): Promise<T | undefined> {
    if (!source) return undefined;
    try {
      return await source();
    } catch (error) {
      this.collectFailures.inc({ family });
      this.logger.warn(`${family} could not be read for this scrape: ${String(error)}`);
      return undefined;
    }
  }
}
