import { ChannelName, PaymentFailureReason } from '@pos/contracts';
import { ChannelOrderRef, PaymentStatus } from '@pos/payment-domain';

/** Every column, with the date as text: node-pg would turn a `date` into a local-time Date. */
export const COLUMNS = `payment_id, merchant_id, terminal_id, channel, amount_fen, currency, out_trade_no, masked_reference,
  card_batch_no, card_voucher_no, request_hash, status, failure_reason, channel_trade_no, created_at, pending_since,
  succeeded_at, failed_at, reversed_at, business_date::text AS business_date, batch_id, cleared_at, settled_at, voided_at, void_id,
  void_refused_at, void_refusal_code`;

/** A row of `payments` as PostgreSQL returns it (bigint as text, dates as Date). */
export interface PaymentRow {
  payment_id: string;
  merchant_id: string;
  terminal_id: string;
  channel: ChannelName;
  amount_fen: string;
  currency: 'CNY';
  out_trade_no: string;
  masked_reference: string;
  card_batch_no: string | null;
  card_voucher_no: string | null;
  request_hash: string;
  status: PaymentStatus;
  failure_reason: PaymentFailureReason | null;
  channel_trade_no: string | null;
  created_at: Date;
  pending_since: Date | null;
  succeeded_at: Date | null;
  failed_at: Date | null;
  reversed_at: Date | null;
  business_date: string;
  batch_id: string | null;
  cleared_at: Date | null;
  settled_at: Date | null;
  voided_at: Date | null;
  void_id: string | null;
  void_refused_at: Date | null;
  void_refusal_code: string | null;
}

/** What the API answers for a payment. Instants are RFC 3339 in UTC (`Z`), as on every API and event (docs/contracts.md). */
export interface PaymentView {
  paymentId: string;
  merchantId: string;
  terminalId: string;
  channel: ChannelName;
  amountFen: number;
  currency: 'CNY';
  outTradeNo: string;
  /** The payment code or card token, all but the last characters masked. */
  maskedReference: string;
  card?: { batchNo: string; voucherNo: string };
  status: PaymentStatus;
  failureReason?: PaymentFailureReason;
  channelTradeNo?: string;
  createdAt: string;
  pendingSince?: string;
  succeededAt?: string;
  failedAt?: string;
  reversedAt?: string;
  /** Asia/Shanghai date of the success time (of the request time until it succeeds). */
  businessDate: string;
  batchId?: string;
  clearedAt?: string;
  settledAt?: string;
  voidedAt?: string;
  /** A void of the payment was accepted but its channel refused to undo it (ADR 0008): refund it instead. */
  voidRefused?: { voidId: string; channelCode: string; refusedAt: string };
}

const instant = (value: Date | null) => value?.toISOString();

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

export function viewOf(row: PaymentRow): PaymentView {
  return withoutUndefined({
    paymentId: row.payment_id,
    merchantId: row.merchant_id,
    terminalId: row.terminal_id,
    channel: row.channel,
    amountFen: Number(row.amount_fen),
    currency: row.currency,
    outTradeNo: row.out_trade_no,
    maskedReference: row.masked_reference,
    card: row.card_batch_no && row.card_voucher_no ? { batchNo: row.card_batch_no, voucherNo: row.card_voucher_no } : undefined,
    status: row.status,
    failureReason: row.failure_reason ?? undefined,
    channelTradeNo: row.channel_trade_no ?? undefined,
    createdAt: row.created_at.toISOString(),
    pendingSince: instant(row.pending_since),
    succeededAt: instant(row.succeeded_at),
    failedAt: instant(row.failed_at),
    reversedAt: instant(row.reversed_at),
    businessDate: typeof row.business_date === 'string' ? row.business_date : String(row.business_date),
    batchId: row.batch_id ?? undefined,
    clearedAt: instant(row.cleared_at),
    settledAt: instant(row.settled_at),
    voidedAt: instant(row.voided_at),
    voidRefused:
      row.void_id && row.void_refused_at && row.void_refusal_code
        ? { voidId: row.void_id, channelCode: row.void_refusal_code, refusedAt: row.void_refused_at.toISOString() }
        : undefined,
  });
}

export function orderRefOf(row: PaymentRow): ChannelOrderRef {
  return {
    paymentId: row.payment_id,
    merchantId: row.merchant_id,
    channel: row.channel,
    outTradeNo: row.out_trade_no,
    amountFen: Number(row.amount_fen),
    maskedReference: row.masked_reference,
  };
}

/** The facts every payment event repeats (libs/contracts PaymentFacts). */
export function eventFactsOf(row: PaymentRow) {
  return {
    paymentId: row.payment_id,
    merchantId: row.merchant_id,
    terminalId: row.terminal_id,
    channel: row.channel,
    amountFen: Number(row.amount_fen),
    currency: row.currency,
    outTradeNo: row.out_trade_no,
    ...(row.card_batch_no && row.card_voucher_no ? { card: { batchNo: row.card_batch_no, voucherNo: row.card_voucher_no } } : {}),
  };
}
