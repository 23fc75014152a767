import { Controller, Get, Header, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { ApiExcludeController } from '@nestjs/swagger';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { BatchLedger } from './batch-ledger';

/**
 * Prometheus metrics of this service instance. Its own registry, not prom-client's global one, so
 * several instances in one process (tests, benchmarks) do not collide.
 */
@Injectable()
export class ClearingMetrics {
  readonly registry = new Registry();

  constructor(@InjectDataSource() dataSource: DataSource, ledger: BatchLedger) {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'clearing_batches_awaiting_voids',
      help: 'Batches held in CLOSING because a void the void service accepted for them is not recorded (parked on voids.events.v1.dlq); alert above 0',
      registers: [this.registry],
      // Read from the database at each scrape: every instance reports the same, restarts lose
      // nothing, and the value drops as soon as whichever instance applies the replayed void closes the batch.
      async collect() {
        this.set(await ledger.countBatchesAwaitingVoids(dataSource.manager));
      },
    });
    new Gauge({
      name: 'clearing_late_payments',
      help: 'Payments whose event reached clearing after their batch had closed, kept on their clearing date in a late batch (ADR 0005); alert when it rises',
      registers: [this.registry],
      async collect() {
        this.set(await ledger.countLatePayments(dataSource.manager));
      },
    });
  }
}

@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: ClearingMetrics) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
