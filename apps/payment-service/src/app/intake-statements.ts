import { EntityManager } from 'typeorm';
import { OutboxEntry } from '@pos/messaging';
import { queryPrepared } from '@pos/persistence';
import { COLUMNS, PaymentRow } from './payment-record';

/**
 * The intake's two hot statements in their batched form: each takes the items of many requests
 * as arrays (one parameter per column, so the text, and the prepared plan, is the same for any
 * number of items) and answers one row or `undefined` per item, in the items' order. Used through
 * a StatementBatcher, so concurrent requests share a round trip and a commit.
 */

/** The returned rows lined up with the items, `undefined` where the statement wrote nothing. */
function inItemOrder(rows: readonly PaymentRow[], items: readonly { readonly paymentId: string }[]): (PaymentRow | undefined)[] {
  const byId = new Map(rows.map((row) => [row.payment_id, row]));
  return items.map((item) => byId.get(item.paymentId));
}

/** A new payment as the claim writes it, in status PROCESSING. */
export interface Claim {
  readonly paymentId: string;
  readonly merchantId: string;
  readonly terminalId: string;
  readonly channel: string;
  readonly amountFen: number;
  readonly currency: string;
  readonly outTradeNo: string;
  readonly maskedReference: string;
  readonly cardBatchNo: string | null;
  readonly cardVoucherNo: string | null;
  readonly requestHash: string;
  readonly intake: string;
  readonly now: Date;
  readonly nextQueryAt: Date;
  readonly businessDate: string;
  readonly cause: string;
  /** The span of the request or command that creates the payment (W3C), for the events written for it later. */
  readonly traceparent: string;
}

/**
 * Inserts the payments whose (merchant, outTradeNo) is still free, each with its first status
 * change; a claim that lost (the key was taken, by an earlier request or by another claim of the
 * same batch) answers `undefined`. Rows go in in key order, so two batches that share keys take
 * their locks in the same order and cannot deadlock.
 */
export async function claimPayments(db: EntityManager, claims: readonly Claim[]): Promise<(PaymentRow | undefined)[]> {
  const rows = await queryPrepared<PaymentRow>(
    db,
    `WITH input AS (
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[],
                            $9::text[], $10::text[], $11::text[], $12::text[], $13::timestamptz[], $14::timestamptz[], $15::date[], $16::text[],
                            $17::text[])
         AS i(payment_id, merchant_id, terminal_id, channel, amount_fen, currency, out_trade_no, masked_reference,
              card_batch_no, card_voucher_no, request_hash, intake, now, next_query_at, business_date, cause, traceparent)),
     claimed AS (
       INSERT INTO payments (payment_id, merchant_id, terminal_id, channel, amount_fen, currency, out_trade_no,
         masked_reference, card_batch_no, card_voucher_no, request_hash, intake, status, created_at, updated_at,
         next_query_at, business_date, traceparent)
       SELECT payment_id, merchant_id, terminal_id, channel, amount_fen, currency, out_trade_no, masked_reference,
              card_batch_no, card_voucher_no, request_hash, intake, 'PROCESSING', now, now, next_query_at, business_date, traceparent
         FROM input ORDER BY merchant_id, out_trade_no
       ON CONFLICT (merchant_id, out_trade_no) DO NOTHING
       RETURNING ${COLUMNS}),
     changed AS (
       INSERT INTO payment_status_changes (payment_id, from_status, to_status, cause, changed_at)
       SELECT claimed.payment_id, NULL, 'PROCESSING', input.cause, input.now FROM claimed JOIN input USING (payment_id))
     SELECT * FROM claimed`,
    [
      claims.map((c) => c.paymentId),
      claims.map((c) => c.merchantId),
      claims.map((c) => c.terminalId),
      claims.map((c) => c.channel),
      claims.map((c) => c.amountFen),
      claims.map((c) => c.currency),
      claims.map((c) => c.outTradeNo),
      claims.map((c) => c.maskedReference),
      claims.map((c) => c.cardBatchNo),
      claims.map((c) => c.cardVoucherNo),
      claims.map((c) => c.requestHash),
      claims.map((c) => c.intake),
      claims.map((c) => c.now),
      claims.map((c) => c.nextQueryAt),
      claims.map((c) => c.businessDate),
      claims.map((c) => c.cause),
      claims.map((c) => c.traceparent),
    ],
  );
  return inItemOrder(rows, claims);
}

/** A claimed payment the channel has just confirmed, and its pos.payment.succeeded event. */
export interface Success {
  readonly paymentId: string;
  readonly now: Date;
  readonly businessDate: string;
  readonly channelTradeNo: string;
  readonly cause: string;
  readonly event: OutboxEntry;
}

/**
 * PROCESSING → SUCCEEDED for each payment still PROCESSING, with its status change and its event;
 * a payment that has moved on meanwhile (the poller got there first) answers `undefined` and gets
 * neither.
 */
export async function recordSuccesses(db: EntityManager, successes: readonly Success[]): Promise<(PaymentRow | undefined)[]> {
  const rows = await queryPrepared<PaymentRow>(
    db,
    `WITH input AS (
       SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::date[], $4::text[], $5::text[],
                            $6::uuid[], $7::text[], $8::text[], $9::jsonb[], $10::jsonb[], $11::text[])
         AS i(in_payment_id, in_now, in_business_date, in_channel_trade_no, in_cause,
              in_event_id, in_topic, in_message_key, in_headers, in_payload, in_traceparent)),
     updated AS (
       UPDATE payments SET status = 'SUCCEEDED', updated_at = in_now, succeeded_at = in_now, business_date = in_business_date,
              channel_trade_no = in_channel_trade_no, next_query_at = NULL
         FROM input WHERE payment_id = in_payment_id AND status = 'PROCESSING'
       RETURNING ${COLUMNS}),
     changed AS (
       INSERT INTO payment_status_changes (payment_id, from_status, to_status, cause, changed_at)
       SELECT in_payment_id, 'PROCESSING', 'SUCCEEDED', in_cause, in_now FROM input JOIN updated ON payment_id = in_payment_id),
     events AS (
       INSERT INTO outbox (event_id, topic, message_key, headers, payload, traceparent)
       SELECT in_event_id, in_topic, in_message_key, in_headers, in_payload, in_traceparent FROM input JOIN updated ON payment_id = in_payment_id)
     SELECT * FROM updated`,
    [
      successes.map((s) => s.paymentId),
      successes.map((s) => s.now),
      successes.map((s) => s.businessDate),
      successes.map((s) => s.channelTradeNo),
      successes.map((s) => s.cause),
      successes.map((s) => s.event.eventId),
      successes.map((s) => s.event.topic),
      successes.map((s) => s.event.key),
      successes.map((s) => s.event.headers),
      successes.map((s) => s.event.payload),
      successes.map((s) => s.event.traceparent),
    ],
  );
  return inItemOrder(rows, successes);
}
