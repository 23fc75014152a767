import { Controller, Inject, Logger } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { EntityManager } from 'typeorm';
import {
  BatchClosing,
  BatchOpened,
  PaymentCleared,
  PaymentFailed,
  PaymentPending,
  PaymentReversed,
  PaymentSucceeded,
  Topics,
  VoidRequested,
} from '@pos/contracts';
import { Clock } from '@pos/business-calendar';
import {
  AfterCommit,
  CLOCK,
  ConsumerGroup,
  EventBatchContext,
  EventBatchPattern,
  EventContext,
  PermanentFailure,
  TRANSACTIONAL_BATCH_SIZE,
} from '@pos/messaging';
import { queryPrepared } from '@pos/persistence';
import { UnreferencedVoid, VoidDecisions } from '../decisions/void-decisions';
import { GateAnnouncements } from '../executions/gate-announcements';
import { VoidMetrics } from '../observability/void-metrics';

type PaymentEvent = PaymentSucceeded | PaymentPending | PaymentFailed | PaymentReversed;

/**
 * What the void service learns from Kafka, each event applied once (inbox): payment facts, here;
 * clearing's batch openings, closings and cleared payments; and void commands from upstream.
 * Every effect of these handlers is in the transaction: several events may share one (not
 * gathered: a void may follow its payment within moments).
 */
@Controller()
@ConsumerGroup({ groupId: 'void-service.payments', topics: [Topics.paymentEvents], batchSize: TRANSACTIONAL_BATCH_SIZE })
export class VoidPaymentFactsController {
  @EventPattern('pos.payment.pending')
  paymentPending(@Payload() p: PaymentPending, @Ctx() context: EventContext): Promise<void> {
    return this.recordPayment(context.manager, p, 'PENDING', p.pendingSince);
  }

  @EventPattern('pos.payment.succeeded')
  paymentSucceeded(@Payload() p: PaymentSucceeded, @Ctx() context: EventContext): Promise<void> {
    return this.recordPayment(context.manager, p, 'SUCCEEDED', p.succeededAt);
  }

  @EventPattern('pos.payment.failed')
  paymentFailed(@Payload() p: PaymentFailed, @Ctx() context: EventContext): Promise<void> {
    return this.recordPayment(context.manager, p, 'FAILED', p.failedAt);
  }

  @EventPattern('pos.payment.reversed')
  paymentReversed(@Payload() p: PaymentReversed, @Ctx() context: EventContext): Promise<void> {
    return this.recordPayment(context.manager, p, 'REVERSED', p.reversedAt);
  }

  /**
   * Status only moves forward: PENDING → SUCCEEDED | FAILED, and anything → REVERSED (冲正 undoes the
   * payment). Events arriving late or twice never move it back. The order time is the earliest seen.
   */
  private async recordPayment(tx: EntityManager, p: PaymentEvent, status: 'PENDING' | 'SUCCEEDED' | 'FAILED' | 'REVERSED', at: string): Promise<void> {
    const [owner] = await queryPrepared<{ merchant_id: string }>(tx, `SELECT merchant_id FROM payment_facts WHERE payment_id = $1 FOR UPDATE`, [
      p.paymentId,
    ]);
    if (owner && owner.merchant_id !== p.merchantId) {
      throw new PermanentFailure(`payment ${p.paymentId} belongs to another merchant than this event says`);
    }
    const precedence = `CASE payment_facts.status WHEN 'PENDING' THEN 0 WHEN 'SUCCEEDED' THEN 1 WHEN 'FAILED' THEN 1 ELSE 2 END`;
    const incoming = status === 'PENDING' ? 0 : status === 'REVERSED' ? 2 : 1;
    const succeededAt = status === 'SUCCEEDED' ? new Date(at) : undefined;
    await queryPrepared(
      tx,
      `INSERT INTO payment_facts (payment_id, merchant_id, terminal_id, channel, amount_fen, out_trade_no, card_batch_no,
         card_voucher_no, status, order_created_at, succeeded_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (payment_id) DO UPDATE SET
         status = CASE WHEN $12 > ${precedence} THEN EXCLUDED.status ELSE payment_facts.status END,
         succeeded_at = COALESCE(payment_facts.succeeded_at, EXCLUDED.succeeded_at),
         order_created_at = LEAST(payment_facts.order_created_at, EXCLUDED.order_created_at),
         updated_at = now()`,
      [
        p.paymentId,
        p.merchantId,
        p.terminalId,
        p.channel,
        p.amountFen,
        p.outTradeNo,
        p.card?.batchNo ?? null,
        p.card?.voucherNo ?? null,
        status,
        new Date(at),
        succeededAt ?? null,
        incoming,
      ],
    );
  }
}

/**
 * Clearing's batch openings and closings and its cleared payments. Batched like the payment facts,
 * their metrics and alerts after the commit: a closing brings one payment.cleared per payment of
 * the batch (a million for the largest), and a closing waits for no gathering.
 */
@Controller()
@ConsumerGroup({ groupId: 'void-service.clearing', topics: [Topics.clearingEvents], batchSize: TRANSACTIONAL_BATCH_SIZE })
export class VoidClearingController {
  private readonly logger = new Logger('VoidClearingController');

  constructor(
    private readonly gates: GateAnnouncements,
    private readonly metrics: VoidMetrics,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @EventPattern('pos.clearing.batch.opened')
  batchOpened(@Payload() opened: BatchOpened, @Ctx() context: EventContext): Promise<void> {
    return this.openGate(context.manager, opened);
  }

  @EventPattern('pos.clearing.batch.closing')
  batchClosing(@Payload() closing: BatchClosing, @Ctx() context: EventContext): Promise<void> {
    return this.closeGate(context.manager, closing, context.afterCommit);
  }

  @EventBatchPattern('pos.clearing.payment.cleared')
  paymentsCleared(@Payload() cleared: PaymentCleared[], @Ctx() context: EventBatchContext): Promise<void> {
    return this.recordCleared(context.manager, cleared, context.afterCommit);
  }

  /**
   * ADR 0005: clearing names each batch and its window; a void finds its payment's gate by the
   * payment's success time. A gate a closing created first (it cannot, in partition order, but a
   * replay may) keeps what the closing set.
   */
  private async openGate(tx: EntityManager, opened: BatchOpened): Promise<void> {
    await tx.query(
      `INSERT INTO void_gates (batch_id, merchant_id, channel, terminal_id, batch_no, opens_at, closes_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (batch_id) DO UPDATE SET opens_at = EXCLUDED.opens_at, terminal_id = EXCLUDED.terminal_id, batch_no = EXCLUDED.batch_no
        WHERE void_gates.opens_at IS NULL AND void_gates.merchant_id = EXCLUDED.merchant_id`,
      [opened.batchId, opened.merchantId, opened.channel, opened.terminalId ?? null, opened.batchNo ?? null, new Date(opened.opensAt), new Date(opened.closesAt)],
    );
  }

  /**
   * ADR 0002, step 3: under the gate's row lock, so every void accepted before is committed (and
   * earlier in the outbox) and none can be accepted after. The gate-closed event follows now if
   * every void accepted for the batch has a final execution at its channel, else the executor
   * writes it with the last one (ADR 0008). An already closed gate answered before (or will, from
   * the executor), so nothing is emitted twice.
   */
  private async closeGate(tx: EntityManager, closing: BatchClosing, afterCommit: AfterCommit): Promise<void> {
    await tx.query(
      `INSERT INTO void_gates (batch_id, merchant_id, channel, closes_at) VALUES ($1, $2, $3, $4) ON CONFLICT (batch_id) DO NOTHING`,
      [closing.batchId, closing.merchantId, closing.channel, new Date(closing.cutoffAt)],
    );
    const [gate]: { status: string; merchant_id: string }[] = await tx.query(
      `SELECT status, merchant_id FROM void_gates WHERE batch_id = $1 FOR UPDATE`,
      [closing.batchId],
    );
    if (gate.merchant_id !== closing.merchantId) throw new PermanentFailure(`batch ${closing.batchId} belongs to another merchant`);
    if (gate.status === 'CLOSED') return;
    const closedAt = this.clock.now();
    // A terminal settlement (结算) cuts the batch's window at its instant: later payments are its successor's.
    await tx.query(
      `UPDATE void_gates SET status = 'CLOSED', close_reason = $2, closed_at = $3, closes_at = LEAST(closes_at, $4) WHERE batch_id = $1`,
      [closing.batchId, closing.reason, closedAt, new Date(closing.cutoffAt)],
    );
    const announcement = await this.gates.announceIfSettled(tx, { batchId: closing.batchId, merchantId: closing.merchantId, closedAt }, closedAt);
    afterCommit(() => {
      this.metrics.gateClosed(closing.reason);
      if (!announcement.announced) {
        this.logger.warn(
          `batch ${closing.batchId}: gate closed, gate-closed waits for ${announcement.pendingExecutions} void execution(s) at the channel; ` +
            'the batch stays CLOSING until they are final (docs/operations.md, "A channel does not answer voids")',
        );
      }
    });
  }

  /**
   * A closing brings one payment.cleared per payment of the batch: a run of them is recorded, and
   * their payments looked at for an accepted void, in one statement.
   */
  private async recordCleared(tx: EntityManager, cleared: readonly PaymentCleared[], afterCommit: AfterCommit): Promise<void> {
    const voided = await queryPrepared<{ payment_id: string; voided_by: string }>(
      tx,
      `WITH recorded AS (
         INSERT INTO cleared_payments (payment_id, merchant_id, batch_id, cleared_at)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[]) ON CONFLICT (payment_id) DO NOTHING)
       SELECT payment_id, voided_by FROM payment_facts WHERE payment_id = ANY($1::uuid[]) AND voided_by IS NOT NULL`,
      [cleared.map((c) => c.paymentId), cleared.map((c) => c.merchantId), cleared.map((c) => c.batchId), cleared.map((c) => new Date(c.clearedAt))],
    );
    for (const { payment_id, voided_by } of voided) {
      const batchId = cleared.find((c) => c.paymentId === payment_id)?.batchId;
      // Invariant 1 broken: ADR 0002 says this cannot happen; if it does, someone must look now.
      afterCommit(() => {
        this.metrics.invariantViolation();
        this.logger.error(`payment ${payment_id} was cleared in ${batchId} although void ${voided_by} was accepted`);
      });
    }
  }
}

/** Void commands from upstream: one decision per transaction, as over HTTP, so its payment's row lock is held for that decision only. */
@Controller()
@ConsumerGroup({ groupId: 'void-service.commands', topics: [Topics.voidCommands] })
export class VoidCommandsController {
  constructor(
    private readonly decisions: VoidDecisions,
    private readonly metrics: VoidMetrics,
  ) {}

  @EventPattern('pos.void.requested')
  voidRequested(@Payload() command: VoidRequested, @Ctx() context: EventContext): Promise<void> {
    return this.decideCommand(context.manager, command, context.afterCommit);
  }

  private async decideCommand(tx: EntityManager, command: VoidRequested, afterCommit: AfterCommit): Promise<void> {
    const started = process.hrtime.bigint();
    try {
      const outcome = await this.decisions.decide(tx, command, 'KAFKA');
      // Its latency, like HTTP's, runs to the commit of the decision and its events.
      afterCommit(() => this.metrics.decided(outcome, 'KAFKA', started));
    } catch (error) {
      if (error instanceof UnreferencedVoid) throw new PermanentFailure(error.message);
      throw error;
    }
  }
}
