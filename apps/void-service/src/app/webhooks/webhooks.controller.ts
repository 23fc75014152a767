import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Inject, Post, Put, Req, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Request, Response } from 'express';
import { DataSource, EntityManager } from 'typeorm';
import { AuditTrail } from '@pos/audit';
import { ApiError, ApiErrorCodes, AuthenticatedMerchant, MerchantAuthenticated } from '@pos/service-runtime';
import { WEBHOOK_SETTINGS, WebhookSettings } from './webhook.config';
import { RegisteredWebhookBody, RotatedSecretBody, WebhookBody, WebhookRequestBody } from './webhook-dtos';
import { newSigningSecret, SecretSealer } from './webhook-secrets';
import { checkWebhookUrl } from './webhook-url-policy';

interface WebhookRow {
  url: string;
  created_at: Date;
  updated_at: Date;
  secret_rotated_at: Date;
}

export interface WebhookView {
  url: string;
  createdAt: string;
  updatedAt: string;
  secretRotatedAt: string;
}

const viewOf = (row: WebhookRow): WebhookView => ({
  url: row.url,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
  secretRotatedAt: row.secret_rotated_at.toISOString(),
});

const COLUMNS = 'url, created_at, updated_at, secret_rotated_at';

/**
 * A merchant's webhook: where its void outcomes are delivered, and the secret they are signed
 * with. Every change is in the audit trail (never the secret or the URL's query string).
 */
@ApiTags('webhooks')
@MerchantAuthenticated()
@Controller('v1/webhook')
export class WebhooksController {
  private readonly sealer: SecretSealer;
  private readonly audit = new AuditTrail();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(WEBHOOK_SETTINGS) private readonly settings: WebhookSettings,
  ) {
    this.sealer = new SecretSealer(settings.secretKey);
  }

  @Put()
  @ApiOperation({
    summary: 'Register the webhook, or change its URL',
    description:
      'Creates the webhook (201, with its signing secret, shown this once) or changes its URL (200, the secret unchanged). ' +
      'Void outcomes decided from then on are delivered to it (docs/contracts.md, webhooks).',
  })
  @ApiCreatedResponse({ type: RegisteredWebhookBody })
  @ApiOkResponse({ type: RegisteredWebhookBody })
  @ApiErrorCodes('VALIDATION_FAILED', 'WEBHOOK_URL_INVALID', 'WEBHOOK_URL_SCHEME_NOT_ALLOWED', 'WEBHOOK_URL_CREDENTIALS', 'WEBHOOK_URL_ADDRESS_FORBIDDEN')
  async register(
    @AuthenticatedMerchant() merchantId: string,
    @Body() body: WebhookRequestBody,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ApiError('VALIDATION_FAILED', 'the body must be a JSON object {"url": "https://…"}');
    const unknown = Object.keys(body).filter((field) => field !== 'url');
    if (unknown.length > 0) throw new ApiError('VALIDATION_FAILED', `unknown field ${unknown[0]}: the body is {"url": "https://…"}`);
    if (typeof body.url !== 'string') throw new ApiError('WEBHOOK_URL_INVALID', 'url is required, as a string');
    const checked = checkWebhookUrl(this.settings.urlPolicy, body.url);
    if (!checked.ok) throw new ApiError(checked.code, checked.message);
    const url = checked.url.href;
    const secret = newSigningSecret();
    const answer = await this.dataSource.transaction(async (tx) => {
      const [row]: (WebhookRow & { created: boolean })[] = await tx.query(
        `INSERT INTO webhooks (merchant_id, url, secret_sealed, secret_rotated_at, created_at, updated_at)
         VALUES ($1, $2, $3, now(), now(), now())
         ON CONFLICT (merchant_id) DO UPDATE SET url = EXCLUDED.url, updated_at = now()
         RETURNING ${COLUMNS}, (xmax = 0) AS created`,
        [merchantId, url, this.sealer.seal(merchantId, secret)],
      );
      await this.record(tx, merchantId, row.created ? 'webhook.registered' : 'webhook.url-changed', request, { host: checked.url.host });
      return { status: row.created ? HttpStatus.CREATED : HttpStatus.OK, body: { ...viewOf(row), ...(row.created ? { secret } : {}) } };
    });
    // The status tells a creation from a change, so the answer is sent here rather than by Nest.
    response.status(answer.status).json(answer.body);
  }

  @Get()
  @ApiOperation({ summary: 'The webhook: its URL and dates (never the secret)' })
  @ApiOkResponse({ type: WebhookBody })
  @ApiErrorCodes('WEBHOOK_NOT_FOUND')
  async show(@AuthenticatedMerchant() merchantId: string): Promise<WebhookView> {
    const [row]: WebhookRow[] = await this.dataSource.query(`SELECT ${COLUMNS} FROM webhooks WHERE merchant_id = $1`, [merchantId]);
    if (!row) throw new ApiError('WEBHOOK_NOT_FOUND', 'no webhook is registered');
    return viewOf(row);
  }

  @Delete()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Remove the webhook', description: 'Nothing more is delivered; deliveries still being tried become FAILED. The delivery log stays.' })
  @ApiNoContentResponse()
  @ApiErrorCodes('WEBHOOK_NOT_FOUND')
  async remove(@AuthenticatedMerchant() merchantId: string, @Req() request: Request): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      const [, deleted]: [unknown, number] = await tx.query(`DELETE FROM webhooks WHERE merchant_id = $1`, [merchantId]);
      if (deleted === 0) throw new ApiError('WEBHOOK_NOT_FOUND', 'no webhook is registered');
      const [, abandoned]: [unknown, number] = await tx.query(
        `UPDATE webhook_deliveries SET status = 'FAILED', next_attempt_at = NULL, completed_at = now(), last_error = 'the webhook was removed'
          WHERE merchant_id = $1 AND status = 'PENDING'`,
        [merchantId],
      );
      await this.record(tx, merchantId, 'webhook.removed', request, { abandonedDeliveries: abandoned });
    });
  }

  @Post('secret')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Rotate the signing secret',
    description:
      'A new secret, shown this once, signs every delivery from now on; the previous one signs them too (a second v1= in Pos-Signature) ' +
      'for WEBHOOK_SECRET_ROTATION_GRACE (default 24 h), so the receiver can switch without refusing deliveries.',
  })
  @ApiOkResponse({ type: RotatedSecretBody })
  @ApiErrorCodes('WEBHOOK_NOT_FOUND')
  async rotateSecret(@AuthenticatedMerchant() merchantId: string, @Req() request: Request): Promise<{ secret: string; secretRotatedAt: string; previousSecretValidUntil: string }> {
    const secret = newSigningSecret();
    return this.dataSource.transaction(async (tx) => {
      const [rows]: [{ secret_rotated_at: Date; previous_secret_until: Date }[], number] = await tx.query(
        `UPDATE webhooks SET previous_secret_sealed = secret_sealed, previous_secret_until = now() + make_interval(secs => $3),
                secret_sealed = $2, secret_rotated_at = now(), updated_at = now()
          WHERE merchant_id = $1 RETURNING secret_rotated_at, previous_secret_until`,
        [merchantId, this.sealer.seal(merchantId, secret), this.settings.rotationGraceMs / 1000],
      );
      const [row] = rows;
      if (!row) throw new ApiError('WEBHOOK_NOT_FOUND', 'no webhook is registered');
      await this.record(tx, merchantId, 'webhook.secret-rotated', request, {});
      return { secret, secretRotatedAt: row.secret_rotated_at.toISOString(), previousSecretValidUntil: row.previous_secret_until.toISOString() };
    });
  }

  private async record(tx: EntityManager, merchantId: string, action: string, request: Request, details: Record<string, unknown>): Promise<void> {
    await this.audit.record(tx, {
      at: new Date(),
      actor: merchantId,
      role: 'merchant',
      action,
      target: merchantId,
      outcome: 'SUCCEEDED',
      remoteAddress: request.socket.remoteAddress ?? null,
      details,
    });
  }
}
