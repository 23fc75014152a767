import { createHash } from 'node:crypto';
import { CHANNELS, ChannelName, HttpErrorCode } from '@pos/contracts';
import { Fen, validatePaymentAmount } from '@pos/money';

/** A payment request that passed every edge rule; the same shape arrives over HTTP and Kafka. */
export interface PaymentRequest {
  readonly merchantId: string;
  readonly terminalId: string;
  readonly channel: ChannelName;
  readonly amountFen: Fen;
  readonly currency: 'CNY';
  readonly outTradeNo: string;
  /** Wallet channels only. Held in memory for the channel call, never stored or logged. */
  readonly paymentCode?: string;
  /** UnionPay card only. */
  readonly card?: { readonly cardRef: string; readonly batchNo: string; readonly voucherNo: string };
}

/** Every refusal of a payment request; each is a code of the HTTP error catalogue (libs/contracts). */
export const PAYMENT_REQUEST_REJECTION_CODES = [
  'FIELD_REQUIRED',
  'FIELD_INVALID',
  'AMOUNT_NOT_INTEGER',
  'AMOUNT_NOT_POSITIVE',
  'AMOUNT_TOO_LARGE',
  'UNKNOWN_CHANNEL',
  'UNSUPPORTED_CURRENCY',
  'CARD_DETAILS_REQUIRED',
  'PAYMENT_CODE_REQUIRED',
] as const satisfies readonly HttpErrorCode[];
export type PaymentRequestRejectionCode = (typeof PAYMENT_REQUEST_REJECTION_CODES)[number];

export interface PaymentRequestRejection {
  readonly code: PaymentRequestRejectionCode;
  readonly field: string;
  readonly message: string;
}

export type PaymentRequestValidation =
  | { readonly ok: true; readonly request: PaymentRequest }
  | ({ readonly ok: false } & PaymentRequestRejection);

export interface PaymentRequestLimits {
  readonly maxAmountFen: Fen;
}

/** The same bounds as the published JSON Schema (libs/contracts PaymentRequested), so both doors agree. */
const IDENTIFIER = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const OUT_TRADE_NO = /^[A-Za-z0-9_\-|*]{1,32}$/;
const PAYMENT_CODE = /^[0-9]{16,24}$/;
const SIX_DIGITS = /^[0-9]{6}$/;
const CARD_REF = /^[\x21-\x7e]{4,64}$/;

const TOP_LEVEL_FIELDS = new Set(['merchantId', 'terminalId', 'channel', 'amountFen', 'currency', 'outTradeNo', 'paymentCode', 'card']);
const CARD_FIELDS = new Set(['cardRef', 'batchNo', 'voucherNo']);

class Rejected extends Error {
  constructor(readonly rejection: PaymentRequestRejection) {
    super(rejection.message);
  }
}

function refuse(code: PaymentRequestRejectionCode, field: string, message: string): never {
  throw new Rejected({ code, field, message });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requiredString(body: Record<string, unknown>, field: string, pattern: RegExp, path = field): string {
  const value = body[field];
  if (value === undefined || value === null || value === '') refuse('FIELD_REQUIRED', path, `${path} is required`);
  // The value itself is not echoed: it may be a payment code or a card token.
  if (typeof value !== 'string' || !pattern.test(value)) refuse('FIELD_INVALID', path, `${path} does not have the expected format`);
  return value;
}

function onlyKnownFields(body: Record<string, unknown>, known: Set<string>, prefix: string): void {
  for (const key of Object.keys(body)) {
    if (!known.has(key)) refuse('FIELD_INVALID', `${prefix}${key}`, `unknown field ${prefix}${key.slice(0, 40)}`);
  }
}

/**
 * Every edge rule of an incoming payment, in one pure function shared by the HTTP controller and the
 * Kafka consumer. Returns the first problem, with a machine-readable code and the offending field.
 */
export function validatePaymentRequest(input: unknown, limits: PaymentRequestLimits): PaymentRequestValidation {
  try {
    return { ok: true, request: parse(input, limits) };
  } catch (error) {
    if (error instanceof Rejected) return { ok: false, ...error.rejection };
    throw error;
  }
}

function parse(input: unknown, limits: PaymentRequestLimits): PaymentRequest {
  if (!isRecord(input)) refuse('FIELD_INVALID', '(body)', 'the request body must be a JSON object');
  onlyKnownFields(input, TOP_LEVEL_FIELDS, '');
  const merchantId = requiredString(input, 'merchantId', IDENTIFIER);
  const terminalId = requiredString(input, 'terminalId', IDENTIFIER);

  const channel = input['channel'];
  if (channel === undefined || channel === null) refuse('FIELD_REQUIRED', 'channel', 'channel is required');
  if (typeof channel !== 'string' || !(CHANNELS as readonly string[]).includes(channel)) {
    refuse('UNKNOWN_CHANNEL', 'channel', `channel must be one of ${CHANNELS.join(', ')}`);
  }

  if (input['amountFen'] === undefined || input['amountFen'] === null) refuse('FIELD_REQUIRED', 'amountFen', 'amountFen is required');
  const amount = validatePaymentAmount(input['amountFen'], limits.maxAmountFen);
  if (!amount.ok) {
    // A string or other non-number is "not an integer number of fen" to the caller.
    refuse(amount.code === 'AMOUNT_NOT_A_NUMBER' ? 'AMOUNT_NOT_INTEGER' : amount.code, 'amountFen', amount.message);
  }

  const currency = input['currency'];
  if (currency === undefined || currency === null) refuse('FIELD_REQUIRED', 'currency', 'currency is required');
  if (currency !== 'CNY') refuse('UNSUPPORTED_CURRENCY', 'currency', 'only CNY is accepted');

  const outTradeNo = requiredString(input, 'outTradeNo', OUT_TRADE_NO);
  const base = { merchantId, terminalId, channel: channel as ChannelName, amountFen: amount.amount, currency: 'CNY' as const, outTradeNo };

  if (channel === 'UNIONPAY_CARD') {
    if (input['paymentCode'] !== undefined) refuse('FIELD_INVALID', 'paymentCode', 'card payments take card details, not a payment code');
    const card = input['card'];
    if (card === undefined || card === null) refuse('CARD_DETAILS_REQUIRED', 'card', 'card payments need card.cardRef, card.batchNo and card.voucherNo');
    if (!isRecord(card)) refuse('FIELD_INVALID', 'card', 'card must be an object');
    onlyKnownFields(card, CARD_FIELDS, 'card.');
    for (const field of CARD_FIELDS) {
      if (card[field] === undefined || card[field] === null || card[field] === '') {
        refuse('CARD_DETAILS_REQUIRED', `card.${field}`, `card payments need card.${field}`);
      }
    }
    return {
      ...base,
      card: {
        cardRef: requiredString(card, 'cardRef', CARD_REF, 'card.cardRef'),
        batchNo: requiredString(card, 'batchNo', SIX_DIGITS, 'card.batchNo'),
        voucherNo: requiredString(card, 'voucherNo', SIX_DIGITS, 'card.voucherNo'),
      },
    };
  }
  if (input['card'] !== undefined) refuse('FIELD_INVALID', 'card', `${channel} payments take a payment code, not card details`);
  if (input['paymentCode'] === undefined || input['paymentCode'] === null || input['paymentCode'] === '') {
    refuse('PAYMENT_CODE_REQUIRED', 'paymentCode', `${channel} payments need the customer's payment code`);
  }
  return { ...base, paymentCode: requiredString(input, 'paymentCode', PAYMENT_CODE) };
}

/** What the channel is asked to charge: the payment code, or the card token. */
export function channelReferenceOf(request: PaymentRequest): string {
  return request.card?.cardRef ?? request.paymentCode ?? '';
}

/**
 * sha256 over a canonical rendering of the request (fixed field order, absent fields explicit), so
 * the same request over HTTP and over Kafka has the same fingerprint and any changed field changes
 * it. The payment code takes part: the same order number with another customer's code is a
 * modified request.
 */
export function fingerprintOf(request: PaymentRequest): string {
  const canonical = JSON.stringify([
    request.merchantId,
    request.terminalId,
    request.channel,
    request.amountFen,
    request.currency,
    request.outTradeNo,
    request.paymentCode ?? null,
    request.card ? [request.card.cardRef, request.card.batchNo, request.card.voucherNo] : null,
  ]);
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

/**
 * The only form in which a payment code or card token is kept: the last four characters (two for
 * very short tokens), enough for a cashier to recognise it and for the simulator to replay its
 * outcome, never enough to charge the customer again.
 */
export function maskReference(reference: string): string {
  const visible = reference.length >= 8 ? 4 : 2;
  return `${'*'.repeat(Math.max(reference.length - visible, 0))}${reference.slice(-visible)}`;
}
