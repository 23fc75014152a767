import { Body, Controller, Get, Headers, HttpCode, HttpStatus, Param, Post, Query, Res } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { VoidRejectionReasons } from '@pos/contracts';
import { isBusinessDate } from '@pos/business-calendar';
import { MessageValidator } from '@pos/messaging';
import { ApiError, ApiErrorCodes, AuthenticatedMerchant, MerchantAuthenticated, UuidParam } from '@pos/service-runtime';
import { DECISION_COLUMNS, DecisionRow, viewOf, VoidDecisions, VoidDecisionView } from '../decisions/void-decisions';
import { ExecutionView, VoidExecutions } from '../executions/void-executions';
import { VoidMetrics } from '../observability/void-metrics';
import { decideOverHttp, voidCommandFrom } from './void-commands';
import { VoidDecisionBody, VoidDecisionListBody, VoidDecisionWithExecutionBody, VoidRequestBody } from './void-dtos';

const MAX_PAGE = 500;

@ApiTags('voids')
@MerchantAuthenticated()
@Controller('v1')
export class VoidsController {
  constructor(
    private readonly decisions: VoidDecisions,
    private readonly validator: MessageValidator,
    private readonly metrics: VoidMetrics,
    private readonly executions: VoidExecutions,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  @Post('voids')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Void (撤销) a payment',
    description:
      'Decided synchronously: ACCEPTED, or REJECTED with a reason and the remedy. The same idempotency key returns the stored final decision ' +
      '(header Idempotent-Replayed: true); the same key with another payload is REJECTED with MODIFIED_REQUEST. An answer with final=false ' +
      '(retry later, supervisor authorisation missing) does not take the key: ask again with the same key. Invalid requests are 400 and are not decisions.',
  })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Or idempotencyKey in the body' })
  @ApiOkResponse({ type: VoidDecisionBody })
  @ApiErrorCodes('VALIDATION_FAILED', 'INVALID_AMOUNT', 'IDEMPOTENCY_KEY_REQUIRED', 'IDEMPOTENCY_KEY_CONFLICT', 'PAYMENT_REFERENCE_REQUIRED', 'MERCHANT_MISMATCH')
  async requestVoid(
    @AuthenticatedMerchant() merchantId: string,
    @Headers('idempotency-key') headerKey: string | undefined,
    @Body() body: VoidRequestBody,
    @Res({ passthrough: true }) response: Response,
  ): Promise<VoidDecisionView> {
    const started = process.hrtime.bigint();
    const command = voidCommandFrom(this.validator, merchantId, headerKey, body);
    const outcome = await decideOverHttp(this.decisions, this.metrics, this.dataSource.manager, command, started);
    if (outcome.replayed) response.setHeader('Idempotent-Replayed', 'true');
    return outcome.view;
  }

  @Get('voids/:voidId')
  @ApiOperation({ summary: 'A void decision by id; an accepted one with its execution at the channel (ADR 0008)' })
  @ApiOkResponse({ type: VoidDecisionWithExecutionBody })
  @ApiErrorCodes('INVALID_VOID_ID', 'VOID_NOT_FOUND')
  async byId(
    @AuthenticatedMerchant() merchantId: string,
    @Param('voidId', new UuidParam('INVALID_VOID_ID')) voidId: string,
  ): Promise<VoidDecisionView & { execution?: ExecutionView }> {
    const [row]: DecisionRow[] = await this.dataSource.query(
      `SELECT ${DECISION_COLUMNS} FROM void_decisions WHERE void_id = $1 AND merchant_id = $2`,
      [voidId, merchantId],
    );
    if (!row) throw new ApiError('VOID_NOT_FOUND', `no void ${voidId} for this merchant`);
    const execution = row.decision === 'ACCEPTED' ? await this.executions.viewOf(voidId) : undefined;
    return { ...viewOf(row), ...(execution ? { execution } : {}) };
  }

  @Get('payments/:paymentId/voids')
  @ApiOperation({ summary: "A payment's void history, oldest first (empty for a payment this merchant does not have)" })
  @ApiOkResponse({ type: VoidDecisionListBody })
  @ApiErrorCodes('INVALID_PAYMENT_ID')
  async history(
    @AuthenticatedMerchant() merchantId: string,
    @Param('paymentId', new UuidParam('INVALID_PAYMENT_ID')) paymentId: string,
  ): Promise<{ items: VoidDecisionView[] }> {
    const rows: DecisionRow[] = await this.dataSource.query(
      `SELECT ${DECISION_COLUMNS} FROM void_decisions
       WHERE merchant_id = $1 AND (payment_id = $2 OR (payment_id IS NULL AND requested_payment_id = $2))
       ORDER BY decided_at, void_id LIMIT ${MAX_PAGE}`,
      [merchantId, paymentId],
    );
    return { items: rows.map(viewOf) };
  }

  @Get('voids')
  @ApiOperation({ summary: "The merchant's decisions of one business day (Asia/Shanghai), optionally by reason or decision, in time order" })
  @ApiQuery({ name: 'date', required: true, example: '2026-11-27' })
  @ApiQuery({ name: 'reason', required: false, enum: [...VoidRejectionReasons] })
  @ApiQuery({ name: 'decision', required: false, enum: ['ACCEPTED', 'REJECTED'] })
  @ApiQuery({ name: 'limit', required: false, example: 100 })
  @ApiQuery({ name: 'after', required: false, description: 'The `next` of the previous page' })
  @ApiOkResponse({ type: VoidDecisionListBody })
  @ApiErrorCodes('INVALID_DATE', 'INVALID_REASON', 'INVALID_DECISION', 'INVALID_LIMIT', 'INVALID_CURSOR')
  async list(
    @AuthenticatedMerchant() merchantId: string,
    @Query('date') date: string | undefined,
    @Query('reason') reason: string | undefined,
    @Query('decision') decision: string | undefined,
    @Query('limit') limitText: string | undefined,
    @Query('after') after: string | undefined,
  ): Promise<{ items: VoidDecisionView[]; next?: string }> {
    if (!isBusinessDate(date)) throw new ApiError('INVALID_DATE', 'date must be a business date YYYY-MM-DD');
    if (reason !== undefined && !(VoidRejectionReasons as readonly string[]).includes(reason)) {
      throw new ApiError('INVALID_REASON', `reason must be one of ${VoidRejectionReasons.join(', ')}`);
    }
    if (decision !== undefined && decision !== 'ACCEPTED' && decision !== 'REJECTED') {
      throw new ApiError('INVALID_DECISION', 'decision must be ACCEPTED or REJECTED');
    }
    const limit = limitText === undefined ? 100 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
      throw new ApiError('INVALID_LIMIT', `limit must be an integer from 1 to ${MAX_PAGE}`);
    }
    const values: unknown[] = [merchantId, date];
    const conditions = ['merchant_id = $1', 'decided_date = $2'];
    if (reason) conditions.push(`reason = $${values.push(reason)}`);
    if (decision) conditions.push(`decision = $${values.push(decision)}`);
    if (after !== undefined) {
      const cursor = parseCursor(after);
      conditions.push(`(decided_at, void_id) > ($${values.push(cursor.decidedAt)}, $${values.push(cursor.voidId)})`);
    }
    const rows: DecisionRow[] = await this.dataSource.query(
      `SELECT ${DECISION_COLUMNS} FROM void_decisions WHERE ${conditions.join(' AND ')} ORDER BY decided_at, void_id LIMIT ${limit + 1}`,
      values,
    );
    const items = rows.slice(0, limit).map(viewOf);
    const last = rows.length > limit ? rows[limit - 1] : undefined;
    return { items, ...(last ? { next: Buffer.from(`${last.decided_at.toISOString()}|${last.void_id}`).toString('base64url') } : {}) };
  }
}

function parseCursor(text: string): { decidedAt: Date; voidId: string } {
  const [at, voidId] = Buffer.from(text, 'base64url').toString('utf8').split('|');
  const decidedAt = new Date(at ?? '');
  if (Number.isNaN(decidedAt.getTime()) || !/^[0-9a-f-]{36}$/.test(voidId ?? '')) {
    throw new ApiError('INVALID_CURSOR', 'after must be the next value of a previous page');
  }
  return { decidedAt, voidId };
}
