import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Gauge } from 'prom-client';
import { DataSource } from 'typeorm';
import { BATCH_STATES } from '@pos/clearing-domain';
import { ServiceMetrics } from '@pos/observability';
import { BatchLedger } from './batch-ledger';

/**
 * Clearing's own families, in the instance's registry next to the ones every service has. Each is
 * read from the database at each scrape: every instance reports the same, restarts lose nothing,
 * and a value drops as soon as whichever instance acts changes the rows.
 */
@Injectable()
export class ClearingMetrics {
  constructor(@InjectDataSource() dataSource: DataSource, ledger: BatchLedger, metrics: ServiceMetrics) {
    const registers = [metrics.registry];
    new Gauge({
      name: 'pos_clearing_batches',
      help: 'Settlement batches by state (OPEN, CLOSING, CLOSED, SETTLED)',
      labelNames: ['state'] as const,
      registers,
      async collect() {
        const counts = new Map((await ledger.countBatchesByState(dataSource.manager)).map((row) => [row.state, row.batches]));
        for (const state of BATCH_STATES) this.set({ state }, counts.get(state) ?? 0);
      },
    });
    new Gauge({
      name: 'pos_clearing_batches_awaiting_voids',
      help: 'Batches held in CLOSING because a void the void service accepted for them is not recorded (parked on voids.events.v1.dlq); alert above 0',
      registers,
      async collect() {
        this.set(await ledger.countBatchesAwaitingVoids(dataSource.manager));
      },
    });
    new Gauge({
      name: 'pos_clearing_late_payments',
      help: 'Payments whose event reached clearing after their batch had closed, kept on their clearing date in a late batch (ADR 0005); alert when it rises',
      registers,
      async collect() {
        this.set(await ledger.countLatePayments(dataSource.manager));
      },
    });
  }
}
