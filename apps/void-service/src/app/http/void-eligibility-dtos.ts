import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Remedies, VoidRejectionReasons } from '@pos/contracts';
import { VoidDecisionBody, VoidRequestBody } from './void-dtos';

/** OpenAPI documentation of GET /v1/payments/{paymentId}/void-eligibility. */
export class VoidEligibilityBody {
  @ApiProperty({ format: 'uuid' }) paymentId!: string;
  @ApiProperty({ description: 'Whether a void of the payment sent now (full amount, the card reference, a valid supervisor where needed) would be accepted' })
  eligible!: boolean;
  @ApiProperty({ format: 'date-time', description: 'The instant the answer was computed for' }) checkedAt!: string;
  @ApiPropertyOptional({
    format: 'date-time',
    description: 'Eligible: a void is accepted strictly before it (batch cutoff or channel window, whichever is first). Not eligible: the deadline that applied, as a decision reports it',
  })
  deadline?: string;
  @ApiPropertyOptional({ description: 'Eligible: whole seconds from checkedAt to the deadline, rounded down' }) secondsLeft?: number;
  @ApiPropertyOptional({ description: "Eligible: the payment's settlement batch" }) batchId?: string;
  @ApiPropertyOptional({ enum: ['WECHAT', 'ALIPAY', 'UNIONPAY_CARD'] }) channel?: string;
  @ApiPropertyOptional({ description: 'Eligible: the void must carry a supervisor (credential or authorisation): UnionPay card voids by default' })
  supervisorRequired?: boolean;
  @ApiPropertyOptional({ enum: [...VoidRejectionReasons], description: 'Not eligible: the reason a void sent now would be rejected with' }) reason?: string;
  @ApiProperty({ enum: [...Remedies], description: 'NONE when eligible; otherwise the remedy the decision would give' }) remedy!: string;
  @ApiProperty() message!: string;
}

/** OpenAPI documentation of POST /v1/voids/bulk. */
export class BulkVoidRequestBody {
  @ApiProperty({ type: [VoidRequestBody], minItems: 1, maxItems: 100, description: 'Each exactly as POST /v1/voids takes its body, with its own idempotencyKey' })
  items!: VoidRequestBody[];
}

export class BulkItemErrorBody {
  @ApiProperty({ description: 'The code POST /v1/voids would answer for this item alone (docs/errors.md)', example: 'INVALID_AMOUNT' }) code!: string;
  @ApiProperty() message!: string;
}

export class BulkVoidItemBody {
  @ApiProperty({ description: 'The position of the item in the request, from 0' }) index!: number;
  @ApiProperty({ description: 'The status POST /v1/voids would answer for this item alone: 200 with a decision, else the error status', example: 200 })
  status!: number;
  @ApiPropertyOptional({ description: 'With a decision: the stored final decision of this idempotency key was returned (Idempotent-Replayed)' }) replayed?: boolean;
  @ApiPropertyOptional({ type: VoidDecisionBody }) decision?: VoidDecisionBody;
  @ApiPropertyOptional({ type: BulkItemErrorBody }) error?: BulkItemErrorBody;
}

export class BulkVoidAnswerBody {
  @ApiProperty({ type: [BulkVoidItemBody], description: 'One per request item, in request order' }) items!: BulkVoidItemBody[];
}
