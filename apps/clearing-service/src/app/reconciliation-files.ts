import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { once } from 'node:events';
import { DataSource } from 'typeorm';
import {
  batchFileName,
  ClearingTotals,
  merchantDayFileName,
  merchantDirectoryName,
  reconciliationHeader,
  reconciliationLine,
  reconciliationSummary,
} from '@pos/clearing-domain';
import { BATCH_COLUMNS, BatchRow, totalsOfRow, updateReturning } from './batch-ledger';
import { CLEARING_SETTINGS, ClearingSettings } from './clearing-settings';

/** Lines are read in pages, so a file of a million payments never sits in memory at once. */
const PAGE_SIZE = 20_000;
/** A claim on an unwritten file older than this is presumed dead (its instance crashed). */
const CLAIM_TIMEOUT_SECONDS = 120;

interface LineRow {
  readonly payment_id: string;
  readonly batch_id: string;
  readonly terminal_id: string;
  readonly channel: string;
  readonly amount_fen: string;
  readonly out_trade_no: string;
  readonly channel_trade_no: string;
  readonly card_batch_no: string | null;
  readonly voucher_no: string | null;
  readonly succeeded_at: Date;
  readonly succeeded_key: string;
  readonly voided: boolean;
}

/**
 * Reconciliation files (对账单): per closed batch and per merchant and clearing day, CSV with one
 * line per payment (voided ones under their original order number, marked VOIDED) and totals
 * that are the batch's own. Served over HTTP and written to RECONCILIATION_DIR.
 */
@Injectable()
export class ReconciliationFiles {
  private readonly logger = new Logger('ReconciliationFiles');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(CLEARING_SETTINGS) private readonly settings: ClearingSettings,
  ) {}

  /** Closed (or settled) batches only: an open batch has no final content yet. */
  async closedBatch(batchId: string): Promise<BatchRow | undefined> {
    const [batch]: BatchRow[] = await this.dataSource.query(
      `SELECT ${BATCH_COLUMNS} FROM batches WHERE batch_id = $1 AND state IN ('CLOSED', 'SETTLED')`,
      [batchId],
    );
    return batch;
  }

  async closedBatchesOf(merchantId: string, clearingDate: string): Promise<BatchRow[]> {
    return this.dataSource.query(
      `SELECT ${BATCH_COLUMNS} FROM batches
        WHERE merchant_id = $1 AND clearing_date = $2::date AND state IN ('CLOSED', 'SETTLED') ORDER BY closed_at, batch_id`,
      [merchantId, clearingDate],
    );
  }

  /** The file's text in chunks: header, every batch's lines, then the totals section. */
  async *render(batches: readonly BatchRow[], withDayTotal: boolean): AsyncGenerator<string> {
    yield reconciliationHeader();
    for (const batch of batches) {
      let cursor: { at: string; id: string } | undefined;
      for (;;) {
        const rows: LineRow[] = await this.dataSource.query(
          `SELECT payment_id, batch_id, terminal_id, channel, amount_fen, out_trade_no, channel_trade_no, card_batch_no,
                  voucher_no, succeeded_at, succeeded_at::text AS succeeded_key, voided
             FROM batch_payments
            WHERE batch_id = $1 ${cursor ? 'AND (succeeded_at, payment_id) > ($2::timestamptz, $3::uuid)' : ''}
            ORDER BY succeeded_at, payment_id LIMIT ${PAGE_SIZE}`,
          cursor ? [batch.batch_id, cursor.at, cursor.id] : [batch.batch_id],
        );
        if (rows.length === 0) break;
        let chunk = '';
        for (const r of rows) {
          chunk += reconciliationLine({
            batchId: r.batch_id,
            clearingDate: batch.clearing_date,
            merchantId: batch.merchant_id,
            terminalId: r.terminal_id,
            channel: r.channel,
            cardBatchNo: r.card_batch_no,
            voucherNo: r.voucher_no,
            paymentId: r.payment_id,
            outTradeNo: r.out_trade_no,
            channelTradeNo: r.channel_trade_no,
            succeededAt: r.succeeded_at,
            amountFen: Number(r.amount_fen),
            voided: r.voided,
          });
        }
        yield chunk;
        const last = rows[rows.length - 1];
        cursor = { at: last.succeeded_key, id: last.payment_id };
        if (rows.length < PAGE_SIZE) break;
      }
    }
    yield reconciliationSummary(
      batches.map((b) => ({ batchId: b.batch_id, totals: totalsOfRow(b) as ClearingTotals })),
      withDayTotal,
    );
  }

  batchFilePath(batch: Pick<BatchRow, 'batch_id' | 'merchant_id' | 'clearing_date'>): string {
    return join(this.directoryOf(batch.merchant_id, batch.clearing_date), batchFileName(batch.batch_id));
  }

  merchantDayFilePath(merchantId: string, clearingDate: string): string {
    return join(this.directoryOf(merchantId, clearingDate), merchantDayFileName(merchantId, clearingDate));
  }

  private directoryOf(merchantId: string, clearingDate: string): string {
    return join(resolve(this.settings.reconciliationDir), clearingDate, merchantDirectoryName(merchantId));
  }

  /**
   * Writes the files of batches that closed and have none yet: the batch's own and its merchant's
   * day file (rewritten with the new batch in it). Claimed with SKIP LOCKED so instances share the
   * work; a crash leaves the claim to expire and another tick writes it. Files appear whole or not
   * at all (written aside, then renamed).
   */
  async writePending(limit = 5): Promise<number> {
    const claimed = await updateReturning<BatchRow>(this.dataSource, 
      `UPDATE batches SET reconciliation_claimed_at = now()
        WHERE batch_id IN (SELECT batch_id FROM batches
                            WHERE state IN ('CLOSED', 'SETTLED') AND reconciliation_written_at IS NULL
                              AND (reconciliation_claimed_at IS NULL OR reconciliation_claimed_at < now() - make_interval(secs => ${CLAIM_TIMEOUT_SECONDS}))
                            ORDER BY closed_at LIMIT $1 FOR UPDATE SKIP LOCKED)
        RETURNING ${BATCH_COLUMNS}`,
      [limit],
    );
    for (const batch of claimed) {
      await this.writeAtomically(this.batchFilePath(batch), this.render([batch], false));
      await this.writeMerchantDay(batch.merchant_id, batch.clearing_date);
      await this.dataSource.query(`UPDATE batches SET reconciliation_written_at = now() WHERE batch_id = $1`, [batch.batch_id]);
    }
    return claimed.length;
  }

  /**
   * Another instance may be writing the same day file for another batch; whoever renames last
   * checks the batch list again afterwards and rewrites if it grew, so the file ends complete.
   */
  private async writeMerchantDay(merchantId: string, clearingDate: string): Promise<void> {
    const path = this.merchantDayFilePath(merchantId, clearingDate);
    let batches = await this.closedBatchesOf(merchantId, clearingDate);
    for (let round = 0; round < 5; round++) {
      await this.writeAtomically(path, this.render(batches, true));
      const now = await this.closedBatchesOf(merchantId, clearingDate);
      if (now.map((b) => b.batch_id).join() === batches.map((b) => b.batch_id).join()) return;
      batches = now;
    }
  }

  private async writeAtomically(path: string, chunks: AsyncIterable<string>): Promise<void> {
    await mkdir(join(path, '..'), { recursive: true });
    const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
    const out = createWriteStream(temporary, { encoding: 'utf8' });
    try {
      for await (const chunk of chunks) {
        if (!out.write(chunk)) await once(out, 'drain');
      }
      out.end();
      await once(out, 'finish');
      await rename(temporary, path);
    } catch (error) {
      out.destroy();
      await rm(temporary, { force: true });
      this.logger.error(`could not write ${path}: ${String(error)}`);
      throw error;
    }
  }
}
