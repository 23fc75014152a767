/**
 * Every `code` an HTTP API of the platform answers, with its status and what it means: the one
 * catalogue. Services raise errors only by these codes (service-runtime's `ApiError` takes nothing
 * else), each route's OpenAPI document lists the codes it can answer, and docs/errors.md is
 * generated from this table. Adding a code is a compatible change; renaming or removing one, or
 * changing its status, is not.
 */
export type HttpService = 'payment' | 'void' | 'clearing';

export interface HttpErrorEntry {
  readonly status: number;
  /** Where it can happen: any request (before a route sees it), or routes of these services. */
  readonly where: 'any request' | readonly HttpService[];
  readonly meaning: string;
}

export const HttpErrorCatalogue = {
  // Any request, before a route sees it.
  MALFORMED_REQUEST: { status: 400, where: 'any request', meaning: 'The HTTP request itself could not be read (request line, headers, framing or an aborted body).' },
  REQUEST_TIMEOUT: { status: 408, where: 'any request', meaning: 'The request did not arrive in time.' },
  REQUEST_HEADERS_TOO_LARGE: { status: 431, where: 'any request', meaning: 'The request headers exceed the server limit (16 KiB).' },
  NOT_FOUND: { status: 404, where: 'any request', meaning: 'No such route (path or method).' },
  MALFORMED_JSON: { status: 400, where: 'any request', meaning: 'The request body is not valid JSON.' },
  PAYLOAD_TOO_LARGE: { status: 413, where: 'any request', meaning: 'The request body exceeds 64 kB.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, where: 'any request', meaning: 'The request body is not in UTF-8 or has a content encoding the service does not read.' },
  UNAUTHENTICATED: { status: 401, where: ['payment', 'void', 'clearing'], meaning: 'The X-Api-Key header is missing or not a known merchant key; on clearing, neither it nor an Authorization: Bearer operator token was given and known (or both were given).' },
  ROLE_FORBIDDEN: { status: 403, where: ['clearing', 'void'], meaning: 'The caller is authenticated, but a merchant key or its operator role may not use this route (details.allowed lists who may).' },
  SERVICE_UNAVAILABLE: { status: 503, where: ['payment', 'void', 'clearing'], meaning: 'Readiness: PostgreSQL or Kafka does not answer (GET /health/ready); clearing: this instance lacks a cutoff schedule version another instance stored (ADR 0005), ask another one.' },
  DATABASE_UNAVAILABLE: { status: 503, where: ['payment', 'void', 'clearing'], meaning: 'PostgreSQL did not answer in time (no connection within 5 s, connection lost, server restarting). The request may or may not have been recorded; send it again as it was (same order number or idempotency key) after Retry-After seconds: the answer is then the one it would have had.' },
  INTERNAL_ERROR: { status: 500, where: ['payment', 'void', 'clearing'], meaning: 'An unexpected failure; nothing internal is revealed, the service logs the cause.' },

  // Identifiers in paths.
  INVALID_PAYMENT_ID: { status: 400, where: ['payment', 'void', 'clearing'], meaning: 'The payment id in the path is not a UUID.' },
  INVALID_VOID_ID: { status: 400, where: ['void'], meaning: 'The void id in the path is not a UUID.' },

  // Payment requests (the same rules as the payments.commands.v1 schema).
  FIELD_REQUIRED: { status: 400, where: ['payment'], meaning: 'A required field or query parameter is missing (details.field).' },
  FIELD_INVALID: { status: 400, where: ['payment'], meaning: 'A field or query parameter has a wrong type, format or value, or is not known (details.field).' },
  AMOUNT_NOT_INTEGER: { status: 400, where: ['payment'], meaning: 'amountFen is not an integer number of fen.' },
  AMOUNT_NOT_POSITIVE: { status: 400, where: ['payment'], meaning: 'amountFen is zero or negative.' },
  AMOUNT_TOO_LARGE: { status: 400, where: ['payment'], meaning: 'amountFen exceeds the configured maximum (PAYMENT_MAX_AMOUNT_FEN).' },
  UNKNOWN_CHANNEL: { status: 400, where: ['payment'], meaning: 'channel is not WECHAT, ALIPAY or UNIONPAY_CARD.' },
  UNSUPPORTED_CURRENCY: { status: 400, where: ['payment'], meaning: 'currency is not CNY.' },
  CARD_DETAILS_REQUIRED: { status: 400, where: ['payment'], meaning: 'A card payment needs card: {cardRef, batchNo, voucherNo}.' },
  PAYMENT_CODE_REQUIRED: { status: 400, where: ['payment'], meaning: "A wallet payment needs the customer's paymentCode." },
  MERCHANT_MISMATCH: { status: 403, where: ['payment', 'void', 'clearing'], meaning: 'The merchantId of the body is not the authenticated merchant.' },
  MODIFIED_REQUEST: { status: 409, where: ['payment'], meaning: 'The idempotency key (merchantId + outTradeNo) was used before with another request (details.paymentId).' },
  PAYMENT_NOT_FOUND: { status: 404, where: ['payment', 'clearing'], meaning: "No such payment (on the payment service also for another merchant's payment; on clearing, not seen yet)." },

  // Void requests (the same rules as the voids.commands.v1 schema) and decision queries.
  VALIDATION_FAILED: { status: 400, where: ['void'], meaning: 'The void request breaks its JSON Schema (the message names the field).' },
  INVALID_AMOUNT: { status: 400, where: ['void'], meaning: 'amountFen is not a positive integer number of fen.' },
  IDEMPOTENCY_KEY_REQUIRED: { status: 400, where: ['void'], meaning: 'Neither an Idempotency-Key header nor a body idempotencyKey was given.' },
  IDEMPOTENCY_KEY_CONFLICT: { status: 400, where: ['void'], meaning: 'The Idempotency-Key header and the body idempotencyKey differ.' },
  PAYMENT_REFERENCE_REQUIRED: { status: 400, where: ['void'], meaning: 'A void must name its payment: paymentId or outTradeNo.' },
  SUPERVISOR_AUTH_FAILED: { status: 403, where: ['void'], meaning: 'Supervisor authorisation: the operator is not a supervisor of this merchant, or its credential is wrong.' },
  SUPERVISOR_LOCKED: { status: 403, where: ['void'], meaning: 'Supervisor authorisation: the supervisor is locked after repeated wrong credentials; retry once the lock has expired, or with another supervisor.' },
  VOID_NOT_FOUND: { status: 404, where: ['void'], meaning: "No such void decision (also for another merchant's)." },
  INVALID_TERMINAL_ID: { status: 400, where: ['void'], meaning: 'Void eligibility: terminalId is not a terminal identifier (1-64 of [A-Za-z0-9._:-], starting with a letter or digit).' },
  BULK_ITEMS_REQUIRED: { status: 400, where: ['void'], meaning: 'Bulk voids: the body has no items array, or it is empty.' },
  BULK_TOO_MANY_ITEMS: { status: 400, where: ['void'], meaning: 'Bulk voids: more than 100 items in one request; split it (details.maxItems).' },
  INVALID_DECISION: { status: 400, where: ['void'], meaning: 'decision is not ACCEPTED or REJECTED.' },
  INVALID_REASON: { status: 400, where: ['void'], meaning: 'reason is not a void rejection reason.' },
  INVALID_CURSOR: { status: 400, where: ['void', 'clearing'], meaning: 'after (void) or before (clearing audit) is not the cursor of a previous page.' },

  // Merchants' webhooks and their deliveries (void service).
  WEBHOOK_URL_INVALID: { status: 400, where: ['void'], meaning: 'url is missing, not an absolute URL, longer than 2048 characters, or has a fragment.' },
  WEBHOOK_URL_SCHEME_NOT_ALLOWED: { status: 400, where: ['void'], meaning: 'url is not https (http is allowed only to a loopback host where WEBHOOK_ALLOW_INSECURE_LOOPBACK is on).' },
  WEBHOOK_URL_CREDENTIALS: { status: 400, where: ['void'], meaning: 'url carries a user name or password; deliveries are authenticated by their signature instead.' },
  WEBHOOK_URL_ADDRESS_FORBIDDEN: { status: 400, where: ['void'], meaning: 'url names a loopback, private, link-local or reserved address (or localhost) that webhooks may not reach (docs/security.md).' },
  WEBHOOK_NOT_FOUND: { status: 404, where: ['void'], meaning: 'The merchant has no webhook registered (PUT /v1/webhook registers one).' },
  INVALID_DELIVERY_ID: { status: 400, where: ['void'], meaning: 'The delivery id in the path is not a UUID.' },
  INVALID_DELIVERY_STATUS: { status: 400, where: ['void'], meaning: 'status is not a delivery status (PENDING, DELIVERED, FAILED).' },
  MERCHANT_ID_REQUIRED: { status: 400, where: ['void'], meaning: "An operator listing webhook deliveries must name the merchant (merchantId)." },
  DELIVERY_NOT_FOUND: { status: 404, where: ['void'], meaning: "No such webhook delivery (also for another merchant's)." },
  DELIVERY_NOT_FAILED: { status: 409, where: ['void'], meaning: 'Only a FAILED delivery can be redriven; this one is PENDING (still being tried) or DELIVERED (details.status).' },

  // Query parameters shared by the void and clearing read APIs.
  INVALID_DATE: { status: 400, where: ['void', 'clearing'], meaning: 'A date is not a calendar date YYYY-MM-DD.' },
  INVALID_LIMIT: { status: 400, where: ['void', 'clearing'], meaning: 'limit is not an integer within the allowed page size.' },

  // Clearing.
  INVALID_REQUEST: { status: 400, where: ['clearing'], meaning: 'The terminal settlement or approval request breaks its schema (the message names the field).' },
  INVALID_STATE: { status: 400, where: ['clearing'], meaning: 'state is not a batch state (OPEN, CLOSING, CLOSED, SETTLED).' },
  BATCH_NOT_FOUND: { status: 404, where: ['clearing'], meaning: 'No such settlement batch.' },
  BATCH_NOT_CLOSED: { status: 409, where: ['clearing'], meaning: 'The batch is still open or closing; its reconciliation file exists once it is closed.' },
  NO_CLOSED_BATCHES: { status: 404, where: ['clearing'], meaning: 'The merchant has no closed batch on that clearing date (yet).' },

  // Four-eyes approvals and the audit trail (clearing).
  FOUR_EYES_REQUIRED: { status: 403, where: ['clearing'], meaning: "An operator's terminal settlement needs a second operator's approval: request it with POST /v1/approvals." },
  SELF_APPROVAL: { status: 403, where: ['clearing'], meaning: 'The operator who requested an approval cannot approve or reject it.' },
  APPROVAL_NOT_FOUND: { status: 404, where: ['clearing'], meaning: 'No such approval request.' },
  APPROVAL_NOT_PENDING: { status: 409, where: ['clearing'], meaning: 'The approval request was decided already or expired (details.state).' },
  APPROVAL_NOT_APPROVED: { status: 409, where: ['clearing'], meaning: 'The approval request is not approved, was executed already or expired (details.state): it cannot be executed.' },
  APPROVAL_MISMATCH: { status: 409, where: ['clearing'], meaning: 'The action to execute is not the one that was approved (another action, or another target), or the caller is not its requester.' },
  INVALID_TIME: { status: 400, where: ['clearing'], meaning: 'A time is not an RFC 3339 instant with its offset.' },
} as const satisfies Record<string, HttpErrorEntry>;

export type HttpErrorCode = keyof typeof HttpErrorCatalogue;

export const HTTP_ERROR_CODES = Object.keys(HttpErrorCatalogue) as readonly HttpErrorCode[];

export function isHttpErrorCode(code: unknown): code is HttpErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(HttpErrorCatalogue, code);
}

