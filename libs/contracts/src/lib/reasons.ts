/**
 * Machine-readable reasons and remedies that travel in events and HTTP answers. Adding a value is a
 * compatible change within a topic version; removing or renaming one is not.
 */

export const VoidRejectionReasons = [
  'PAYMENT_NOT_FOUND',
  'PAYMENT_REFERENCE_MISMATCH',
  'PAYMENT_PENDING',
  'CLEARING_PENDING',
  'PAYMENT_NOT_SUCCEEDED',
  'ALREADY_VOIDED',
  'ALREADY_CLEARED',
  'CUTOFF_PASSED',
  'VOID_WINDOW_EXPIRED',
  'VOID_TOO_EARLY',
  'AMOUNT_MISMATCH',
  'TERMINAL_MISMATCH',
  'CARD_REFERENCE_MISMATCH',
  'SUPERVISOR_AUTH_REQUIRED',
  'MODIFIED_REQUEST',
  'SUPERVISOR_LOCKED',
  'CHANNEL_REFUSED',
] as const;
export type VoidRejectionReason = (typeof VoidRejectionReasons)[number];

/** What the caller should do instead. */
export const Remedies = ['NONE', 'RETRY_LATER', 'REFUND', 'CORRECT_REQUEST', 'CONTACT_SUPPORT'] as const;
export type Remedy = (typeof Remedies)[number];

export const PaymentFailureReasons = ['DECLINED', 'INSUFFICIENT_FUNDS', 'PAYMENT_CODE_INVALID', 'CHANNEL_ERROR', 'USER_CANCELLED'] as const;
export type PaymentFailureReason = (typeof PaymentFailureReasons)[number];

export const BatchCloseReasons = ['CUTOFF', 'TERMINAL_SETTLEMENT'] as const;
export type BatchCloseReason = (typeof BatchCloseReasons)[number];

/**
 * Why a consumer parked a message on a dead-letter topic (header `dlq_reason`); docs/contracts.md
 * explains each. New values are appended: operators and tools treat an unknown one as "other".
 */
export const DeadLetterReasons = [
  'MALFORMED_ENVELOPE',
  'UNKNOWN_EVENT_TYPE',
  'UNSUPPORTED_SCHEMA_VERSION',
  'SCHEMA_VIOLATION',
  'MODIFIED_DUPLICATE',
  'REJECTED_BY_HANDLER',
  'RETRIES_EXHAUSTED',
  'MALFORMED_ENCODING',
  'INVALID_CE_ID',
  'INVALID_CE_TIME',
  'FORGED_SOURCE',
  'KEY_MISMATCH',
  'UNKNOWN_MERCHANT',
  'SECRET_IN_MESSAGE',
] as const;
export type DeadLetterReason = (typeof DeadLetterReasons)[number];
