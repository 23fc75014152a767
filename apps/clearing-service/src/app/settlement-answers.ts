import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { fenTotal, safeNumber } from '@pos/clearing-domain';
import { BATCH_COLUMNS, BatchRow, totalsOfRow } from './batch-ledger';
import { CLEARING_SETTINGS, ClearingSettings } from './clearing-settings';

export function batchView(batch: BatchRow) {
  const closed = batch.state === 'CLOSED' || batch.state === 'SETTLED';
  const totals = totalsOfRow(batch);
  return {
    batchId: batch.batch_id,
    sequence: batch.sequence,
    merchantId: batch.merchant_id,
    channel: batch.channel,
    terminalId: batch.terminal_id,
    batchNo: batch.batch_no,
    clearingDate: batch.clearing_date,
    opensAt: batch.opens_at.toISOString(),
    closesAt: batch.closes_at.toISOString(),
    state: batch.state,
    closeReason: batch.close_reason,
    cutoffAt: batch.cutoff_at?.toISOString() ?? null,
    closedAt: batch.closed_at?.toISOString() ?? null,
    settledAt: batch.settled_at?.toISOString() ?? null,
    settlementDate: batch.settlement_date,
    /** Final totals, only once the batch closed; they never change afterwards. */
    totals: closed
      ? {
          paymentCount: safeNumber(totals.paymentCount),
          totalFen: fenTotal(totals.totalFen),
          voidedCount: safeNumber(totals.voidedCount),
          voidedFen: fenTotal(totals.voidedFen),
        }
      : null,
  };
}

/** The answer to a terminal settlement, by a terminal or approved by a second operator. */
@Injectable()
export class SettlementAnswers {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(CLEARING_SETTINGS) private readonly settings: ClearingSettings,
  ) {}

  /** 200 with the batches once all are closed, else 202 with them as they are when the wait runs out. */
  async closed(closing: readonly BatchRow[], response: Response) {
    const batches = await this.untilClosed(closing.map((b) => b.batch_id));
    if (batches.every((b) => b.state === 'CLOSED' || b.state === 'SETTLED')) response.status(HttpStatus.OK);
    return { batches: batches.map(batchView) };
  }

  /** The batches once all are closed, or as they are when the wait runs out (the close needs the void service's answer). */
  private async untilClosed(batchIds: readonly string[]): Promise<BatchRow[]> {
    const deadline = Date.now() + this.settings.terminalSettlementWaitMs;
    for (;;) {
      const batches: BatchRow[] = await this.dataSource.query(`SELECT ${BATCH_COLUMNS} FROM batches WHERE batch_id = ANY($1) ORDER BY batch_id`, [batchIds]);
      if (batches.every((b) => b.state === 'CLOSED' || b.state === 'SETTLED') || Date.now() >= deadline) return batches;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
