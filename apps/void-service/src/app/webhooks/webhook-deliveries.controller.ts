import { Controller, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditTrail } from '@pos/audit';
import { ApiError, ApiErrorCodes, AuthenticatedCaller, Caller, CallersAllowed, UuidParam } from '@pos/service-runtime';
import { WebhookDispatcher } from './webhook-dispatcher';
import { DeliveryBody, DeliveryListBody } from './webhook-dtos';

export const DELIVERY_STATUSES = ['PENDING', 'DELIVERED', 'FAILED'] as const;
const MAX_PAGE = 500;

interface DeliveryRow {
  delivery_id: string;
  merchant_id: string;
  event_id: string;
  event_type: string;
  event_time: Date;
  status: string;
  attempts: number;
  redrives: number;
  next_attempt_at: Date | null;
  last_http_status: number | null;
  last_error: string | null;
  created_at: Date;
  completed_at: Date | null;
}

interface AttemptRow {
  attempt: number;
  attempted_at: Date;
  url: string;
  http_status: number | null;
  error: string | null;
  duration_ms: number;
  outcome: string;
}

const COLUMNS = `delivery_id, merchant_id, event_id, event_type, event_time, status, attempts, redrives, next_attempt_at,
  last_http_status, last_error, created_at, completed_at`;

export interface DeliveryView {
  deliveryId: string;
  merchantId: string;
  eventId: string;
  eventType: string;
  eventTime: string;
  status: string;
  attempts: number;
  redrives: number;
  nextAttemptAt?: string;
  lastHttpStatus?: number;
  lastError?: string;
  createdAt: string;
  completedAt?: string;
  log?: AttemptView[];
}

export interface AttemptView {
  attempt: number;
  attemptedAt: string;
  url: string;
  httpStatus?: number;
  error?: string;
  durationMs: number;
  outcome: string;
}

function viewOf(row: DeliveryRow): DeliveryView {
  return {
    deliveryId: row.delivery_id,
    merchantId: row.merchant_id,
    eventId: row.event_id,
    eventType: row.event_type,
    eventTime: row.event_time.toISOString(),
    status: row.status,
    attempts: row.attempts,
    redrives: row.redrives,
    ...(row.next_attempt_at ? { nextAttemptAt: row.next_attempt_at.toISOString() } : {}),
    ...(row.last_http_status !== null ? { lastHttpStatus: row.last_http_status } : {}),
    ...(row.last_error !== null ? { lastError: row.last_error } : {}),
    createdAt: row.created_at.toISOString(),
    ...(row.completed_at ? { completedAt: row.completed_at.toISOString() } : {}),
  };
}

function attemptOf(row: AttemptRow): AttemptView {
  return {
    attempt: row.attempt,
    attemptedAt: row.attempted_at.toISOString(),
    url: row.url,
    ...(row.http_status !== null ? { httpStatus: row.http_status } : {}),
    ...(row.error !== null ? { error: row.error } : {}),
    durationMs: row.duration_ms,
    outcome: row.outcome,
  };
}

/** A merchant sees its own deliveries; an operator names the merchant when listing. */
const merchantOf = (caller: Caller): string | undefined => (caller.principal.kind === 'merchant' ? caller.principal.merchantId : undefined);

/**
 * The delivery log of webhooks, for the merchant (its own, by API key) and for operators (any
 * merchant's, by token: viewers read, operators redrive). A redrive is in the audit trail.
 */
@ApiTags('webhooks')
@Controller('v1/webhook/deliveries')
export class WebhookDeliveriesController {
  private readonly audit = new AuditTrail();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly dispatcher: WebhookDispatcher,
  ) {}

  @Get()
  @CallersAllowed({ merchants: true, operatorsFrom: 'viewer' })
  @ApiOperation({ summary: 'Webhook deliveries, newest first, optionally by status; an operator names the merchant (merchantId)' })
  @ApiQuery({ name: 'status', required: false, enum: [...DELIVERY_STATUSES] })
  @ApiQuery({ name: 'merchantId', required: false, description: "Operators: whose deliveries (required). Merchants: their own only" })
  @ApiQuery({ name: 'limit', required: false, example: 100 })
  @ApiOkResponse({ type: DeliveryListBody })
  @ApiErrorCodes('INVALID_DELIVERY_STATUS', 'INVALID_LIMIT', 'MERCHANT_ID_REQUIRED', 'MERCHANT_MISMATCH')
  async list(
    @AuthenticatedCaller() caller: Caller,
    @Query('status') status: string | undefined,
    @Query('merchantId') merchantIdParam: string | undefined,
    @Query('limit') limitText: string | undefined,
  ): Promise<{ items: DeliveryView[] }> {
    const own = merchantOf(caller);
    if (own !== undefined && merchantIdParam !== undefined && merchantIdParam !== own) throw new ApiError('MERCHANT_MISMATCH', 'merchantId must be the authenticated merchant');
    const merchantId = own ?? merchantIdParam;
    if (merchantId === undefined || merchantId === '') throw new ApiError('MERCHANT_ID_REQUIRED', 'name the merchant: merchantId=…');
    if (status !== undefined && !(DELIVERY_STATUSES as readonly string[]).includes(status)) {
      throw new ApiError('INVALID_DELIVERY_STATUS', `status must be one of ${DELIVERY_STATUSES.join(', ')}`);
    }
    const limit = limitText === undefined ? 100 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw new ApiError('INVALID_LIMIT', `limit must be an integer from 1 to ${MAX_PAGE}`);
    const rows: DeliveryRow[] = await this.dataSource.query(
      `SELECT ${COLUMNS} FROM webhook_deliveries WHERE merchant_id = $1 AND ($2::text IS NULL OR status = $2)
        ORDER BY created_at DESC, delivery_id LIMIT $3`,
      [merchantId, status ?? null, limit],
    );
    return { items: rows.map(viewOf) };
  }

  @Get(':deliveryId')
  @CallersAllowed({ merchants: true, operatorsFrom: 'viewer' })
  @ApiOperation({ summary: 'One delivery with its log: every attempt, its time, HTTP status or error and duration' })
  @ApiOkResponse({ type: DeliveryBody })
  @ApiErrorCodes('INVALID_DELIVERY_ID', 'DELIVERY_NOT_FOUND')
  async show(@AuthenticatedCaller() caller: Caller, @Param('deliveryId', new UuidParam('INVALID_DELIVERY_ID')) deliveryId: string): Promise<DeliveryView> {
    const row = await this.find(caller, deliveryId);
    const attempts: AttemptRow[] = await this.dataSource.query(
      `SELECT attempt, attempted_at, url, http_status, error, duration_ms, outcome FROM webhook_delivery_attempts WHERE delivery_id = $1 ORDER BY attempt`,
      [deliveryId],
    );
    return { ...viewOf(row), log: attempts.map(attemptOf) };
  }

  @Post(':deliveryId/redrive')
  @HttpCode(HttpStatus.OK)
  @CallersAllowed({ merchants: true, operatorsFrom: 'operator' })
  @ApiOperation({
    summary: 'Redrive a FAILED delivery',
    description:
      'It is PENDING again and tried at once, with a new round of attempts (WEBHOOK_MAX_ATTEMPTS, WEBHOOK_MAX_AGE), to the URL and with the secret registered now. ' +
      'Recorded in the audit trail.',
  })
  @ApiOkResponse({ type: DeliveryBody })
  @ApiErrorCodes('INVALID_DELIVERY_ID', 'DELIVERY_NOT_FOUND', 'DELIVERY_NOT_FAILED', 'WEBHOOK_NOT_FOUND', 'ROLE_FORBIDDEN')
  async redrive(@AuthenticatedCaller() caller: Caller, @Param('deliveryId', new UuidParam('INVALID_DELIVERY_ID')) deliveryId: string): Promise<DeliveryView> {
    const found = await this.find(caller, deliveryId);
    const actor = caller.principal.kind === 'merchant' ? { actor: caller.principal.merchantId, role: 'merchant' } : { actor: caller.principal.name, role: caller.principal.role };
    const entry = { ...actor, action: 'webhook-delivery.redriven', target: deliveryId, remoteAddress: caller.remoteAddress };
    const redriven = await this.dataSource.transaction(async (tx) => {
      const [redriven]: [DeliveryRow[], number] = await tx.query(
        `UPDATE webhook_deliveries d SET status = 'PENDING', next_attempt_at = now(), round_attempts = 0, round_started_at = now(),
                redrives = redrives + 1, completed_at = NULL
          WHERE delivery_id = $1 AND status = 'FAILED' AND EXISTS (SELECT 1 FROM webhooks w WHERE w.merchant_id = d.merchant_id)
          RETURNING ${COLUMNS}`,
        [deliveryId],
      );
      const [row] = redriven;
      if (!row) {
        const [now]: { status: string; registered: boolean }[] = await tx.query(
          `SELECT status, EXISTS (SELECT 1 FROM webhooks w WHERE w.merchant_id = d.merchant_id) AS registered FROM webhook_deliveries d WHERE delivery_id = $1`,
          [deliveryId],
        );
        const refusal =
          now.status !== 'FAILED'
            ? new ApiError('DELIVERY_NOT_FAILED', `the delivery is ${now.status}: only a FAILED one can be redriven`, { status: now.status })
            : new ApiError('WEBHOOK_NOT_FOUND', `merchant ${found.merchant_id} has no webhook registered: register one first`);
        // The refusal is recorded on its own: this transaction wrote nothing else.
        await this.audit.record(this.dataSource.manager, { ...entry, at: new Date(), outcome: 'REFUSED', details: { code: refusal.code } });
        throw refusal;
      }
      await this.audit.record(tx, { ...entry, at: new Date(), outcome: 'SUCCEEDED', details: { merchantId: row.merchant_id, eventId: row.event_id, redrives: row.redrives } });
      return viewOf(row);
    });
    this.dispatcher.wakeUp();
    return redriven;
  }

  private async find(caller: Caller, deliveryId: string): Promise<DeliveryRow> {
    const own = merchantOf(caller);
    const [row]: DeliveryRow[] = await this.dataSource.query(`SELECT ${COLUMNS} FROM webhook_deliveries WHERE delivery_id = $1 AND ($2::text IS NULL OR merchant_id = $2)`, [
      deliveryId,
      own ?? null,
    ]);
    if (!row) throw new ApiError('DELIVERY_NOT_FOUND', `no delivery ${deliveryId}${own ? ' for this merchant' : ''}`);
    return row;
  }
}
