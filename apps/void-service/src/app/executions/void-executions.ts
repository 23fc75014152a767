import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { ChannelName, Topics, VoidChannelRefused, VoidConfirmed, VoidExecuted } from '@pos/contracts';
import { Clock } from '@pos/business-calendar';
import { UNDO_OPERATIONS, UndoOrder, UndoOutcome } from '@pos/channel-simulator';
import { CLOCK, Outbox, OutboxMessage } from '@pos/messaging';
import { queryPrepared } from '@pos/persistence';
import { customerVoidNotice, ExecutionState, ExecutionStep, nextExecutionStep } from '@pos/void-domain';
import { VoidMetrics } from '../observability/void-metrics';
import { VoidServiceSettings } from '../void-service.config';
import { VOID_SETTINGS } from '../void-settings.token';
import { Announcement, GateAnnouncements } from './gate-announcements';
import { VOID_CHANNEL_GATEWAY, VoidChannelGateway } from './void-channel-gateway';

/** An execution taken by this instance, with what the channel needs to undo the payment. */
interface ClaimedExecution {
  void_id: string;
  merchant_id: string;
  payment_id: string;
  batch_id: string;
  channel: ChannelName;
  /** Calls made so far, this one included (counted when taken). */
  attempts: number;
  out_trade_no: string;
  amount_fen: string;
  card_batch_no: string | null;
  card_voucher_no: string | null;
  decided_at: Date;
}

type FinalStep = Extract<ExecutionStep, { kind: 'EXECUTED' | 'CHANNEL_REFUSED' }>;

/** The execution of an accepted void as `GET /v1/voids/{id}` shows it. */
export interface ExecutionView {
  readonly state: ExecutionState;
  readonly attempts: number;
  readonly lastOutcome?: string;
  readonly channelCode?: string;
  readonly channelReference?: string;
  readonly nextAttemptAt?: string;
  readonly executedAt?: string;
  readonly refusedAt?: string;
}

interface ExecutionRow {
  state: ExecutionState;
  attempts: number;
  last_outcome: string | null;
  channel_code: string | null;
  channel_reference: string | null;
  next_attempt_at: Date;
  finished_at: Date | null;
}

/** The gate moved from OPEN to CLOSED while the executor waited for its share lock: lock it again, exclusively. */
const GATE_CLOSED_MEANWHILE = Symbol('gate closed meanwhile');

/**
 * Executes accepted voids at their channel (ADR 0008). Safe on every instance at once: executions
 * are taken with `FOR UPDATE SKIP LOCKED` and leased (`next_attempt_at` moved past the call), the
 * channel is called outside any transaction, and the final answer is written only onto a
 * still-PENDING row, so a call repeated after a lease ran out (idempotent at the channel) changes
 * nothing twice.
 *
 * A final answer is written in one transaction with its events, under the lock of the batch's gate:
 * a share lock while the gate is open (the closing, which takes it exclusively, then comes after and
 * sees this execution final), an exclusive one once it is closed, so that the last execution of a
 * closed batch, and only that one, writes `pos.void.gate-closed` after its own event.
 */
@Injectable()
export class VoidExecutions {
  private readonly logger = new Logger('VoidExecutions');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly outbox: Outbox,
    private readonly gates: GateAnnouncements,
    private readonly metrics: VoidMetrics,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(VOID_SETTINGS) private readonly settings: VoidServiceSettings,
    @Inject(VOID_CHANNEL_GATEWAY) private readonly gateway: VoidChannelGateway,
  ) {}

  /** Takes up to a batch of due executions and calls their channels side by side; resolves to how many it took. */
  async executeDue(): Promise<number> {
    const claimed = await this.claim();
    await Promise.all(claimed.map((execution) => this.execute(execution)));
    return claimed.length;
  }

  /** The execution of a void, if it was accepted (voids accepted before executions existed have none). */
  async viewOf(voidId: string): Promise<ExecutionView | undefined> {
    const [row] = await queryPrepared<ExecutionRow>(
      this.dataSource.manager,
      `SELECT state, attempts, last_outcome, channel_code, channel_reference, next_attempt_at, finished_at FROM void_executions WHERE void_id = $1`,
      [voidId],
    );
    if (!row) return undefined;
    return {
      state: row.state,
      attempts: row.attempts,
      ...(row.last_outcome ? { lastOutcome: row.last_outcome } : {}),
      ...(row.channel_code ? { channelCode: row.channel_code } : {}),
      ...(row.channel_reference ? { channelReference: row.channel_reference } : {}),
      ...(row.state === 'PENDING' ? { nextAttemptAt: row.next_attempt_at.toISOString() } : {}),
      ...(row.state === 'EXECUTED' && row.finished_at ? { executedAt: row.finished_at.toISOString() } : {}),
      ...(row.state === 'CHANNEL_REFUSED' && row.finished_at ? { refusedAt: row.finished_at.toISOString() } : {}),
    };
  }

  private async claim(): Promise<ClaimedExecution[]> {
    const now = this.clock.now();
    const { batchSize, leaseMs } = this.settings.execution;
    return queryPrepared<ClaimedExecution>(
      this.dataSource.manager,
      `WITH taken AS (
         UPDATE void_executions SET attempts = attempts + 1, last_attempt_at = $1, next_attempt_at = $2
          WHERE void_id IN (SELECT void_id FROM void_executions WHERE state = 'PENDING' AND next_attempt_at <= $1
                             ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
            AND state = 'PENDING'
          RETURNING void_id, merchant_id, payment_id, batch_id, channel, attempts)
       SELECT t.void_id, t.merchant_id, t.payment_id, t.batch_id, t.channel, t.attempts,
              p.out_trade_no, p.amount_fen, p.card_batch_no, p.card_voucher_no, d.decided_at
         FROM taken t JOIN payment_facts p USING (payment_id) JOIN void_decisions d USING (void_id)`,
      [now, new Date(now.getTime() + leaseMs), batchSize],
    );
  }

  private async execute(execution: ClaimedExecution): Promise<void> {
    const order: UndoOrder = {
      paymentId: execution.payment_id,
      channel: execution.channel,
      outTradeNo: execution.out_trade_no,
      amountFen: Number(execution.amount_fen),
      ...(execution.card_batch_no && execution.card_voucher_no ? { card: { batchNo: execution.card_batch_no, voucherNo: execution.card_voucher_no } } : {}),
    };
    try {
      let outcome: UndoOutcome;
      try {
        outcome = await this.gateway.undo(order, execution.attempts);
      } catch (error) {
        // A call that failed on our side (connection refused...) is a call without an answer.
        this.logger.warn(`void ${execution.void_id}: the ${execution.channel} call failed, retried: ${String(error)}`);
        outcome = { kind: 'TIMEOUT' };
      }
      this.metrics.channelCalled(execution.channel, outcome);
      const step = nextExecutionStep(outcome, execution.attempts, this.settings.execution.backoff);
      if (step.kind === 'RETRY') await this.retryLater(execution, step);
      else await this.finish(execution, step);
    } catch (error) {
      // The lease brings it back: the next executor calls the channel again, which is safe.
      this.logger.warn(`void ${execution.void_id}: execution not recorded, retried after its lease: ${String(error)}`);
    }
  }

  private async retryLater(execution: ClaimedExecution, step: Extract<ExecutionStep, { kind: 'RETRY' }>): Promise<void> {
    const at = new Date(this.clock.now().getTime() + step.delayMs);
    const [gate] = await queryPrepared<{ status: string }>(
      this.dataSource.manager,
      `WITH retried AS (
         UPDATE void_executions SET next_attempt_at = $2, last_outcome = $3 WHERE void_id = $1 AND state = 'PENDING')
       SELECT status FROM void_gates WHERE batch_id = $4`,
      [execution.void_id, at, step.outcome, execution.batch_id],
    );
    if (gate?.status === 'CLOSED') {
      this.logger.warn(
        `batch ${execution.batch_id} waits in CLOSING for void ${execution.void_id}: ${execution.channel} answered ${step.outcome} ` +
          `to call ${execution.attempts}, next call at ${at.toISOString()}`,
      );
    }
  }

  private async finish(execution: ClaimedExecution, step: FinalStep): Promise<void> {
    for (;;) {
      const result = await this.dataSource.transaction((tx) => this.finishUnderGateLock(tx, execution, step));
      if (result === GATE_CLOSED_MEANWHILE) continue;
      if (result === undefined) return;
      this.metrics.executionFinished(execution.channel, step.kind);
      if (result.announced) {
        this.logger.log(`batch ${execution.batch_id}: every void execution is final, gate-closed announced (${result.acceptedVoids} executed, ${result.refusedVoids} refused)`);
      }
      if (step.kind === 'CHANNEL_REFUSED') {
        this.logger.warn(`void ${execution.void_id} of payment ${execution.payment_id}: ${execution.channel} refused it for good (${step.code}); the payment is cleared, refund it`);
      }
      return;
    }
  }

  /** Undefined when another executor recorded this execution's final answer first. */
  private async finishUnderGateLock(
    tx: EntityManager,
    execution: ClaimedExecution,
    step: FinalStep,
  ): Promise<Announcement | { announced: false } | undefined | typeof GATE_CLOSED_MEANWHILE> {
    const [seen] = await queryPrepared<{ status: string }>(tx, `SELECT status FROM void_gates WHERE batch_id = $1`, [execution.batch_id]);
    const exclusive = seen?.status === 'CLOSED';
    const [gate] = await queryPrepared<{ status: string; announced_at: Date | null; closed_at: Date | null }>(
      tx,
      `SELECT status, announced_at, closed_at FROM void_gates WHERE batch_id = $1 FOR ${exclusive ? 'UPDATE' : 'SHARE'}`,
      [execution.batch_id],
    );
    if (!gate) throw new Error(`void ${execution.void_id}: no gate ${execution.batch_id}, although the void was accepted under it`);
    if (!exclusive && gate.status === 'CLOSED') return GATE_CLOSED_MEANWHILE;
    const now = this.clock.now();
    const refused = step.kind === 'CHANNEL_REFUSED';
    const [recorded] = await queryPrepared<{ void_id: string }>(
      tx,
      `UPDATE void_executions SET state = $2, finished_at = $3, last_outcome = $4, channel_code = $5, channel_reference = $6
        WHERE void_id = $1 AND state = 'PENDING' RETURNING void_id`,
      [execution.void_id, step.kind, now, refused ? step.code : 'SUCCESS', refused ? step.code : null, refused ? null : step.channelReference],
    );
    if (!recorded) return undefined;
    if (refused) {
      // The payment is not voided after all: clearing keeps it in its batch, and a later void is refused.
      await queryPrepared(
        tx,
        `UPDATE payment_facts SET voided_by = NULL, void_refused_by = $1, updated_at = $3 WHERE payment_id = $2 AND voided_by = $1`,
        [execution.void_id, execution.payment_id, now],
      );
    }
    await this.outbox.append(tx, this.eventsOf(execution, step, now));
    if (!exclusive || gate.announced_at !== null || !gate.closed_at) return { announced: false };
    return this.gates.announceIfSettled(tx, { batchId: execution.batch_id, merchantId: execution.merchant_id, closedAt: gate.closed_at }, now);
  }

  private eventsOf(execution: ClaimedExecution, step: FinalStep, now: Date): OutboxMessage[] {
    const common = {
      voidId: execution.void_id,
      paymentId: execution.payment_id,
      merchantId: execution.merchant_id,
      batchId: execution.batch_id,
      channel: execution.channel,
      operation: UNDO_OPERATIONS[execution.channel],
      attempts: execution.attempts,
    };
    const amountFen = Number(execution.amount_fen);
    const message = (type: string, data: unknown): OutboxMessage => ({ topic: Topics.voidEvents, type, key: execution.merchant_id, subject: execution.payment_id, data });
    if (step.kind === 'CHANNEL_REFUSED') {
      const refused: VoidChannelRefused = {
        ...common,
        outTradeNo: execution.out_trade_no,
        amountFen,
        decidedAt: execution.decided_at.toISOString(),
        channelCode: step.code,
        refusedAt: now.toISOString(),
        remedy: 'REFUND',
        message: step.message,
      };
      return [message('pos.void.channel-refused', refused)];
    }
    const executed: VoidExecuted = { ...common, channelReference: step.channelReference, executedAt: now.toISOString() };
    const confirmed: VoidConfirmed = {
      voidId: execution.void_id,
      paymentId: execution.payment_id,
      merchantId: execution.merchant_id,
      channel: execution.channel,
      amountFen,
      confirmedAt: now.toISOString(),
      customerMessage: customerVoidNotice({ channel: execution.channel, amountFen, outTradeNo: execution.out_trade_no }),
    };
    return [message('pos.void.executed', executed), message('pos.void.confirmed', confirmed)];
  }
}
