import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { ServiceMetrics } from '@pos/observability';

/** The payment service's own families, in the instance's registry next to the ones every service has. */
@Injectable()
export class PaymentMetrics {
  private readonly statuses = new Counter({
    name: 'pos_payments_total',
    help: 'Payments that reached a status (PROCESSING at intake, then SUCCEEDED, FAILED, PENDING, REVERSED, VOIDED, CLEARED, SETTLED), by channel and status; counted once the change is committed',
    labelNames: ['channel', 'status'] as const,
    registers: [],
  });

  constructor(metrics: ServiceMetrics) {
    metrics.registry.registerMetric(this.statuses);
  }

  reached(channel: string, status: string, payments = 1): void {
    this.statuses.inc({ channel, status }, payments);
  }
}
