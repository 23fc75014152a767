import { Body, Controller, Get, HttpCode, HttpStatus, Inject, Logger, Param, Post, Query, Res } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { ApiAcceptedResponse, ApiBody, ApiOkResponse, ApiOperation, ApiParam, ApiProduces, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DataSource } from 'typeorm';
import { TerminalSettlementRequested, Topics } from '@pos/contracts';
import { Clock, isBusinessDate } from '@pos/business-calendar';
import { BATCH_STATES, BatchState, fenTotal, safeNumber } from '@pos/clearing-domain';
import { CLOCK, InstanceNotReady, MessageValidator } from '@pos/messaging';
import { ApiError, ApiErrorCodes, UuidParam } from '@pos/service-runtime';
import { BATCH_COLUMNS, BatchLedger, BatchRow, totalsOfRow } from './batch-ledger';
import { CLEARING_SETTINGS, ClearingSettings } from './clearing-settings';
import { ReconciliationFiles } from './reconciliation-files';

const MAX_PAGE = 500;

function batchView(batch: BatchRow) {
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

/** Operators and terminals: batches, their totals and files, payments' clearing status, terminal settlement (结算). */
@ApiTags('clearing')
@Controller('v1')
export class ClearingController {
  private readonly logger = new Logger('ClearingController');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly ledger: BatchLedger,
    private readonly files: ReconciliationFiles,
    private readonly validator: MessageValidator,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(CLEARING_SETTINGS) private readonly settings: ClearingSettings,
  ) {}

  @Post('terminal-settlements')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: "Terminal settlement (结算): close the terminal's open card batch now",
    description:
      'The batch is cut at this instant; card payments that succeed later go to its successor. The answer waits (TERMINAL_SETTLEMENT_WAIT_MS) ' +
      'until the void service has closed the batch\'s gate and the totals are final: 200 with the closed batches and their totals, after which ' +
      'no void of those batches is accepted; or 202 with the batches still CLOSING (poll GET /v1/batches/{batchId}).',
  })
  @ApiBody({ schema: { type: 'object', required: ['merchantId', 'terminalId', 'batchNo', 'requestedBy'], properties: { merchantId: { type: 'string' }, terminalId: { type: 'string' }, batchNo: { type: 'string', pattern: '^[0-9]{6}$' }, requestedBy: { type: 'string' } } } })
  @ApiOkResponse({ description: '{ batches: [batch] } — closed, with final totals' })
  @ApiAcceptedResponse({ description: '{ batches: [batch] } — still CLOSING when the wait ended' })
  @ApiErrorCodes('INVALID_REQUEST')
  async settleTerminal(@Body() body: unknown, @Res({ passthrough: true }) response: Response) {
    const check = this.validator.validate(Topics.clearingCommands, 'pos.clearing.terminal-settlement.requested', 1, body);
    if (!check.ok) throw new ApiError('INVALID_REQUEST', check.detail);
    const request = body as TerminalSettlementRequested;
    const closing = await this.dataSource
      .transaction((tx) => this.ledger.settleTerminal(tx, request, this.clock.now()))
      .catch((error: unknown) => {
        // This instance lacks a cutoff schedule version another one stored: another instance may answer.
        if (error instanceof InstanceNotReady) throw new ApiError('SERVICE_UNAVAILABLE', error.message);
        throw error;
      });
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

  @Get('batches')
  @ApiOperation({ summary: 'Batches by merchant, clearing date, terminal and state (newest first)' })
  @ApiQuery({ name: 'merchantId', required: false })
  @ApiQuery({ name: 'clearingDate', required: false, description: 'YYYY-MM-DD, Asia/Shanghai' })
  @ApiQuery({ name: 'terminalId', required: false })
  @ApiQuery({ name: 'state', required: false, enum: BATCH_STATES })
  @ApiQuery({ name: 'limit', required: false, description: `1..${MAX_PAGE}, default 100` })
  @ApiErrorCodes('INVALID_DATE', 'INVALID_STATE', 'INVALID_LIMIT')
  async listBatches(
    @Query('merchantId') merchantId?: string,
    @Query('clearingDate') clearingDate?: string,
    @Query('terminalId') terminalId?: string,
    @Query('state') state?: string,
    @Query('limit') limitText?: string,
  ) {
    if (clearingDate !== undefined && !isBusinessDate(clearingDate)) throw new ApiError('INVALID_DATE', 'clearingDate must be YYYY-MM-DD');
    if (state !== undefined && !BATCH_STATES.includes(state as BatchState)) throw new ApiError('INVALID_STATE', `state must be one of ${BATCH_STATES.join(', ')}`);
    const limit = limitText === undefined ? 100 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw new ApiError('INVALID_LIMIT', `limit must be 1..${MAX_PAGE}`);
    const conditions: string[] = [];
    const values: unknown[] = [];
    const where = (sql: string, value: unknown) => {
      values.push(value);
      conditions.push(sql.replace('?', `$${values.length}`));
    };
    if (merchantId !== undefined) where('merchant_id = ?', merchantId);
    if (clearingDate !== undefined) where('clearing_date = ?::date', clearingDate);
    if (terminalId !== undefined) where('terminal_id = ?', terminalId);
    if (state !== undefined) where('state = ?', state);
    const rows: BatchRow[] = await this.dataSource.query(
      `SELECT ${BATCH_COLUMNS} FROM batches ${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''}
        ORDER BY opens_at DESC, batch_id LIMIT ${limit}`,
      values,
    );
    return { batches: rows.map(batchView) };
  }

  @Get('batches/:batchId')
  @ApiOperation({ summary: 'A batch with its totals (final once CLOSED) and, while open, what it holds so far' })
  @ApiParam({ name: 'batchId' })
  @ApiOkResponse({ description: 'The batch' })
  @ApiErrorCodes('BATCH_NOT_FOUND')
  async batch(@Param('batchId') batchId: string) {
    const [row]: BatchRow[] = await this.dataSource.query(`SELECT ${BATCH_COLUMNS} FROM batches WHERE batch_id = $1`, [batchId]);
    if (!row) throw new ApiError('BATCH_NOT_FOUND', `no batch ${batchId}`);
    const [held] = await this.dataSource.query(
      `SELECT count(*)::bigint AS count, coalesce(sum(amount_fen), 0)::text AS fen FROM batch_payments WHERE batch_id = $1`,
      [batchId],
    );
    return { ...batchView(row), assigned: { paymentCount: safeNumber(BigInt(held.count)), amountFen: fenTotal(BigInt(held.fen)) } };
  }

  @Get('batches/:batchId/reconciliation')
  @ApiOperation({ summary: 'Reconciliation file (对账单) of a closed batch, CSV' })
  @ApiProduces('text/csv')
  @ApiParam({ name: 'batchId' })
  @ApiErrorCodes('BATCH_NOT_FOUND', 'BATCH_NOT_CLOSED')
  async batchReconciliation(@Param('batchId') batchId: string, @Res() response: Response): Promise<void> {
    const batch = await this.files.closedBatch(batchId);
    if (!batch) {
      const [exists] = await this.dataSource.query(`SELECT state FROM batches WHERE batch_id = $1`, [batchId]);
      if (exists) throw new ApiError('BATCH_NOT_CLOSED', `batch ${batchId} is ${exists.state}; its file exists once it is closed`);
      throw new ApiError('BATCH_NOT_FOUND', `no batch ${batchId}`);
    }
    await this.streamCsv(response, `batch_${batch.batch_id}.csv`, this.files.render([batch], false));
  }

  @Get('reconciliation/merchants/:merchantId/dates/:clearingDate')
  @ApiOperation({ summary: 'Reconciliation file of a merchant and clearing day over its closed batches, CSV' })
  @ApiProduces('text/csv')
  @ApiErrorCodes('INVALID_DATE', 'NO_CLOSED_BATCHES')
  async merchantDayReconciliation(
    @Param('merchantId') merchantId: string,
    @Param('clearingDate') clearingDate: string,
    @Res() response: Response,
  ): Promise<void> {
    if (!isBusinessDate(clearingDate)) throw new ApiError('INVALID_DATE', 'clearingDate must be YYYY-MM-DD');
    const batches = await this.files.closedBatchesOf(merchantId, clearingDate);
    if (batches.length === 0) throw new ApiError('NO_CLOSED_BATCHES', `no closed batch of ${merchantId} on ${clearingDate}`);
    await this.streamCsv(response, `merchant_${merchantId}_${clearingDate}.csv`, this.files.render(batches, true));
  }

  @Get('payments/:paymentId/clearing')
  @ApiOperation({ summary: "A payment's clearing status: PENDING (in an open or closing batch), CLEARED, or VOIDED" })
  @ApiErrorCodes('INVALID_PAYMENT_ID', 'PAYMENT_NOT_FOUND')
  async paymentStatus(@Param('paymentId', new UuidParam('INVALID_PAYMENT_ID')) paymentId: string) {
    const [payment] = await this.dataSource.query(
      `SELECT p.batch_id, p.amount_fen, p.voided, b.state, b.clearing_date::text AS clearing_date,
              b.settlement_date::text AS settlement_date, b.closed_at
         FROM batch_payments p JOIN batches b USING (batch_id) WHERE p.payment_id = $1`,
      [paymentId],
    );
    const [voided] = await this.dataSource.query(`SELECT void_id, decided_at FROM voided_payments WHERE payment_id = $1`, [paymentId]);
    if (!payment && !voided) throw new ApiError('PAYMENT_NOT_FOUND', `clearing has not seen payment ${paymentId}`);
    const closed = payment && (payment.state === 'CLOSED' || payment.state === 'SETTLED');
    // Once closed, the batch's frozen flag is the truth; before, an accepted void already excludes it.
    const status = closed ? (payment.voided ? 'VOIDED' : 'CLEARED') : voided ? 'VOIDED' : 'PENDING';
    return {
      paymentId,
      status,
      batchId: payment?.batch_id ?? null,
      batchState: payment?.state ?? null,
      clearingDate: payment?.clearing_date ?? null,
      settlementDate: payment?.settlement_date ?? null,
      amountFen: payment ? Number(payment.amount_fen) : null,
      clearedAt: status === 'CLEARED' ? (payment.closed_at as Date).toISOString() : null,
      voidId: voided?.void_id ?? null,
    };
  }

  /**
   * Streams the file with backpressure through stream.pipeline, which also ends the rendering
   * (and its queries) when the client goes away: waiting for a 'drain' that never comes would
   * keep the render and its last page in memory for ever.
   */
  private async streamCsv(response: Response, filename: string, chunks: AsyncIterable<string>): Promise<void> {
    response.status(200);
    response.setHeader('content-type', 'text/csv; charset=utf-8');
    response.setHeader('content-disposition', `attachment; filename="${filename.replace(/[^A-Za-z0-9._-]/g, '_')}"`);
    try {
      // One page ahead at most: a page is up to 20,000 lines.
      await pipeline(Readable.from(chunks, { highWaterMark: 1 }), response);
    } catch (error) {
      // The status line is sent: a failure can only cut the download short, which the client sees.
      if ((error as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE') this.logger.log(`download of ${filename} ended by the client`);
      else this.logger.error(`download of ${filename} failed: ${String(error)}`);
    }
  }
}
