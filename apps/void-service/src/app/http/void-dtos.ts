import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Remedies, VoidRejectionReasons } from '@pos/contracts';

/** OpenAPI documentation of the wire shapes; validation is done against the contract's JSON Schema. */
export class CardReferenceBody {
  @ApiProperty({ example: '000042', pattern: '^[0-9]{6}$', description: 'Original POS batch number' })
  batchNo!: string;
  @ApiProperty({ example: '000007', pattern: '^[0-9]{6}$', description: 'Original voucher (trace) number (凭证号)' })
  voucherNo!: string;
}

export class SupervisorBody {
  @ApiPropertyOptional({ example: 'OP9', description: 'With credential: the supervisor' })
  operatorId?: string;
  @ApiPropertyOptional({ description: 'With operatorId: the supervisor credential (主管密码); checked against its hash, never logged or stored', format: 'password' })
  credential?: string;
  @ApiPropertyOptional({ format: 'uuid', description: 'Instead of operatorId and credential: an authorisation from POST /v1/supervisor-authorisations (the only form a Kafka command may carry)' })
  authorisationId?: string;
}

export class SupervisorCredentialBody {
  @ApiProperty({ example: 'OP9' })
  operatorId!: string;
  @ApiProperty({ description: 'Supervisor credential (主管密码); checked against its hash, never logged or stored', format: 'password' })
  credential!: string;
}

export class SupervisorAuthorisationRequestBody {
  @ApiProperty({ example: 'POS-7', description: 'The terminal that will send the void' })
  terminalId!: string;
  @ApiPropertyOptional({ format: 'uuid', description: 'The payment to void; or outTradeNo, or both (each given must match)' })
  paymentId?: string;
  @ApiPropertyOptional({ example: 'ORDER-1' })
  outTradeNo?: string;
  @ApiProperty({ type: SupervisorCredentialBody })
  supervisor!: SupervisorCredentialBody;
}

export class SupervisorAuthorisationBody {
  @ApiProperty({ format: 'uuid', description: 'Put into the void command: supervisor: {authorisationId}' }) authorisationId!: string;
  @ApiProperty() merchantId!: string;
  @ApiProperty() terminalId!: string;
  @ApiProperty() operatorId!: string;
  @ApiPropertyOptional({ format: 'uuid' }) paymentId?: string;
  @ApiPropertyOptional() outTradeNo?: string;
  @ApiProperty({ format: 'date-time' }) issuedAt!: string;
  @ApiProperty({ format: 'date-time', description: 'Unusable from this instant on' }) expiresAt!: string;
}

export class VoidRequestBody {
  @ApiPropertyOptional({ description: 'Or the Idempotency-Key header; 8-64 of [A-Za-z0-9._:-]', example: 'void-2026-11-27-0001' })
  idempotencyKey?: string;
  @ApiPropertyOptional({ description: 'Must be the authenticated merchant; defaults to it', example: 'M100' })
  merchantId?: string;
  @ApiProperty({ example: 'T1' })
  terminalId!: string;
  @ApiPropertyOptional({ format: 'uuid', description: 'The payment; or outTradeNo, or both' })
  paymentId?: string;
  @ApiPropertyOptional({ example: 'ORDER-1', description: "The merchant's order number of the payment" })
  outTradeNo?: string;
  @ApiProperty({ example: 1999, description: 'Integer fen; must be the full amount of the payment' })
  amountFen!: number;
  @ApiProperty({ example: 'OP1', description: 'The cashier asking for the void' })
  operatorId!: string;
  @ApiPropertyOptional({ type: CardReferenceBody, description: 'Card payments: the original batch and voucher numbers' })
  card?: CardReferenceBody;
  @ApiPropertyOptional({ type: SupervisorBody, description: 'Card payments: the supervisor (operatorId and credential) or its authorisation (authorisationId)' })
  supervisor?: SupervisorBody;
}

export class VoidDecisionBody {
  @ApiProperty({ format: 'uuid' }) voidId!: string;
  @ApiProperty() idempotencyKey!: string;
  @ApiProperty() merchantId!: string;
  @ApiProperty() terminalId!: string;
  @ApiProperty({ enum: ['ACCEPTED', 'REJECTED'] }) decision!: string;
  @ApiPropertyOptional({ enum: [...VoidRejectionReasons] }) reason?: string;
  @ApiProperty({ enum: [...Remedies], description: 'What to do instead, e.g. REFUND' }) remedy!: string;
  @ApiPropertyOptional({ format: 'date-time', description: 'The deadline that applied (batch cutoff or channel window)' }) deadline?: string;
  @ApiPropertyOptional({ format: 'uuid' }) paymentId?: string;
  @ApiPropertyOptional() outTradeNo?: string;
  @ApiPropertyOptional({ enum: ['WECHAT', 'ALIPAY', 'UNIONPAY_CARD'] }) channel?: string;
  @ApiPropertyOptional() batchId?: string;
  @ApiProperty({ description: 'Requested amount, integer fen' }) amountFen!: number;
  @ApiProperty({ format: 'date-time' }) decidedAt!: string;
  @ApiProperty() message!: string;
  @ApiProperty({
    description:
      'True for a final answer, replayed for this idempotency key for ever. False for an answer that may change ' +
      '(PAYMENT_NOT_FOUND, PAYMENT_PENDING, CLEARING_PENDING, VOID_TOO_EARLY, SUPERVISOR_AUTH_REQUIRED): ask again with the same key.',
  })
  final!: boolean;
  @ApiPropertyOptional({ format: 'uuid', description: 'MODIFIED_REQUEST: the decision that owns the key' }) originalVoidId?: string;
}

export class VoidExecutionBody {
  @ApiProperty({ enum: ['PENDING', 'EXECUTED', 'CHANNEL_REFUSED'], description: 'PENDING until the channel gives a final answer' }) state!: string;
  @ApiProperty({ description: 'Undo calls made to the channel so far' }) attempts!: number;
  @ApiPropertyOptional({ example: 'SYSTEMERROR', description: "The channel's last answer: SUCCESS, TIMEOUT, or its code" }) lastOutcome?: string;
  @ApiPropertyOptional({ example: 'REVERSE_EXPIRE', description: "CHANNEL_REFUSED: the channel's code" }) channelCode?: string;
  @ApiPropertyOptional({ description: "EXECUTED: the channel's reference of the undo" }) channelReference?: string;
  @ApiPropertyOptional({ format: 'date-time', description: 'PENDING: when the channel is called next (at the earliest)' }) nextAttemptAt?: string;
  @ApiPropertyOptional({ format: 'date-time' }) executedAt?: string;
  @ApiPropertyOptional({ format: 'date-time' }) refusedAt?: string;
}

export class VoidDecisionWithExecutionBody extends VoidDecisionBody {
  @ApiPropertyOptional({
    type: VoidExecutionBody,
    description: 'An accepted void: its execution at the channel (WeChat reverse, Alipay cancel, UnionPay 消费撤销)',
  })
  execution?: VoidExecutionBody;
}

export class VoidDecisionListBody {
  @ApiProperty({ type: [VoidDecisionBody] }) items!: VoidDecisionBody[];
  @ApiPropertyOptional({ description: 'Pass as `after` for the next page; absent on the last page' }) next?: string;
}
