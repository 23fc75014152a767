import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Counter, Gauge, Histogram } from 'prom-client';
import { DataSource } from 'typeorm';
import { ServiceMetrics } from '@pos/observability';
import { AttemptOutcome } from './webhook-retry-policy';

interface Backlog {
  pending: number;
  oldest_age_seconds: number;
  failed: number;
}

/**
 * The webhook families (docs/observability.md): attempts by outcome and their duration, counted by
 * the instance that made them; the backlog, its age and the failed deliveries read from the
 * database at each scrape, the same on every instance (aggregate with max).
 */
@Injectable()
export class WebhookMetrics {
  private readonly logger = new Logger('WebhookMetrics');
  private readonly attempts: Counter<'outcome'>;
  private readonly duration: Histogram;

  constructor(@InjectDataSource() dataSource: DataSource, metrics: ServiceMetrics) {
    const registers = [metrics.registry];
    this.attempts = new Counter({
      name: 'pos_webhook_delivery_attempts_total',
      help: 'Webhook delivery attempts by outcome: DELIVERED (2xx), RETRY (to be tried again), FAILED (the delivery gave up)',
      labelNames: ['outcome'] as const,
      registers,
    });
    this.duration = new Histogram({
      name: 'pos_webhook_delivery_duration_seconds',
      help: "Webhook delivery attempts from connecting to the receiver's status line (or the error)",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    let reading: Promise<Backlog | undefined> | undefined;
    // One query per scrape for the three gauges.
    const backlog = () => {
      reading ??= dataSource
        .query(
          `SELECT count(*) FILTER (WHERE status = 'PENDING')::int AS pending,
                  COALESCE(extract(epoch FROM now() - min(created_at) FILTER (WHERE status = 'PENDING')), 0)::float8 AS oldest_age_seconds,
                  count(*) FILTER (WHERE status = 'FAILED')::int AS failed
             FROM webhook_deliveries WHERE status IN ('PENDING', 'FAILED')`,
        )
        .then((rows: Backlog[]) => rows[0])
        .catch((error: unknown) => {
          this.logger.warn(`the webhook backlog could not be read for this scrape: ${String(error)}`);
          return undefined;
        })
        .finally(() => setTimeout(() => (reading = undefined), 0));
      return reading;
    };
    const gauge = (name: string, help: string, value: (b: Backlog) => number) =>
      new Gauge({
        name,
        help,
        registers,
        async collect() {
          const read = await backlog();
          this.reset();
          if (read) this.set(value(read));
        },
      });
    gauge('pos_webhook_backlog', 'Webhook deliveries not delivered yet and still being tried (PENDING)', (b) => b.pending);
    gauge('pos_webhook_oldest_pending_age_seconds', 'Age of the oldest PENDING webhook delivery (0 when none)', (b) => b.oldest_age_seconds);
    gauge('pos_webhook_failed_deliveries', 'Webhook deliveries that gave up (FAILED) and were not redriven', (b) => b.failed);
  }

  attempted(outcome: AttemptOutcome, durationMs: number): void {
    this.attempts.inc({ outcome });
    this.duration.observe(durationMs / 1000);
  }
}
