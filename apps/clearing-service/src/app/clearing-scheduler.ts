import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Clock } from '@pos/business-calendar';
import { CLOCK } from '@pos/messaging';
import { BatchLedger, CLEARED_EVENTS_PER_CHUNK } from './batch-ledger';
import { CLEARING_SETTINGS, ClearingSettings } from './clearing-settings';
import { ReconciliationFiles } from './reconciliation-files';

/**
 * Runs in every instance: closes batches whose cutoff passed, settles batches whose settlement
 * date came, writes the remaining payment.cleared events of closed batches, and writes
 * reconciliation files of closed batches. Each step is one transaction
 * whose rows are claimed with FOR UPDATE SKIP LOCKED and re-checked, so instances never both
 * close, settle or announce the same batch.
 */
@Injectable()
export class ClearingScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('ClearingScheduler');
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly ledger: BatchLedger,
    private readonly files: ReconciliationFiles,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(CLEARING_SETTINGS) private readonly settings: ClearingSettings,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => this.schedule());
    }, this.settings.tickMs);
  }

  /** One chunk per transaction, so a huge batch never holds one long transaction open. */
  private async writePendingClearedEvents(): Promise<void> {
    while (!this.stopped) {
      const progressed = await this.dataSource.transaction(async (tx) => {
        const [batchId] = await this.ledger.batchesWithPendingClearedEvents(tx, 1);
        if (batchId === undefined) return false;
        await this.ledger.appendPaymentsCleared(tx, batchId, CLEARED_EVENTS_PER_CHUNK);
        return true;
      });
      if (!progressed) return;
    }
  }

  /** One pass; public so a caller that must not wait for the timer (an operator tool) can run it. */
  async tick(): Promise<void> {
    try {
      for (;;) {
        const closing = await this.dataSource.transaction((tx) => this.ledger.closeDueBatches(tx, this.clock.now()));
        if (closing.length > 0) this.logger.log(`cutoff: ${closing.length} batch(es) closing`);
        if (closing.length === 0 || this.stopped) break;
      }
      await this.dataSource.transaction((tx) => this.ledger.settleDueBatches(tx, this.clock.now()));
      await this.writePendingClearedEvents();
      while (!this.stopped && (await this.files.writePending()) > 0);
    } catch (error) {
      if (!this.stopped) this.logger.warn(`scheduler pass failed, next tick retries: ${String(error)}`);
    }
  }
}
