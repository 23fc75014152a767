import { EntityManager } from 'typeorm';
import { Topics, VoidRequested } from '@pos/contracts';
import { MessageValidator } from '@pos/messaging';
import { ApiError } from '@pos/service-runtime';
import { DecisionOutcome, UnreferencedVoid, VoidCommand, VoidDecisions } from '../decisions/void-decisions';
import { VoidMetrics } from '../observability/void-metrics';
import { supervisorCredentialOf } from './request-schemas';

/**
 * A void request over HTTP (POST /v1/voids, or one item of POST /v1/voids/bulk) as a command.
 * Validates against the contract's own JSON Schema, so HTTP and Kafka accept exactly the same requests.
 */
export function voidCommandFrom(validator: MessageValidator, merchantId: string, headerKey: string | undefined, body: unknown): VoidCommand {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError('VALIDATION_FAILED', 'the body must be a JSON object');
  }
  const fields = body as Record<string, unknown>;
  if (headerKey !== undefined && fields['idempotencyKey'] !== undefined && fields['idempotencyKey'] !== headerKey) {
    throw new ApiError('IDEMPOTENCY_KEY_CONFLICT', 'the Idempotency-Key header and body idempotencyKey differ');
  }
  const idempotencyKey = headerKey ?? fields['idempotencyKey'];
  if (idempotencyKey === undefined) {
    throw new ApiError('IDEMPOTENCY_KEY_REQUIRED', 'an Idempotency-Key header or body idempotencyKey is required');
  }
  if (fields['merchantId'] !== undefined && fields['merchantId'] !== merchantId) {
    throw new ApiError('MERCHANT_MISMATCH', 'merchantId must be the authenticated merchant');
  }
  // Over HTTP the supervisor may also be the credential itself, which the Kafka contract refuses.
  const { supervisor, ...others } = fields;
  const credential = supervisor !== null && typeof supervisor === 'object' && 'credential' in supervisor ? supervisorCredentialOf(supervisor) : undefined;
  const command = { ...(credential ? others : fields), idempotencyKey, merchantId };
  const result = validator.validate(Topics.voidCommands, 'pos.void.requested', 1, command);
  if (!result.ok) {
    const code = /^\/amountFen\b/m.test(result.detail.replace(/; /g, '\n')) ? 'INVALID_AMOUNT' : 'VALIDATION_FAILED';
    throw new ApiError(code, result.detail);
  }
  const request = command as VoidRequested;
  if (!request.paymentId && !request.outTradeNo) {
    throw new ApiError('PAYMENT_REFERENCE_REQUIRED', 'a void must name the payment: paymentId or outTradeNo');
  }
  return credential ? { ...request, supervisor: credential } : request;
}

/** Decides a void requested over HTTP and counts it (`started`: when the request came in). */
export async function decideOverHttp(
  decisions: VoidDecisions,
  metrics: VoidMetrics,
  db: EntityManager,
  command: VoidCommand,
  started: bigint,
): Promise<DecisionOutcome> {
  let outcome;
  try {
    outcome = await decisions.decide(db, command, 'HTTP');
  } catch (error) {
    if (error instanceof UnreferencedVoid) throw new ApiError('PAYMENT_REFERENCE_REQUIRED', error.message);
    throw error;
  }
  metrics.decided(outcome, 'HTTP', started);
  return outcome;
}
