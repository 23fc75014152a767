import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ConsumerGroupLag, readOutboxBacklog } from '@pos/messaging';
import { ServiceMetrics } from '@pos/observability';

/** Feeds a service's consumer lag and outbox backlog families from Kafka and its schema, read at each scrape. */
export function bindMessagingMetrics(metrics: ServiceMetrics, lag: ConsumerGroupLag, dataSource: DataSource): void {
  metrics.consumerLagFrom(() => lag.read());
  metrics.outboxBacklogFrom(() => readOutboxBacklog(dataSource.manager));
}

@Injectable()
export class MessagingMetricsBinding {
  constructor(metrics: ServiceMetrics, lag: ConsumerGroupLag, @InjectDataSource() dataSource: DataSource) {
    bindMessagingMetrics(metrics, lag, dataSource);
  }
}
