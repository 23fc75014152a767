import { ArgumentMetadata, Injectable, PipeTransform } from '@nestjs/common';
import { HttpErrorCode } from '@pos/contracts';
import { ApiError } from './api-errors';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A path parameter that must be a UUID (a payment, void or delivery id). Every service refuses a malformed
 * id the same way, 400 with the id's own code, before it looks anything up: a malformed id is a
 * wrong request, not a missing resource.
 */
@Injectable()
export class UuidParam implements PipeTransform<string, string> {
  constructor(private readonly code: Extract<HttpErrorCode, 'INVALID_PAYMENT_ID' | 'INVALID_VOID_ID' | 'INVALID_DELIVERY_ID'>) {}

  transform(value: string, metadata: ArgumentMetadata): string {
    if (!UUID.test(value)) throw new ApiError(this.code, `${metadata.data ?? 'the id'} must be a UUID`);
    return value;
  }
}
