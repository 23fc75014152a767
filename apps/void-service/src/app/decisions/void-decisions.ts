import { Inject, Injectable } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { EntityManager } from 'typeorm';
import { ChannelName, Remedy, Topics, VoidAccepted, VoidConfirmed, VoidRejected, VoidRejectionReason, VoidRequested } from '@pos/contracts';
import { businessDateOf, Clock } from '@pos/business-calendar';
import { CLOCK, Outbox, OutboxMessage } from '@pos/messaging';
import { queryPrepared } from '@pos/persistence';
import { BatchKey, batchKeyOf } from '@pos/settlement-batches';
import {
  canonicalVoidRequest,
  customerVoidNotice,
  decideVoid,
  GateFacts,
  PaymentFacts,
  PaymentStatus,
  REASON_MESSAGES,
  VoidDecision,
} from '@pos/void-domain';
import { checkSupervisor, VoidServiceSettings } from '../void-service.config';
import { VOID_SETTINGS } from '../void-settings.token';

export type VoidCommand = VoidRequested;
export type DecisionSource = 'HTTP' | 'KAFKA';

/** A stored decision as the API shows it; a replay returns exactly the same object. */
export interface VoidDecisionView {
  readonly voidId: string;
  readonly idempotencyKey: string;
  readonly merchantId: string;
  readonly terminalId: string;
  readonly decision: 'ACCEPTED' | 'REJECTED';
  readonly reason?: VoidRejectionReason;
  readonly remedy: Remedy;
  readonly deadline?: string;
  readonly paymentId?: string;
  readonly outTradeNo?: string;
  readonly channel?: ChannelName;
  readonly batchId?: string;
  readonly amountFen: number;
  readonly decidedAt: string;
  readonly message: string;
  /** For MODIFIED_REQUEST: the decision that owns the idempotency key. */
  readonly originalVoidId?: string;
}

export interface DecisionOutcome {
  readonly view: VoidDecisionView;
  /** True when the key had been decided before and the stored decision is returned. */
  readonly replayed: boolean;
}

export interface DecisionRow {
  void_id: string;
  merchant_id: string;
  idempotency_key: string;
  payload_hash: string;
  terminal_id: string;
  requested_amount_fen: string;
  requested_payment_id: string | null;
  requested_out_trade_no: string | null;
  payment_id: string | null;
  out_trade_no: string | null;
  channel: ChannelName | null;
  batch_id: string | null;
  decision: 'ACCEPTED' | 'REJECTED';
  reason: VoidRejectionReason | null;
  remedy: Remedy;
  message: string;
  deadline: Date | null;
  decided_at: Date;
  original_void_id: string | null;
}

interface PaymentRow {
  payment_id: string;
  merchant_id: string;
  terminal_id: string;
  channel: ChannelName;
  amount_fen: string;
  out_trade_no: string;
  card_batch_no: string | null;
  card_voucher_no: string | null;
  status: PaymentStatus;
  order_created_at: Date;
  succeeded_at: Date | null;
  voided_by: string | null;
  batch_id: string | null;
  cleared: boolean;
  gate_status: 'OPEN' | 'CLOSED' | null;
  gate_close_reason: 'CUTOFF' | 'TERMINAL_SETTLEMENT' | null;
  gate_closes_at: Date | null;
}

export const DECISION_COLUMNS = `void_id, merchant_id, idempotency_key, payload_hash, terminal_id, requested_amount_fen,
  requested_payment_id, requested_out_trade_no, payment_id, out_trade_no, channel, batch_id, decision, reason, remedy,
  message, deadline, decided_at, original_void_id`;

export function viewOf(row: DecisionRow): VoidDecisionView {
  const paymentId = row.payment_id ?? row.requested_payment_id;
  const outTradeNo = row.out_trade_no ?? row.requested_out_trade_no;
  return {
    voidId: row.void_id,
    idempotencyKey: row.idempotency_key,
    merchantId: row.merchant_id,
    terminalId: row.terminal_id,
    decision: row.decision,
    ...(row.reason ? { reason: row.reason } : {}),
    remedy: row.remedy,
    ...(row.deadline ? { deadline: row.deadline.toISOString() } : {}),
    ...(paymentId ? { paymentId } : {}),
    ...(outTradeNo ? { outTradeNo } : {}),
    ...(row.channel ? { channel: row.channel } : {}),
    ...(row.batch_id ? { batchId: row.batch_id } : {}),
    amountFen: Number(row.requested_amount_fen),
    decidedAt: row.decided_at.toISOString(),
    message: row.message,
    ...(row.original_void_id ? { originalVoidId: row.original_void_id } : {}),
  };
}

function factsOf(row: PaymentRow): PaymentFacts {
  return {
    paymentId: row.payment_id,
    merchantId: row.merchant_id,
    terminalId: row.terminal_id,
    channel: row.channel,
    amountFen: Number(row.amount_fen),
    outTradeNo: row.out_trade_no,
    status: row.status,
    orderCreatedAt: row.order_created_at,
    ...(row.succeeded_at ? { succeededAt: row.succeeded_at } : {}),
    ...(row.card_batch_no && row.card_voucher_no ? { card: { batchNo: row.card_batch_no, voucherNo: row.card_voucher_no } } : {}),
    ...(row.voided_by ? { voidedBy: row.voided_by } : {}),
    cleared: row.cleared,
  };
}

/** Thrown for a command that names no payment: a validation error over HTTP, a dead letter over Kafka. */
export class UnreferencedVoid extends Error {}

/**
 * How often a void is decided again because the facts it was decided on changed before it was
 * stored. Each retry needs another void, a closing or a reversal of the same payment to commit in
 * between, and those only move forward, so a handful is plenty.
 */
const MAX_ATTEMPTS = 5;

/**
 * The I/O shell around `decideVoid`. Two statements, and no transaction around them:
 *
 * 1. read the payment, whether it was cleared, and the gate of its batch (ADR 0002);
 * 2. decide with the clock, then store the decision, the payment's mark and the events in one
 *    statement. For an acceptance that statement first re-checks, under the payment's row lock and
 *    the gate's share lock, that the facts it was decided on still hold (payment succeeded and not
 *    voided, not cleared, gate open); if they do not, the void is decided again on the new facts.
 *
 * Exactly once comes from the unique index on (merchant, idempotency key): a key already decided,
 * or being decided by a concurrent duplicate (the insert waits for it), makes the insert do nothing,
 * and the stored decision is returned, or MODIFIED_REQUEST if the payload differs.
 */
@Injectable()
export class VoidDecisions {
  constructor(
    private readonly outbox: Outbox,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(VOID_SETTINGS) private readonly settings: VoidServiceSettings,
  ) {}

  /** The batch a succeeded payment clears in, by the configured channel schedules. */
  batchOf(payment: { merchantId: string; terminalId: string; channel: ChannelName; succeededAt: Date; cardBatchNo?: string }): BatchKey {
    return batchKeyOf(payment, this.settings.clearingSchedules);
  }

  /** `db` is a transaction (Kafka: the consumer's inbox transaction) or the data source's manager (HTTP). */
  async decide(db: EntityManager, command: VoidCommand, source: DecisionSource): Promise<DecisionOutcome> {
    if (!command.paymentId && !command.outTradeNo) throw new UnreferencedVoid('a void must name the payment: paymentId or outTradeNo');
    const payloadHash = createHash('sha256')
      .update(
        canonicalVoidRequest({
          merchantId: command.merchantId,
          terminalId: command.terminalId,
          paymentId: command.paymentId,
          outTradeNo: command.outTradeNo,
          amountFen: command.amountFen,
          operatorId: command.operatorId,
          card: command.card,
          supervisorOperatorId: command.supervisor?.operatorId,
        }),
      )
      .digest('hex');
    const supervisor = checkSupervisor(this.settings.supervisorCredentials, command.merchantId, command.supervisor);

    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const row = await this.readPayment(db, command);
      const payment = row ? factsOf(row) : undefined;
      let gate: GateFacts | undefined;
      if (row && payment?.status === 'SUCCEEDED' && payment.succeededAt) {
        const key = this.batchOf({ ...payment, succeededAt: payment.succeededAt, cardBatchNo: payment.card?.batchNo });
        if (row.batch_id !== key.batchId || row.gate_status === null || row.gate_closes_at === null) {
          await this.openGate(db, key, payment.paymentId);
          continue;
        }
        // A gate created by an early batch.closing carries clearing's cutoff; the payment's own window never ends later.
        const closesAt = row.gate_closes_at.getTime() < key.window.closesAt.getTime() ? row.gate_closes_at : key.window.closesAt;
        gate = { batchId: key.batchId, status: row.gate_status, closesAt, ...(row.gate_close_reason ? { closeReason: row.gate_close_reason } : {}) };
      }
      const decision = decideVoid(
        { merchantId: command.merchantId, terminalId: command.terminalId, amountFen: command.amountFen, card: command.card, supervisor },
        payment,
        gate,
        this.settings.voidRules,
        this.clock.now(),
      );
      const stored = await this.store(db, command, source, payloadHash, payment, gate, decision);
      if (stored.kind === 'stored') return { view: stored.view, replayed: false };
      if (stored.kind === 'facts-changed') continue;
      const [existing] = await queryPrepared<DecisionRow>(
        db,
        `SELECT ${DECISION_COLUMNS} FROM void_decisions
         WHERE merchant_id = $1 AND idempotency_key = $2 AND reason IS DISTINCT FROM 'MODIFIED_REQUEST'`,
        [command.merchantId, command.idempotencyKey],
      );
      if (existing.payload_hash === payloadHash) return { view: viewOf(existing), replayed: true };
      const modified = await this.store(db, command, source, payloadHash, undefined, undefined, this.modified(), existing.void_id);
      if (modified.kind !== 'stored') throw new Error('a MODIFIED_REQUEST answer owns no key, so it is always stored');
      return { view: modified.view, replayed: false };
    }
    throw new Error(`void ${command.merchantId}/${command.idempotencyKey}: its payment's facts changed under each of ${MAX_ATTEMPTS} attempts`);
  }

  private modified(): VoidDecision {
    return { decision: 'REJECTED', reason: 'MODIFIED_REQUEST', remedy: 'CORRECT_REQUEST', message: REASON_MESSAGES.MODIFIED_REQUEST };
  }

  /**
   * The payment with what the void is decided on: cleared or not, and its batch's gate. Only the
   * merchant's own payments are looked at: another merchant's is simply not found.
   */
  private async readPayment(db: EntityManager, command: VoidCommand): Promise<PaymentRow | undefined> {
    const conditions = ['p.merchant_id = $1'];
    const values: unknown[] = [command.merchantId];
    if (command.paymentId) {
      values.push(command.paymentId);
      conditions.push(`p.payment_id = $${values.length}`);
    }
    if (command.outTradeNo) {
      values.push(command.outTradeNo);
      conditions.push(`p.out_trade_no = $${values.length}`);
    }
    // An out_trade_no reused after a failed attempt names the succeeded payment first.
    const rows = await queryPrepared<PaymentRow>(
      db,
      `SELECT p.payment_id, p.merchant_id, p.terminal_id, p.channel, p.amount_fen, p.out_trade_no, p.card_batch_no, p.card_voucher_no,
         p.status, p.order_created_at, p.succeeded_at, p.voided_by, p.batch_id,
         EXISTS (SELECT 1 FROM cleared_payments c WHERE c.payment_id = p.payment_id) AS cleared,
         g.status AS gate_status, g.close_reason AS gate_close_reason, g.closes_at AS gate_closes_at
       FROM payment_facts p LEFT JOIN void_gates g ON g.batch_id = p.batch_id
       WHERE ${conditions.join(' AND ')}
       ORDER BY (p.status = 'SUCCEEDED') DESC, p.order_created_at DESC LIMIT 1`,
      values,
    );
    return rows[0];
  }

  /**
   * The first void of a batch opens its gate; the payment then names that batch (payments recorded
   * before batch ids were kept get theirs here).
   */
  private async openGate(db: EntityManager, key: BatchKey, paymentId: string): Promise<void> {
    await db.query(
      `WITH gate AS (
         INSERT INTO void_gates (batch_id, merchant_id, channel, closes_at) VALUES ($1, $2, $3, $4) ON CONFLICT (batch_id) DO NOTHING)
       UPDATE payment_facts SET batch_id = $1, updated_at = now() WHERE payment_id = $5 AND batch_id IS DISTINCT FROM $1`,
      [key.batchId, key.merchantId, key.channel, key.window.closesAt, paymentId],
    );
  }

  private async store(
    db: EntityManager,
    command: VoidCommand,
    source: DecisionSource,
    payloadHash: string,
    payment: PaymentFacts | undefined,
    gate: GateFacts | undefined,
    decision: VoidDecision,
    originalVoidId?: string,
  ): Promise<{ kind: 'stored'; view: VoidDecisionView } | { kind: 'key-taken' } | { kind: 'facts-changed' }> {
    const voidId = randomUUID();
    const decidedAt = this.clock.now();
    // Facts of a payment are echoed only when it is this merchant's (it is never looked up otherwise).
    const known = payment && payment.merchantId === command.merchantId ? payment : undefined;
    const accepting = decision.decision === 'ACCEPTED' && known !== undefined;
    const row: DecisionRow = {
      void_id: voidId,
      merchant_id: command.merchantId,
      idempotency_key: command.idempotencyKey,
      payload_hash: payloadHash,
      terminal_id: command.terminalId,
      requested_amount_fen: String(command.amountFen),
      requested_payment_id: command.paymentId ?? null,
      requested_out_trade_no: command.outTradeNo ?? null,
      payment_id: known?.paymentId ?? null,
      out_trade_no: known?.outTradeNo ?? null,
      channel: known?.channel ?? null,
      batch_id: gate?.batchId ?? null,
      decision: decision.decision,
      reason: decision.decision === 'REJECTED' ? decision.reason : null,
      remedy: decision.remedy,
      message: decision.message,
      deadline: decision.deadline ?? null,
      decided_at: decidedAt,
      original_void_id: originalVoidId ?? null,
    };
    const view = viewOf(row);
    const values: unknown[] = [
      voidId,
      command.merchantId,
      command.idempotencyKey,
      payloadHash,
      source,
      command.terminalId,
      command.operatorId,
      command.supervisor?.operatorId ?? null,
      row.requested_payment_id,
      row.requested_out_trade_no,
      command.amountFen,
      row.payment_id,
      row.out_trade_no,
      row.channel,
      row.batch_id,
      row.decision,
      row.reason,
      row.remedy,
      row.message,
      row.deadline,
      decidedAt,
      businessDateOf(decidedAt),
      row.original_void_id,
    ];
    const events = this.outbox.insert(this.eventsOf(view, decision, known, gate), {
      firstParameter: values.length + 1,
      onlyIf: 'EXISTS (SELECT 1 FROM decided)',
    });
    // An acceptance holds only while its facts do: the payment (locked) still succeeded, unvoided,
    // uncleared and in this batch, and the gate (shared with other voids, exclusive to the closing)
    // still open. A rejection rests on facts that only move forward, so it stands as decided.
    const guards = accepting
      ? `payment AS (
           SELECT p.payment_id FROM payment_facts p
           WHERE p.payment_id = $12 AND p.status = 'SUCCEEDED' AND p.voided_by IS NULL AND p.batch_id = $15
             AND NOT EXISTS (SELECT 1 FROM cleared_payments c WHERE c.payment_id = p.payment_id)
           FOR UPDATE OF p),
         gate AS (SELECT batch_id FROM void_gates WHERE batch_id = $15 AND status = 'OPEN' FOR SHARE),`
      : '';
    const mark = accepting ? 'marked AS (UPDATE payment_facts SET voided_by = $1, updated_at = now() WHERE payment_id = $12 AND EXISTS (SELECT 1 FROM decided)),' : '';
    const holds = accepting ? 'EXISTS (SELECT 1 FROM payment) AND EXISTS (SELECT 1 FROM gate)' : 'true';
    // The decision, the payment's mark and the events: one statement, one round trip.
    const [result] = await queryPrepared<{ holds: boolean; stored: boolean }>(
      db,
      `WITH ${guards}
       decided AS (
         INSERT INTO void_decisions (void_id, merchant_id, idempotency_key, payload_hash, source, terminal_id, operator_id,
           supervisor_operator_id, requested_payment_id, requested_out_trade_no, requested_amount_fen, payment_id, out_trade_no,
           channel, batch_id, decision, reason, remedy, message, deadline, decided_at, decided_date, original_void_id)
         SELECT $1::uuid, $2::text, $3::text, $4::char(64), $5::text, $6::text, $7::text, $8::text, $9::uuid, $10::text, $11::bigint,
           $12::uuid, $13::text, $14::text, $15::text, $16::text, $17::text, $18::text, $19::text, $20::timestamptz,
           $21::timestamptz, $22::date, $23::uuid
         WHERE ${holds}
         ON CONFLICT (merchant_id, idempotency_key) WHERE reason IS DISTINCT FROM 'MODIFIED_REQUEST' DO NOTHING
         RETURNING void_id),
       ${mark}
       events AS (${events.sql})
       SELECT ${holds} AS holds, EXISTS (SELECT 1 FROM decided) AS stored`,
      [...values, ...events.values],
    );
    if (result.stored) return { kind: 'stored', view };
    return result.holds ? { kind: 'key-taken' } : { kind: 'facts-changed' };
  }

  private eventsOf(view: VoidDecisionView, decision: VoidDecision, known: PaymentFacts | undefined, gate: GateFacts | undefined): OutboxMessage[] {
    const common = {
      voidId: view.voidId,
      idempotencyKey: view.idempotencyKey,
      merchantId: view.merchantId,
      terminalId: view.terminalId,
      decidedAt: view.decidedAt,
      ...(view.deadline ? { deadline: view.deadline } : {}),
    };
    if (decision.decision === 'ACCEPTED' && known && gate) {
      const accepted: VoidAccepted = {
        ...common,
        paymentId: known.paymentId,
        outTradeNo: known.outTradeNo,
        channel: known.channel,
        amountFen: known.amountFen,
        batchId: gate.batchId,
      };
      const confirmed: VoidConfirmed = {
        voidId: view.voidId,
        paymentId: known.paymentId,
        merchantId: view.merchantId,
        channel: known.channel,
        amountFen: known.amountFen,
        confirmedAt: view.decidedAt,
        customerMessage: customerVoidNotice(known),
      };
      return [
        { topic: Topics.voidEvents, type: 'pos.void.accepted', key: view.merchantId, subject: known.paymentId, data: accepted },
        { topic: Topics.voidEvents, type: 'pos.void.confirmed', key: view.merchantId, subject: known.paymentId, data: confirmed },
      ];
    }
    if (decision.decision === 'REJECTED') {
      const rejected: VoidRejected = {
        ...common,
        ...(view.paymentId ? { paymentId: view.paymentId } : {}),
        ...(view.outTradeNo ? { outTradeNo: view.outTradeNo } : {}),
        reason: decision.reason,
        remedy: decision.remedy,
        message: decision.message,
      };
      return [
        { topic: Topics.voidEvents, type: 'pos.void.rejected', key: view.merchantId, ...(view.paymentId ? { subject: view.paymentId } : {}), data: rejected },
      ];
    }
    throw new Error('an accepted void needs its payment and gate');
  }
}
