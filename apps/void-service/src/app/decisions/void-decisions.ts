import { Inject, Injectable } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { EntityManager } from 'typeorm';
import { ChannelName, Remedy, Topics, VoidAccepted, VoidConfirmed, VoidRejected, VoidRejectionReason, VoidRequested } from '@pos/contracts';
import { businessDateOf, Clock } from '@pos/business-calendar';
import { CLOCK, Outbox, OutboxMessage } from '@pos/messaging';
import { batchKeyOf } from '@pos/settlement-batches';
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
  cleared: boolean;
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
 * The I/O shell around `decideVoid`: one transaction per void that serialises on the idempotency
 * key (advisory lock), then on the payment row, then on the gate row of the payment's batch
 * (ADR 0002), decides with the clock read under those locks, and stores the decision together
 * with its events in the outbox.
 */
@Injectable()
export class VoidDecisions {
  constructor(
    private readonly outbox: Outbox,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(VOID_SETTINGS) private readonly settings: VoidServiceSettings,
  ) {}

  async decide(tx: EntityManager, command: VoidCommand, source: DecisionSource): Promise<DecisionOutcome> {
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

    // Concurrent duplicates wait here for the first to commit, then find its decision below.
    await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`void:${command.merchantId}:${command.idempotencyKey}`]);
    const [existing]: DecisionRow[] = await tx.query(
      `SELECT ${DECISION_COLUMNS} FROM void_decisions
       WHERE merchant_id = $1 AND idempotency_key = $2 AND reason IS DISTINCT FROM 'MODIFIED_REQUEST'`,
      [command.merchantId, command.idempotencyKey],
    );
    if (existing) {
      if (existing.payload_hash === payloadHash) return { view: viewOf(existing), replayed: true };
      return { view: await this.store(tx, command, source, payloadHash, undefined, undefined, this.modified(), existing.void_id), replayed: false };
    }

    const payment = await this.lockPayment(tx, command);
    let gate: GateFacts | undefined;
    if (payment?.status === 'SUCCEEDED' && payment.succeededAt) gate = await this.lockGate(tx, payment);
    const supervisor = checkSupervisor(this.settings.supervisorCredentials, command.merchantId, command.supervisor);
    const decision = decideVoid(
      { merchantId: command.merchantId, terminalId: command.terminalId, amountFen: command.amountFen, card: command.card, supervisor },
      payment,
      gate,
      this.settings.voidRules,
      this.clock.now(),
    );
    return { view: await this.store(tx, command, source, payloadHash, payment, gate, decision), replayed: false };
  }

  private modified(): VoidDecision {
    return { decision: 'REJECTED', reason: 'MODIFIED_REQUEST', remedy: 'CORRECT_REQUEST', message: REASON_MESSAGES.MODIFIED_REQUEST };
  }

  /** Only the merchant's own payments are looked at (and locked): another merchant's is simply not found. */
  private async lockPayment(tx: EntityManager, command: VoidCommand): Promise<PaymentFacts | undefined> {
    const conditions = ['merchant_id = $1'];
    const values: unknown[] = [command.merchantId];
    if (command.paymentId) {
      values.push(command.paymentId);
      conditions.push(`payment_id = $${values.length}`);
    }
    if (command.outTradeNo) {
      values.push(command.outTradeNo);
      conditions.push(`out_trade_no = $${values.length}`);
    }
    // An out_trade_no reused after a failed attempt names the succeeded payment first.
    const rows: PaymentRow[] = await tx.query(
      `SELECT p.*, EXISTS (SELECT 1 FROM cleared_payments c WHERE c.payment_id = p.payment_id) AS cleared
       FROM payment_facts p WHERE ${conditions.join(' AND ')}
       ORDER BY (status = 'SUCCEEDED') DESC, order_created_at DESC LIMIT 1 FOR UPDATE OF p`,
      values,
    );
    return rows[0] ? factsOf(rows[0]) : undefined;
  }

  private async lockGate(tx: EntityManager, payment: PaymentFacts): Promise<GateFacts> {
    const key = batchKeyOf(
      {
        merchantId: payment.merchantId,
        terminalId: payment.terminalId,
        channel: payment.channel,
        succeededAt: payment.succeededAt as Date,
        cardBatchNo: payment.card?.batchNo,
      },
      this.settings.clearingSchedules,
    );
    // FOR SHARE, not FOR UPDATE: voids of one batch do not conflict with each other (each payment row is
    // locked FOR UPDATE above), but every one of them conflicts with the batch.closing, which takes the
    // gate FOR UPDATE. So closing waits for every void that holds the gate to commit, and a void that
    // comes after the closing waits for it and then sees CLOSED: ADR 0002's guarantee, without
    // serialising a merchant's whole day of voids on one row.
    const lockGate = `SELECT status, close_reason, closes_at FROM void_gates WHERE batch_id = $1 FOR SHARE`;
    type GateRow = { status: 'OPEN' | 'CLOSED'; close_reason: 'CUTOFF' | 'TERMINAL_SETTLEMENT' | null; closes_at: Date };
    let [gate]: GateRow[] = await tx.query(lockGate, [key.batchId]);
    if (!gate) {
      await tx.query(
        `INSERT INTO void_gates (batch_id, merchant_id, channel, closes_at) VALUES ($1, $2, $3, $4) ON CONFLICT (batch_id) DO NOTHING`,
        [key.batchId, key.merchantId, key.channel, key.window.closesAt],
      );
      [gate] = await tx.query(lockGate, [key.batchId]);
    }
    // A gate created by an early batch.closing carries clearing's cutoff; the payment's own window never ends later.
    const closesAt = gate.closes_at.getTime() < key.window.closesAt.getTime() ? gate.closes_at : key.window.closesAt;
    return { batchId: key.batchId, status: gate.status, closesAt, ...(gate.close_reason ? { closeReason: gate.close_reason } : {}) };
  }

  private async store(
    tx: EntityManager,
    command: VoidCommand,
    source: DecisionSource,
    payloadHash: string,
    payment: PaymentFacts | undefined,
    gate: GateFacts | undefined,
    decision: VoidDecision,
    originalVoidId?: string,
  ): Promise<VoidDecisionView> {
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
      accepting,
    ];
    const events = this.outbox.insert(this.eventsOf(view, decision, known, gate), { firstParameter: values.length + 1 });
    // The decision, the payment's mark and the events: one statement, one round trip.
    await tx.query(
      `WITH decided AS (
       INSERT INTO void_decisions (void_id, merchant_id, idempotency_key, payload_hash, source, terminal_id, operator_id,
         supervisor_operator_id, requested_payment_id, requested_out_trade_no, requested_amount_fen, payment_id, out_trade_no,
         channel, batch_id, decision, reason, remedy, message, deadline, decided_at, decided_date, original_void_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)),
       marked AS (UPDATE payment_facts SET voided_by = $1, updated_at = now() WHERE $24 AND payment_id = $12),
       events AS (${events.sql})
       SELECT 1`,
      [...values, ...events.values],
    );
    return view;
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
