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
import { ApiError, ApiErrorCodes, AuthenticatedCaller, Caller, CallersAllowed, UuidParam } from '@pos/service-runtime';
import { Approvals } from './approvals';
import { batchView, SettlementAnswers } from './settlement-answers';
import { BATCH_COLUMNS, BatchLedger, BatchRow } from './batch-ledger';
import { ReconciliationFiles } from './reconciliation-files';

const MAX_PAGE = 500;

/** Merchants see their own data only: another merchant's batch, file or payment answers as an unknown one. */
const merchantOnly = (caller: Caller): string | undefined => (caller.principal.kind === 'merchant' ? caller.principal.merchantId : undefined);

/** A request that needs this instance's cutoff schedule versions: another instance may answer it. */
export function unavailableIfNotReady(error: unknown): never {
  if (error instanceof InstanceNotReady) throw new ApiError('SERVICE_UNAVAILABLE', error.message);
  throw error;
}

const READERS = { merchants: true, operatorsFrom: 'viewer' } as const;

/**
 * Operators and terminals: batches, their totals and files, payments' clearing status, terminal
 * settlement (结算). Operators read everything (role viewer and above); a merchant key (which
 * terminals carry) reads its own merchant's data and settles its own terminals.
 */
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
    private readonly approvals: Approvals,
    private readonly answers: SettlementAnswers,
  ) {}

  @Post('terminal-settlements')
  @CallersAllowed({ merchants: true, operatorsFrom: 'operator' })
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: "Terminal settlement (结算): close the terminal's open card batch now",
    description:
      'The batch is cut at this instant; card payments that succeed later go to its successor. The answer waits (TERMINAL_SETTLEMENT_WAIT_MS) ' +
      'until the void service has closed the batch\'s gate and the totals are final: 200 with the closed batches and their totals, after which ' +
      'no void of those batches is accepted; or 202 with the batches still CLOSING (poll GET /v1/batches/{batchId}). ' +
      "A terminal calls it with its merchant's key, for a terminal of that merchant (body merchantId = the key's merchant). " +
      "An operator's settlement on behalf of a merchant needs four eyes: POST /v1/approvals, approved by another operator (role approver); " +
      'called here with an operator token it answers 403 FOUR_EYES_REQUIRED.',
  })
  @ApiBody({ schema: { type: 'object', required: ['merchantId', 'terminalId', 'batchNo', 'requestedBy'], properties: { merchantId: { type: 'string' }, terminalId: { type: 'string' }, batchNo: { type: 'string', pattern: '^[0-9]{6}$' }, requestedBy: { type: 'string' } } } })
  @ApiOkResponse({ description: '{ batches: [batch] } — closed, with final totals' })
  @ApiAcceptedResponse({ description: '{ batches: [batch] } — still CLOSING when the wait ended' })
  @ApiErrorCodes('INVALID_REQUEST', 'ROLE_FORBIDDEN', 'FOUR_EYES_REQUIRED', 'MERCHANT_MISMATCH')
  async settleTerminal(@AuthenticatedCaller() caller: Caller, @Body() body: unknown, @Res({ passthrough: true }) response: Response) {
    if (caller.principal.kind === 'operator') {
      const refusal = new ApiError('FOUR_EYES_REQUIRED', "an operator's terminal settlement needs a second operator's approval: POST /v1/approvals");
      throw await this.approvals.refused(caller, 'terminal-settlement.requested', null, refusal);
    }
    const check = this.validator.validate(Topics.clearingCommands, 'pos.clearing.terminal-settlement.requested', 1, body);
    if (!check.ok) throw new ApiError('INVALID_REQUEST', check.detail);
    const request = body as TerminalSettlementRequested;
    const target = `${request.merchantId}/${request.terminalId}`;
    if (request.merchantId !== caller.principal.merchantId) {
      throw await this.approvals.refused(caller, 'terminal-settlement.requested', target, new ApiError('MERCHANT_MISMATCH', 'merchantId is not the merchant of the API key'));
    }
    const closing = await this.dataSource
      .transaction(async (tx) => {
        const closed = await this.ledger.settleTerminal(tx, request, this.clock.now());
        await this.approvals.record(tx, caller, 'terminal-settlement.executed', target, 'SUCCEEDED', {
          requestedBy: request.requestedBy,
          batchNo: request.batchNo,
          batchIds: closed.map((b) => b.batch_id),
        });
        return closed;
      })
      .catch(unavailableIfNotReady);
    return this.answers.closed(closing, response);
  }

  @Get('batches')
  @CallersAllowed(READERS)
  @ApiOperation({ summary: 'Batches by merchant, clearing date, terminal and state (newest first)' })
  @ApiQuery({ name: 'merchantId', required: false })
  @ApiQuery({ name: 'clearingDate', required: false, description: 'YYYY-MM-DD, Asia/Shanghai' })
  @ApiQuery({ name: 'terminalId', required: false })
  @ApiQuery({ name: 'state', required: false, enum: BATCH_STATES })
  @ApiQuery({ name: 'limit', required: false, description: `1..${MAX_PAGE}, default 100` })
  @ApiErrorCodes('INVALID_DATE', 'INVALID_STATE', 'INVALID_LIMIT')
  async listBatches(
    @AuthenticatedCaller() caller: Caller,
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
    const own = merchantOnly(caller);
    if (own !== undefined) where('merchant_id = ?', own);
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
  @CallersAllowed(READERS)
  @ApiOperation({ summary: 'A batch with its totals (final once CLOSED) and, while open, what it holds so far' })
  @ApiParam({ name: 'batchId' })
  @ApiOkResponse({ description: 'The batch' })
  @ApiErrorCodes('BATCH_NOT_FOUND')
  async batch(@AuthenticatedCaller() caller: Caller, @Param('batchId') batchId: string) {
    const [row]: BatchRow[] = await this.dataSource.query(`SELECT ${BATCH_COLUMNS} FROM batches WHERE batch_id = $1`, [batchId]);
    if (!row || !this.mayRead(caller, row.merchant_id)) throw new ApiError('BATCH_NOT_FOUND', `no batch ${batchId}`);
    const [held] = await this.dataSource.query(
      `SELECT count(*)::bigint AS count, coalesce(sum(amount_fen), 0)::text AS fen FROM batch_payments WHERE batch_id = $1`,
      [batchId],
    );
    return { ...batchView(row), assigned: { paymentCount: safeNumber(BigInt(held.count)), amountFen: fenTotal(BigInt(held.fen)) } };
  }

  @Get('batches/:batchId/reconciliation')
  @CallersAllowed(READERS)
  @ApiOperation({ summary: 'Reconciliation file (对账单) of a closed batch, CSV' })
  @ApiProduces('text/csv')
  @ApiParam({ name: 'batchId' })
  @ApiErrorCodes('BATCH_NOT_FOUND', 'BATCH_NOT_CLOSED')
  async batchReconciliation(@AuthenticatedCaller() caller: Caller, @Param('batchId') batchId: string, @Res() response: Response): Promise<void> {
    const [exists]: { state: BatchState; merchant_id: string }[] = await this.dataSource.query(`SELECT state, merchant_id FROM batches WHERE batch_id = $1`, [batchId]);
    if (!exists || !this.mayRead(caller, exists.merchant_id)) throw new ApiError('BATCH_NOT_FOUND', `no batch ${batchId}`);
    const batch = await this.files.closedBatch(batchId);
    if (!batch) throw new ApiError('BATCH_NOT_CLOSED', `batch ${batchId} is ${exists.state}; its file exists once it is closed`);
    await this.streamCsv(response, `batch_${batch.batch_id}.csv`, this.files.render([batch], false));
  }

  @Get('reconciliation/merchants/:merchantId/dates/:clearingDate')
  @CallersAllowed(READERS)
  @ApiOperation({ summary: 'Reconciliation file of a merchant and clearing day over its closed batches, CSV' })
  @ApiProduces('text/csv')
  @ApiErrorCodes('INVALID_DATE', 'NO_CLOSED_BATCHES')
  async merchantDayReconciliation(
    @AuthenticatedCaller() caller: Caller,
    @Param('merchantId') merchantId: string,
    @Param('clearingDate') clearingDate: string,
    @Res() response: Response,
  ): Promise<void> {
    if (!isBusinessDate(clearingDate)) throw new ApiError('INVALID_DATE', 'clearingDate must be YYYY-MM-DD');
    const batches = this.mayRead(caller, merchantId) ? await this.files.closedBatchesOf(merchantId, clearingDate) : [];
    if (batches.length === 0) throw new ApiError('NO_CLOSED_BATCHES', `no closed batch of ${merchantId} on ${clearingDate}`);
    await this.streamCsv(response, `merchant_${merchantId}_${clearingDate}.csv`, this.files.render(batches, true));
  }

  @Get('payments/:paymentId/clearing')
  @CallersAllowed(READERS)
  @ApiOperation({ summary: "A payment's clearing status: PENDING (in an open or closing batch), CLEARED, or VOIDED" })
  @ApiErrorCodes('INVALID_PAYMENT_ID', 'PAYMENT_NOT_FOUND')
  async paymentStatus(@AuthenticatedCaller() caller: Caller, @Param('paymentId', new UuidParam('INVALID_PAYMENT_ID')) paymentId: string) {
    const [payment] = await this.dataSource.query(
      `SELECT p.merchant_id, p.batch_id, p.amount_fen, p.voided, b.state, b.clearing_date::text AS clearing_date,
              b.settlement_date::text AS settlement_date, b.closed_at
         FROM batch_payments p JOIN batches b USING (batch_id) WHERE p.payment_id = $1`,
      [paymentId],
    );
    // A void the channel refused (ADR 0008) does not exclude the payment.
    const [voided] = await this.dataSource.query(
      `SELECT void_id, merchant_id, decided_at FROM voided_payments WHERE payment_id = $1 AND refused_at IS NULL`,
      [paymentId],
    );
    const merchantId: string | undefined = payment?.merchant_id ?? voided?.merchant_id;
    if (merchantId === undefined || !this.mayRead(caller, merchantId)) throw new ApiError('PAYMENT_NOT_FOUND', `clearing has not seen payment ${paymentId}`);
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

  private mayRead(caller: Caller, merchantId: string): boolean {
    const own = merchantOnly(caller);
    return own === undefined || own === merchantId;
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
