import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { PaymentCleared, BatchSettled, continueTrace, Topics, VoidAccepted, VoidChannelRefused } from '@pos/contracts';
import { businessDateOf, Clock } from '@pos/business-calendar';
import { AfterCommit, CLOCK, inTrace, Outbox, OutboxMessage, PermanentFailure, traceparentForEvents } from '@pos/messaging';
import { queryPrepared, StatementBatcher } from '@pos/persistence';
import { SERVICE_CONFIG } from '@pos/service-runtime';
import {
  ChannelGateway,
  ChannelOutcome,
  channelReferenceOf,
  decideFact,
  decideOutcome,
  decideVoidRefused,
  fingerprintOf,
  LaterFact,
  maskReference,
  OutcomeDecision,
  PaymentRequest,
  PaymentStatus,
} from '@pos/payment-domain';
import { CHANNEL_GATEWAY } from './channel-gateway.provider';
import { PaymentMetrics } from './payment-metrics';
import { Claim, claimPayments, recordSuccesses, Success } from './intake-statements';
import { PaymentConfig } from './payment-config';
import { COLUMNS, eventFactsOf, orderRefOf, PaymentRow, PaymentView, viewOf } from './payment-record';

export type Intake = 'HTTP' | 'KAFKA';

export type AcceptResult =
  | { readonly kind: 'created'; readonly payment: PaymentView }
  | { readonly kind: 'replayed'; readonly payment: PaymentView }
  | { readonly kind: 'modified'; readonly paymentId: string };

export interface PaymentQuery {
  readonly outTradeNo?: string;
  readonly businessDate?: string;
  readonly status?: PaymentStatus;
  readonly limit: number;
  readonly after?: { readonly createdAt: string; readonly paymentId: string };
}


interface StatusChange {
  readonly next: PaymentStatus;
  /** Columns set with the status; names come from this file only, never from input. */
  readonly set: Record<string, unknown>;
  readonly event?: Omit<OutboxMessage, 'key' | 'topic' | 'subject'>;
}

/** A payment's event as the outbox takes it: keyed by merchant (batch order), the payment as subject. */
function eventOf(row: PaymentRow, event: NonNullable<StatusChange['event']>): OutboxMessage {
  return { ...event, topic: Topics.paymentEvents, key: row.merchant_id, subject: row.payment_id };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The payment lifecycle as I/O: the idempotency claim, the channel call outside any transaction,
 * then the outcome and its event in one transaction. Every decision is made by the pure functions
 * of @pos/payment-domain on a row locked `FOR UPDATE`, so concurrent requests, the poller and
 * several instances can race on one payment and only the first resolution counts.
 */
@Injectable()
export class Payments {
  private readonly logger = new Logger('Payments');

  private readonly claims: StatementBatcher<Claim, PaymentRow | undefined>;
  private readonly successes: StatementBatcher<Success, PaymentRow | undefined>;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly outbox: Outbox,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(CHANNEL_GATEWAY) private readonly gateway: ChannelGateway,
    @Inject(SERVICE_CONFIG) private readonly config: PaymentConfig,
    private readonly metrics: PaymentMetrics,
  ) {
    this.claims = new StatementBatcher((claims) => claimPayments(this.dataSource.manager, claims));
    this.successes = new StatementBatcher((successes) => recordSuccesses(this.dataSource.manager, successes));
  }

  async accept(request: PaymentRequest, intake: Intake): Promise<AcceptResult> {
    const hash = fingerprintOf(request);
    const now = this.clock.now();
    const reference = channelReferenceOf(request);
    // The claim is a single statement: the unique (merchant, out_trade_no) decides which of any
    // number of concurrent duplicates creates the payment; the others read the winner's row. Its
    // first status change is written by the same statement, shared with the other requests of the
    // moment (see intake-statements.ts).
    const claimed = await this.claims.submit({
      paymentId: randomUUID(),
      merchantId: request.merchantId,
      terminalId: request.terminalId,
      channel: request.channel,
      amountFen: request.amountFen,
      currency: request.currency,
      outTradeNo: request.outTradeNo,
      maskedReference: maskReference(reference),
      cardBatchNo: request.card?.batchNo ?? null,
      cardVoucherNo: request.card?.voucherNo ?? null,
      requestHash: hash,
      intake,
      now,
      nextQueryAt: new Date(now.getTime() + this.config.PAYMENT_PROCESSING_TIMEOUT_MS),
      businessDate: businessDateOf(now),
      cause: `accepted over ${intake}`,
      traceparent: traceparentForEvents(),
    });
    if (!claimed) {
      const [existing]: PaymentRow[] = await this.dataSource.query(
        `SELECT ${COLUMNS} FROM payments WHERE merchant_id = $1 AND out_trade_no = $2`,
        [request.merchantId, request.outTradeNo],
      );
      if (!existing) throw new Error('payment claim conflicted but no row was found');
      if (existing.request_hash !== hash) return { kind: 'modified', paymentId: existing.payment_id };
      return { kind: 'replayed', payment: viewOf(existing) };
    }
    this.metrics.reached(claimed.channel, claimed.status);

    let outcome: ChannelOutcome;
    try {
      outcome = await this.gateway.pay({ ...orderRefOf(claimed), reference });
    } catch (error) {
      // The answer is lost, not negative: the payment stays PROCESSING and the poller queries it.
      this.logger.warn(`pay call for ${claimed.payment_id} failed, left for the poller: ${String(error)}`);
      return { kind: 'created', payment: viewOf(claimed) };
    }
    return { kind: 'created', payment: viewOf(await this.resolveClaimed(claimed, outcome)) };
  }

  /**
   * The channel's answer to a payment just claimed, written without a transaction: the statement
   * changes the row only while it is still as claimed. If anything (the poller) got there first,
   * the locked path decides instead. This is the intake's hot path: one round trip, and a success
   * (the usual answer) shares it with the other successes of the moment.
   */
  private async resolveClaimed(claimed: PaymentRow, outcome: ChannelOutcome): Promise<PaymentRow> {
    const decision = this.decide(claimed, outcome);
    if (decision.kind === 'stale' || decision.kind === 'reverse') return this.resolve(claimed, outcome);
    const now = this.clock.now();
    const change = this.changeFor(claimed, decision, now);
    const written =
      decision.kind === 'succeed' && change.event
        ? await this.successes.submit({
            paymentId: claimed.payment_id,
            now,
            businessDate: businessDateOf(now),
            channelTradeNo: decision.channelTradeNo,
            cause: decision.kind,
            event: this.outbox.encode([eventOf(claimed, change.event)])[0],
          })
        : await this.write(this.dataSource.manager, claimed, change, decision.kind, now);
    if (!written) return this.resolve(claimed, outcome);
    if (written.status !== claimed.status) this.metrics.reached(written.channel, written.status);
    return written;
  }

  /** Applies a channel answer. A reversal is acknowledged by the channel before it is recorded. */
  async resolve(seen: PaymentRow, outcome: ChannelOutcome): Promise<PaymentRow> {
    const preview = this.decide(seen, outcome);
    if (preview.kind === 'stale') return seen;
    if (preview.kind === 'reverse') {
      // Store and forward: if this throws, the row stays unresolved and the poller reverses again
      // (channels treat a repeated reversal of the same order as one).
      await this.gateway.reverse(orderRefOf(seen));
    }
    const { resolved, moved } = await this.dataSource.transaction(async (tx) => {
      const [row]: PaymentRow[] = await tx.query(`SELECT ${COLUMNS} FROM payments WHERE payment_id = $1 FOR UPDATE`, [seen.payment_id]);
      const decision = this.decide(row, outcome);
      if (decision.kind === 'stale') return { resolved: row, moved: false };
      if (decision.kind === 'reverse' && preview.kind !== 'reverse') {
        // Became a reversal only under the lock (the pending limit passed meanwhile): reverse first.
        throw new Error(`payment ${row.payment_id} needs a reversal first; the poller will retry`);
      }
      const written = await this.apply(tx, row, decision);
      return { resolved: written, moved: written.status !== row.status };
    });
    if (moved) this.metrics.reached(resolved.channel, resolved.status);
    return resolved;
  }

  private decide(row: PaymentRow, outcome: ChannelOutcome): OutcomeDecision {
    const now = this.clock.now().getTime();
    const pendingExpired = row.pending_since !== null && now - row.pending_since.getTime() >= this.config.PAYMENT_PENDING_TIMEOUT_MS;
    return decideOutcome(row.status, outcome, { pendingExpired });
  }

  private async apply(tx: EntityManager, row: PaymentRow, decision: Exclude<OutcomeDecision, { kind: 'stale' }>): Promise<PaymentRow> {
    const now = this.clock.now();
    const written = await this.write(tx, row, this.changeFor(row, decision, now), decision.kind, now);
    if (!written) throw new Error(`payment ${row.payment_id} changed although it was locked`);
    return written;
  }

  /** What a decision writes: the new status, the columns that come with it, and the event if any. */
  private changeFor(row: PaymentRow, decision: Exclude<OutcomeDecision, { kind: 'stale' }>, now: Date): StatusChange {
    const at = now.toISOString();
    const facts = eventFactsOf(row);
    switch (decision.kind) {
      case 'succeed':
        return {
          next: 'SUCCEEDED',
          set: { succeeded_at: now, business_date: businessDateOf(now), channel_trade_no: decision.channelTradeNo, next_query_at: null },
          event: { type: 'pos.payment.succeeded', data: { ...facts, succeededAt: at, channelTradeNo: decision.channelTradeNo } },
        };
      case 'fail':
        return {
          next: 'FAILED',
          set: { failed_at: now, failure_reason: decision.reason, next_query_at: null },
          event: { type: 'pos.payment.failed', data: { ...facts, failedAt: at, reason: decision.reason } },
        };
      case 'pending':
        return {
          next: 'PENDING',
          set: { pending_since: now, next_query_at: new Date(now.getTime() + this.config.PAYMENT_PENDING_QUERY_INTERVAL_MS) },
          event: { type: 'pos.payment.pending', data: { ...facts, pendingSince: at } },
        };
      case 'still-pending':
        return { next: 'PENDING', set: { next_query_at: new Date(now.getTime() + this.config.PAYMENT_PENDING_QUERY_INTERVAL_MS) } };
      case 'reverse':
        return {
          next: 'REVERSED',
          set: { reversed_at: now, next_query_at: null },
          event: { type: 'pos.payment.reversed', data: { ...facts, reversedAt: at, reason: decision.reason } },
        };
    }
  }

  /**
   * A status change in one statement: the row (only while its status is still the one `row` has),
   * the audit row when the status moves, and the event if any. Nothing is written, and nothing
   * returned, when the payment is no longer in that status.
   */
  private async write(db: EntityManager, row: PaymentRow, change: StatusChange, cause: string, now: Date): Promise<PaymentRow | undefined> {
    const entries = Object.entries(change.set);
    // $1 payment, $2 new status, $3 now, $4 status as seen, $5 cause, then the columns, then the event.
    const values: unknown[] = [row.payment_id, change.next, now, row.status, cause, ...entries.map(([, value]) => value)];
    const parts = [
      `updated AS (
         UPDATE payments SET status = $2, updated_at = $3${entries.map(([column], i) => `, ${column} = $${i + 6}`).join('')}
          WHERE payment_id = $1 AND status = $4 RETURNING ${COLUMNS})`,
    ];
    if (change.next !== row.status) {
      parts.push(`changed AS (
         INSERT INTO payment_status_changes (payment_id, from_status, to_status, cause, changed_at)
         SELECT payment_id, $4::text, $2::text, $5::text, $3::timestamptz FROM updated)`);
    }
    if (change.event) {
      const events = this.outbox.insert([eventOf(row, change.event)], {
        firstParameter: values.length + 1,
        onlyIf: 'EXISTS (SELECT 1 FROM updated)',
      });
      parts.push(`events AS (${events.sql})`);
      values.push(...events.values);
    }
    const [written] = await queryPrepared<PaymentRow>(db, `WITH ${parts.join(', ')} SELECT * FROM updated`, values);
    return written;
  }

  // ---------- the poller's side ----------

  /**
   * Leases up to `limit` payments that wait on the channel (PENDING due for a query, or PROCESSING
   * whose answer was lost), so one instance at a time queries each, then resolves them.
   */
  async resolveDue(limit = 50): Promise<number> {
    const now = this.clock.now();
    const lease = new Date(now.getTime() + this.config.PAYMENT_PROCESSING_TIMEOUT_MS);
    const due: (PaymentRow & { traceparent: string | null })[] = await this.dataSource.transaction(async (tx) => {
      const [rows]: [(PaymentRow & { traceparent: string | null })[], number] = await tx.query(
        `UPDATE payments SET next_query_at = $2
          WHERE payment_id IN (
            SELECT payment_id FROM payments
             WHERE status IN ('PROCESSING', 'PENDING') AND next_query_at <= $1
             ORDER BY next_query_at LIMIT $3 FOR UPDATE SKIP LOCKED)
          RETURNING ${COLUMNS}, traceparent`,
        [now, lease, limit],
      );
      return rows;
    });
    for (const row of due) {
      // In a new span of the trace that created the payment: its later events continue that trace.
      await inTrace(continueTrace(row.traceparent ?? undefined), async () => {
        try {
          await this.resolve(row, await this.gateway.query(orderRefOf(row)));
        } catch (error) {
          this.logger.warn(`resolving ${row.payment_id} failed, retried after the lease: ${String(error)}`);
        }
      });
    }
    return due.length;
  }

  // ---------- facts from the other services ----------

  async applyVoidAccepted(tx: EntityManager, fact: VoidAccepted, afterCommit: AfterCommit): Promise<void> {
    const row = await this.lockForFact(tx, fact.paymentId, fact.merchantId, 'VOIDED');
    if (!row) return;
    const change: StatusChange = { next: 'VOIDED', set: { voided_at: new Date(fact.decidedAt), void_id: fact.voidId } };
    await this.write(tx, row, change, `void ${fact.voidId} accepted`, this.clock.now());
    afterCommit(() => this.metrics.reached(row.channel, change.next));
  }

  /**
   * The channel refused for good to undo the payment's void (ADR 0008): SUCCEEDED again, the
   * refusal recorded, and a clearing that came first (held) applied now.
   */
  async applyVoidRefused(tx: EntityManager, fact: VoidChannelRefused, afterCommit: AfterCommit): Promise<void> {
    const [row] = await queryPrepared<PaymentRow>(tx, `SELECT ${COLUMNS} FROM payments WHERE payment_id = $1 FOR UPDATE`, [fact.paymentId]);
    if (!row) throw new PermanentFailure(`void refused: no payment ${fact.paymentId} in this service`);
    if (row.merchant_id !== fact.merchantId) throw new PermanentFailure(`void refused: payment ${fact.paymentId} belongs to another merchant`);
    const decision = decideVoidRefused(row.status);
    if (decision.kind === 'refuse') throw new PermanentFailure(`void ${fact.voidId} refused for payment ${fact.paymentId}: ${decision.reason}`);
    if (decision.kind !== 'apply') return;
    if (row.void_id !== fact.voidId) throw new PermanentFailure(`payment ${fact.paymentId} was voided by ${row.void_id}, not by the refused void ${fact.voidId}`);
    const change: StatusChange = {
      next: 'SUCCEEDED',
      set: { voided_at: null, void_refused_at: new Date(fact.refusedAt), void_refusal_code: fact.channelCode },
    };
    const written = await this.write(tx, row, change, `void ${fact.voidId} refused by ${fact.channel} (${fact.channelCode}): not voided, refund instead`, this.clock.now());
    afterCommit(() => this.metrics.reached(row.channel, change.next));
    const [held] = await queryPrepared<{ batch_id: string; amount_fen: string; cleared_at: Date }>(
      tx,
      `DELETE FROM clearings_held WHERE payment_id = $1 RETURNING batch_id, amount_fen, cleared_at`,
      [fact.paymentId],
    );
    if (held && written) {
      await this.clear(tx, written, { batchId: held.batch_id, amountFen: Number(held.amount_fen), clearedAt: held.cleared_at.toISOString() }, afterCommit);
    }
  }

  async applyCleared(tx: EntityManager, fact: PaymentCleared, afterCommit: AfterCommit): Promise<void> {
    const [current] = await queryPrepared<PaymentRow>(tx, `SELECT ${COLUMNS} FROM payments WHERE payment_id = $1 FOR UPDATE`, [fact.paymentId]);
    const decision = current && current.merchant_id === fact.merchantId ? decideFact(current.status, 'CLEARED') : undefined;
    if (decision?.kind === 'hold') {
      // ADR 0008: the refusal of its void is on its way (voids.events.v1); until then it stays VOIDED.
      await queryPrepared(
        tx,
        `INSERT INTO clearings_held (payment_id, batch_id, amount_fen, cleared_at, held_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
        [fact.paymentId, fact.batchId, fact.amountFen, new Date(fact.clearedAt), this.clock.now()],
      );
      afterCommit(() => this.logger.warn(`payment ${fact.paymentId} cleared in ${fact.batchId} while VOIDED: held until the channel's refusal of its void arrives`));
      return;
    }
    const row = await this.lockForFact(tx, fact.paymentId, fact.merchantId, 'CLEARED');
    if (!row) return;
    await this.clear(tx, row, fact, afterCommit);
  }

  private async clear(
    tx: EntityManager,
    row: PaymentRow,
    fact: Pick<PaymentCleared, 'batchId' | 'amountFen' | 'clearedAt'>,
    afterCommit: AfterCommit,
  ): Promise<void> {
    if (Number(row.amount_fen) !== fact.amountFen) {
      throw new PermanentFailure(`payment ${row.payment_id} is ${row.amount_fen} fen, cleared as ${fact.amountFen} fen`);
    }
    const [settled]: { settlement_date: string; settled_at: Date }[] = await tx.query(
      `SELECT settled_at FROM settled_batches WHERE batch_id = $1`,
      [fact.batchId],
    );
    const change: StatusChange = {
      next: settled ? 'SETTLED' : 'CLEARED',
      set: { batch_id: fact.batchId, cleared_at: new Date(fact.clearedAt), settled_at: settled ? settled.settled_at : null },
    };
    await this.write(tx, row, change, `cleared in ${fact.batchId}`, this.clock.now());
    afterCommit(() => this.metrics.reached(row.channel, change.next));
  }

  async applyBatchSettled(tx: EntityManager, fact: BatchSettled, afterCommit: AfterCommit): Promise<void> {
    const now = this.clock.now();
    await tx.query(
      `INSERT INTO settled_batches (batch_id, settlement_date, settled_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
      [fact.batchId, fact.settlementDate, new Date(fact.settledAt)],
    );
    // Set-based: every payment cleared into the batch, in this one transaction.
    const settled: { channel: string; payments: number }[] = await tx.query(
      `WITH settled AS (
         UPDATE payments SET status = 'SETTLED', settled_at = $2, updated_at = $3
          WHERE batch_id = $1 AND status = 'CLEARED'
          RETURNING payment_id, channel),
       changed AS (
         INSERT INTO payment_status_changes (payment_id, from_status, to_status, cause, changed_at)
         SELECT payment_id, 'CLEARED', 'SETTLED', $4, $3 FROM settled)
       SELECT channel, count(*)::int AS payments FROM settled GROUP BY channel`,
      [fact.batchId, new Date(fact.settledAt), now, `batch ${fact.batchId} settled`],
    );
    afterCommit(() => {
      for (const { channel, payments } of settled) this.metrics.reached(channel, 'SETTLED', payments);
    });
  }

  /** The payment, locked, when the fact changes it; null when it already reflects it. */
  private async lockForFact(tx: EntityManager, paymentId: string, merchantId: string, fact: LaterFact): Promise<PaymentRow | null> {
    const [row] = await queryPrepared<PaymentRow>(tx, `SELECT ${COLUMNS} FROM payments WHERE payment_id = $1 FOR UPDATE`, [paymentId]);
    // Parked rather than dropped: a fact about a payment we never recorded needs an operator.
    if (!row) throw new PermanentFailure(`${fact}: no payment ${paymentId} in this service`);
    if (row.merchant_id !== merchantId) throw new PermanentFailure(`${fact}: payment ${paymentId} belongs to another merchant`);
    const decision = decideFact(row.status, fact);
    if (decision.kind === 'refuse') throw new PermanentFailure(`${fact} for payment ${paymentId}: ${decision.reason}`);
    return decision.kind === 'apply' ? row : null;
  }

  // ---------- reads ----------

  async findById(merchantId: string, paymentId: string): Promise<PaymentView | null> {
    if (!UUID.test(paymentId)) return null;
    const [row]: PaymentRow[] = await this.dataSource.query(
      `SELECT ${COLUMNS} FROM payments WHERE payment_id = $1 AND merchant_id = $2`,
      [paymentId, merchantId],
    );
    return row ? viewOf(row) : null;
  }

  /** A page in (created_at, payment_id) order; the last row is the cursor of the next page. */
  async list(merchantId: string, query: PaymentQuery): Promise<{ rows: PaymentView[]; last?: { createdAt: string; paymentId: string } }> {
    const conditions = ['merchant_id = $1'];
    const values: unknown[] = [merchantId];
    const add = (sql: string, value: unknown) => {
      values.push(value);
      conditions.push(sql.replace('?', `$${values.length}`));
    };
    if (query.outTradeNo !== undefined) add('out_trade_no = ?', query.outTradeNo);
    if (query.businessDate !== undefined) add('business_date = ?::date', query.businessDate);
    if (query.status !== undefined) add('status = ?', query.status);
    if (query.after) {
      values.push(query.after.createdAt, query.after.paymentId);
      conditions.push(`(created_at, payment_id) > ($${values.length - 1}::timestamptz, $${values.length}::uuid)`);
    }
    values.push(query.limit + 1);
    const rows: (PaymentRow & { created_at_exact: string })[] = await this.dataSource.query(
      `SELECT ${COLUMNS}, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at_exact
         FROM payments WHERE ${conditions.join(' AND ')}
        ORDER BY created_at, payment_id LIMIT $${values.length}`,
      values,
    );
    const page = rows.slice(0, query.limit);
    const more = rows.length > query.limit;
    const tail = page[page.length - 1];
    return {
      rows: page.map(viewOf),
      ...(more && tail ? { last: { createdAt: tail.created_at_exact, paymentId: tail.payment_id } } : {}),
    };
  }
}
