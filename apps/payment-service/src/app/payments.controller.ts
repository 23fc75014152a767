import { Body, Controller, Get, HttpStatus, Inject, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { isBusinessDate } from '@pos/business-calendar';
import { fen } from '@pos/money';
import { isPaymentStatus, PAYMENT_REQUEST_REJECTION_CODES, PAYMENT_STATUSES, validatePaymentRequest } from '@pos/payment-domain';
import { ApiError, ApiErrorCodes, AuthenticatedMerchant, MerchantAuthenticated, SERVICE_CONFIG, UuidParam } from '@pos/service-runtime';
import { CreatePaymentDto, PaymentDto, PaymentPageDto } from './payment.dto';
import { PaymentConfig } from './payment-config';
import { PaymentView } from './payment-record';
import { Payments } from './payments';

const DEFAULT_PAGE = 50;
const MAX_PAGE = 200;
const OUT_TRADE_NO = /^[A-Za-z0-9_\-|*]{1,32}$/;

function notFound(): ApiError {
  // The same answer for "does not exist" and "belongs to another merchant": nothing leaks.
  return new ApiError('PAYMENT_NOT_FOUND', 'no such payment');
}

function encodeCursor(last: { createdAt: string; paymentId: string }): string {
  return Buffer.from(`${last.createdAt}|${last.paymentId}`, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: string; paymentId: string } {
  const [createdAt, paymentId] = Buffer.from(cursor.slice(0, 200), 'base64url').toString('utf8').split('|');
  if (!createdAt || !paymentId || Number.isNaN(Date.parse(createdAt)) || !/^[0-9a-f-]{36}$/i.test(paymentId)) {
    throw new ApiError('FIELD_INVALID', 'cursor is not one this service issued', { field: 'cursor' });
  }
  return { createdAt, paymentId };
}

@ApiTags('payments')
@MerchantAuthenticated()
@Controller('v1/payments')
export class PaymentsController {
  constructor(
    private readonly payments: Payments,
    @Inject(SERVICE_CONFIG) private readonly config: PaymentConfig,
  ) {}

  @Post()
  @ApiOperation({
    summary: 'Submit a POS payment',
    description:
      'Idempotent on (merchantId, outTradeNo): the identical request again answers 200 with the same payment; ' +
      'the same key with another payload answers 409 MODIFIED_REQUEST.',
  })
  @ApiBody({ type: CreatePaymentDto })
  @ApiResponse({ status: 201, description: 'Created; status SUCCEEDED, FAILED, PENDING (customer still paying) or REVERSED', type: PaymentDto })
  @ApiResponse({ status: 200, description: 'Identical replay: the payment as it is now', type: PaymentDto })
  @ApiErrorCodes(...PAYMENT_REQUEST_REJECTION_CODES, 'MERCHANT_MISMATCH', 'MODIFIED_REQUEST')
  async create(
    @AuthenticatedMerchant() merchantId: string,
    @Body() body: unknown,
    @Res({ passthrough: true }) response: Response,
  ): Promise<PaymentView> {
    const validation = validatePaymentRequest(body, { maxAmountFen: fen(this.config.PAYMENT_MAX_AMOUNT_FEN) });
    if (!validation.ok) {
      throw new ApiError(validation.code, validation.message, { field: validation.field });
    }
    if (validation.request.merchantId !== merchantId) {
      throw new ApiError('MERCHANT_MISMATCH', 'merchantId must be the authenticated merchant');
    }
    const result = await this.payments.accept(validation.request, 'HTTP');
    if (result.kind === 'modified') {
      throw new ApiError(
        'MODIFIED_REQUEST',
        'a payment with this outTradeNo exists with a different request; use a new outTradeNo',
        { paymentId: result.paymentId },
      );
    }
    response.status(result.kind === 'created' ? HttpStatus.CREATED : HttpStatus.OK);
    if (result.kind === 'created') response.setHeader('Location', `/v1/payments/${result.payment.paymentId}`);
    return result.payment;
  }

  @Get(':paymentId')
  @ApiOperation({ summary: 'A payment of the authenticated merchant' })
  @ApiResponse({ status: 200, type: PaymentDto })
  @ApiErrorCodes('INVALID_PAYMENT_ID', 'PAYMENT_NOT_FOUND')
  async get(@AuthenticatedMerchant() merchantId: string, @Param('paymentId', new UuidParam('INVALID_PAYMENT_ID')) paymentId: string): Promise<PaymentView> {
    const payment = await this.payments.findById(merchantId, paymentId);
    if (!payment) throw notFound();
    return payment;
  }

  @Get()
  @ApiOperation({
    summary: "The merchant's payments by outTradeNo, or by business date (and status)",
    description: 'Ordered by creation time; page with `cursor`. Either outTradeNo or businessDate is required.',
  })
  @ApiQuery({ name: 'outTradeNo', required: false })
  @ApiQuery({ name: 'businessDate', required: false, description: 'YYYY-MM-DD, Asia/Shanghai' })
  @ApiQuery({ name: 'status', required: false, enum: PAYMENT_STATUSES })
  @ApiQuery({ name: 'limit', required: false, description: `1..${MAX_PAGE}, default ${DEFAULT_PAGE}` })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiResponse({ status: 200, type: PaymentPageDto })
  @ApiErrorCodes('FIELD_REQUIRED', 'FIELD_INVALID')
  async list(
    @AuthenticatedMerchant() merchantId: string,
    @Query() query: Record<string, unknown>,
  ): Promise<{ items: PaymentView[]; nextCursor?: string }> {
    const invalid = (field: string, message: string) => new ApiError('FIELD_INVALID', message, { field });
    const single = (field: string): string | undefined => {
      const value = query[field];
      if (value === undefined) return undefined;
      if (typeof value !== 'string') throw invalid(field, `${field} must be given once`);
      return value;
    };
    const outTradeNo = single('outTradeNo');
    const businessDate = single('businessDate');
    const status = single('status');
    const limitText = single('limit');
    const cursor = single('cursor');
    if (outTradeNo === undefined && businessDate === undefined) {
      throw new ApiError('FIELD_REQUIRED', 'outTradeNo or businessDate is required', { field: 'businessDate' });
    }
    if (outTradeNo !== undefined && !OUT_TRADE_NO.test(outTradeNo)) throw invalid('outTradeNo', 'outTradeNo has not the expected format');
    if (businessDate !== undefined && !isBusinessDate(businessDate)) throw invalid('businessDate', 'businessDate must be a date YYYY-MM-DD');
    if (status !== undefined && !isPaymentStatus(status)) throw invalid('status', `status must be one of ${PAYMENT_STATUSES.join(', ')}`);
    const limit = limitText === undefined ? DEFAULT_PAGE : Number(limitText);
    if (!/^[0-9]{1,3}$/.test(limitText ?? '1') || !Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
      throw invalid('limit', `limit must be an integer 1..${MAX_PAGE}`);
    }
    const page = await this.payments.list(merchantId, {
      outTradeNo,
      businessDate,
      status: status as (typeof PAYMENT_STATUSES)[number] | undefined,
      limit,
      ...(cursor !== undefined ? { after: decodeCursor(cursor) } : {}),
    });
    return { items: page.rows, ...(page.last ? { nextCursor: encodeCursor(page.last) } : {}) };
  }
}
