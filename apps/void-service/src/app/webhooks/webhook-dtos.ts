import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** OpenAPI documentation of the webhook routes' wire shapes. */
export class WebhookRequestBody {
  @ApiProperty({ example: 'https://pos.example.com/hooks/voids', description: 'https; no user name or password, no fragment; at most 2048 characters' })
  url!: string;
}

export class WebhookBody {
  @ApiProperty({ example: 'https://pos.example.com/hooks/voids' }) url!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
  @ApiProperty({ format: 'date-time', description: 'When the current signing secret was made' }) secretRotatedAt!: string;
}

export class RegisteredWebhookBody extends WebhookBody {
  @ApiPropertyOptional({
    example: 'whsec_3q2+7w…',
    description: 'The signing secret, shown once: only when the webhook is created (201), not when its URL changes (200). Keep it: it cannot be read again, only rotated.',
  })
  secret?: string;
}

export class RotatedSecretBody {
  @ApiProperty({ description: 'The new signing secret, shown once' }) secret!: string;
  @ApiProperty({ format: 'date-time' }) secretRotatedAt!: string;
  @ApiProperty({ format: 'date-time', description: 'Until then deliveries carry a second v1= signature made with the previous secret' })
  previousSecretValidUntil!: string;
}

export class DeliveryAttemptBody {
  @ApiProperty({ example: 1 }) attempt!: number;
  @ApiProperty({ format: 'date-time' }) attemptedAt!: string;
  @ApiProperty() url!: string;
  @ApiPropertyOptional({ example: 500, description: "The receiver's HTTP status; absent when it did not answer" }) httpStatus?: number;
  @ApiPropertyOptional({ example: 'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9', description: 'Why there was no answer' }) error?: string;
  @ApiProperty({ example: 12 }) durationMs!: number;
  @ApiProperty({ enum: ['DELIVERED', 'RETRY', 'FAILED'] }) outcome!: string;
}

export class DeliveryBody {
  @ApiProperty({ format: 'uuid' }) deliveryId!: string;
  @ApiProperty({ example: 'M001' }) merchantId!: string;
  @ApiProperty({ description: 'The CloudEvents id: receivers deduplicate on it' }) eventId!: string;
  @ApiProperty({ example: 'pos.void.accepted' }) eventType!: string;
  @ApiProperty({ format: 'date-time' }) eventTime!: string;
  @ApiProperty({ enum: ['PENDING', 'DELIVERED', 'FAILED'] }) status!: string;
  @ApiProperty({ description: 'Attempts made, over all rounds' }) attempts!: number;
  @ApiProperty({ description: 'Times an operator or the merchant redrove it' }) redrives!: number;
  @ApiPropertyOptional({ format: 'date-time', description: 'When it is tried next (PENDING only)' }) nextAttemptAt?: string;
  @ApiPropertyOptional({ example: 503 }) lastHttpStatus?: number;
  @ApiPropertyOptional() lastError?: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiPropertyOptional({ format: 'date-time', description: 'When it was DELIVERED or became FAILED' }) completedAt?: string;
  @ApiPropertyOptional({ type: [DeliveryAttemptBody], description: 'The delivery log (GET of one delivery only)' }) log?: DeliveryAttemptBody[];
}

export class DeliveryListBody {
  @ApiProperty({ type: [DeliveryBody] }) items!: DeliveryBody[];
}
