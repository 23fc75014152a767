import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { CHANNELS, PaymentFailureReasons } from '@pos/contracts';
import { PAYMENT_STATUSES } from '@pos/payment-domain';

/**
 * OpenAPI descriptions only: the body is validated by `validatePaymentRequest` (the same rules as
 * the Kafka command's JSON Schema), so every refusal has its own machine-readable code.
 */
export class CardRequestDto {
  @ApiProperty({ description: 'Token of the card (never a PAN)', minLength: 4, maxLength: 64, example: 'tok_6222abcd0017' })
  cardRef!: string;
  @ApiProperty({ description: "Terminal's batch number (6 digits)", pattern: '^[0-9]{6}$', example: '000123' })
  batchNo!: string;
  @ApiProperty({ description: 'Voucher (trace) number, 凭证号 (6 digits)', pattern: '^[0-9]{6}$', example: '000456' })
  voucherNo!: string;
}

export class CreatePaymentDto {
  @ApiProperty({ description: 'Must be the authenticated merchant', example: 'M100', maxLength: 64 })
  merchantId!: string;
  @ApiProperty({ example: 'T1', maxLength: 64 })
  terminalId!: string;
  @ApiProperty({ enum: CHANNELS })
  channel!: string;
  @ApiProperty({ description: 'Integer fen, 1..PAYMENT_MAX_AMOUNT_FEN', example: 1999, type: 'integer' })
  amountFen!: number;
  @ApiProperty({ enum: ['CNY'] })
  currency!: string;
  @ApiProperty({ description: "The merchant's order number; with merchantId, the idempotency key", maxLength: 32, example: 'ORDER-20261127-0001' })
  outTradeNo!: string;
  @ApiPropertyOptional({ description: 'WECHAT / ALIPAY: the customer payment code (付款码), 16-24 digits; never stored', example: '134567890123456789' })
  paymentCode?: string;
  @ApiPropertyOptional({ type: CardRequestDto, description: 'UNIONPAY_CARD only' })
  card?: CardRequestDto;
}

export class CardDto {
  @ApiProperty() batchNo!: string;
  @ApiProperty() voucherNo!: string;
}

export class VoidRefusedBody {
  @ApiProperty({ format: 'uuid' }) voidId!: string;
  @ApiProperty({ example: 'REVERSE_EXPIRE', description: "The channel's code" }) channelCode!: string;
  @ApiProperty({ format: 'date-time' }) refusedAt!: string;
}

export class PaymentDto {
  @ApiProperty({ format: 'uuid' }) paymentId!: string;
  @ApiProperty() merchantId!: string;
  @ApiProperty() terminalId!: string;
  @ApiProperty({ enum: CHANNELS }) channel!: string;
  @ApiProperty({ type: 'integer' }) amountFen!: number;
  @ApiProperty({ enum: ['CNY'] }) currency!: string;
  @ApiProperty() outTradeNo!: string;
  @ApiProperty({ description: 'Payment code or card token, masked but for the last characters', example: '**************6789' })
  maskedReference!: string;
  @ApiPropertyOptional({ type: CardDto }) card?: CardDto;
  @ApiProperty({ enum: PAYMENT_STATUSES }) status!: string;
  @ApiPropertyOptional({ enum: PaymentFailureReasons }) failureReason?: string;
  @ApiPropertyOptional() channelTradeNo?: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiPropertyOptional({ format: 'date-time' }) pendingSince?: string;
  @ApiPropertyOptional({ format: 'date-time' }) succeededAt?: string;
  @ApiPropertyOptional({ format: 'date-time' }) failedAt?: string;
  @ApiPropertyOptional({ format: 'date-time' }) reversedAt?: string;
  @ApiProperty({ format: 'date', description: 'Asia/Shanghai date of the success time (of the request until then)' })
  businessDate!: string;
  @ApiPropertyOptional() batchId?: string;
  @ApiPropertyOptional({ format: 'date-time' }) clearedAt?: string;
  @ApiPropertyOptional({ format: 'date-time' }) settledAt?: string;
  @ApiPropertyOptional({ format: 'date-time' }) voidedAt?: string;
  @ApiPropertyOptional({
    type: VoidRefusedBody,
    description: 'A void was accepted but the channel refused to undo the payment (ADR 0008): it is cleared; refund it instead',
  })
  voidRefused?: VoidRefusedBody;
}

export class PaymentPageDto {
  @ApiProperty({ type: [PaymentDto] }) items!: PaymentDto[];
  @ApiPropertyOptional({ description: 'Pass as `cursor` for the next page; absent on the last page' })
  nextCursor?: string;
}
