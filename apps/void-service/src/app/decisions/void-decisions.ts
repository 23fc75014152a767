import { Inject, Injectable } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { EntityManager } from 'typeorm';
import { ChannelName, Remedy, Topics, VoidAccepted, VoidRejected, VoidRejectionReason, VoidRequested } from '@pos/contracts';
import { businessDateOf, Clock } from '@pos/business-calendar';
import { CLOCK, Outbox, OutboxMessage } from '@pos/messaging';
import { queryPrepared } from '@pos/persistence';
import {
  canonicalVoidRequest,
  decideVoid,
  GateFacts,
  isFinal,
  PaymentFacts,
  PaymentStatus,
  REASON_MESSAGES,
  VoidDecision,
} from '@pos/void-domain';
import { VoidServiceSettings } from '../void-service.config';
import { VOID_SETTINGS } from '../void-settings.token';
import { SupervisorAuthority, SupervisorProof } from './supervisor-authority';

/**
 * A void request: as on Kafka (`pos.void.requested`, a supervisor authorisation's id), or over
 * HTTP, which also takes the supervisor's credential itself.
 */
export type VoidCommand = Omit<VoidRequested, 'supervisor'> & {
  readonly supervisor?: VoidRequested['supervisor'] | { readonly operatorId: string; readonly credential: string };
};
export type DecisionSource = 'HTTP' | 'KAFKA';
/** A merchant's payment, by its id or its order number. */
export type PaymentReference = Pick<VoidCommand, 'merchantId' | 'paymentId' | 'outTradeNo'>;

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
  /** False for an answer that may change (retry later, supervisor missing): the same key may be asked again. */
  readonly final: boolean;
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
  final: boolean;
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
  void_refused_by: string | null;
  cleared: boolean;
  gate_batch_id: string | null;
  gate_status: 'OPEN' | 'CLOSED' | null;
  gate_close_reason: 'CUTOFF' | 'TERMINAL_SETTLEMENT' | null;
  gate_closes_at: Date | null;
}

export const DECISION_COLUMNS = `void_id, merchant_id, idempotency_key, payload_hash, terminal_id, requested_amount_fen,
  requested_payment_id, requested_out_trade_no, payment_id, out_trade_no, channel, batch_id, decision, reason, remedy,
  message, deadline, decided_at, final, original_void_id`;

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
    final: row.final,
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
    ...(row.void_refused_by ? { voidRefusedBy: row.void_refused_by } : {}),
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
 * 1. read the payment, whether it was cleared, and the gate of the batch clearing put it in: the
 *    gate whose window (announced by clearing, ADR 0005) holds the payment's success time;
 * 2. decide with one reading of the clock, then store the decision, the payment's mark and the
 *    events in one statement. For an acceptance that statement first re-checks, under the payment's
 *    row lock and the gate's share lock, that the facts it was decided on still hold (payment
 *    succeeded and not voided, not cleared, gate open, its window still holding the payment and
 *    closing after the decision time); if they do not, the void is decided again on the new facts.
 *    An acceptance also writes the void's execution (PENDING): the executor asks the channel to undo
 *    the payment, and announces it (pos.void.executed, pos.void.confirmed) only then (ADR 0008).
 *
 * Exactly once comes from the unique index on (merchant, idempotency key) over final answers: a key
 * already decided, or being decided by a concurrent duplicate (the insert waits for it), makes the
 * insert do nothing, and the stored decision is returned, or MODIFIED_REQUEST if the payload
 * differs. An answer that may change (`isFinal`) is recorded without taking the key.
 */
@Injectable()
export class VoidDecisions {
  constructor(
    private readonly outbox: Outbox,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(VOID_SETTINGS) private readonly settings: VoidServiceSettings,
    private readonly supervisors: SupervisorAuthority,
  ) {}

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
          supervisorOperatorId: command.supervisor && 'operatorId' in command.supervisor ? command.supervisor.operatorId : undefined,
        }),
      )
      .digest('hex');
    // The supervisor is looked at only for a payment whose channel needs one. A credential (a slow
    // hash, on purpose) is checked once however often the decision is retried, and before the
    // decision's clock reading, so that the decision time stays next to its storing; an
    // authorisation is checked at the decision time.
    let credentialCheck: Promise<SupervisorProof> | undefined;
    const credentialOf = (payment: PaymentFacts | undefined): Promise<SupervisorProof> | undefined => {
      const { supervisor } = command;
      if (!payment || !supervisor || !('credential' in supervisor) || !this.settings.voidRules[payment.channel].requireSupervisor) return undefined;
      credentialCheck ??= this.supervisors.check(command.merchantId, supervisor).then((check) => ({ check, operatorId: supervisor.operatorId }));
      return credentialCheck;
    };
    const authorisationOf = async (payment: PaymentFacts | undefined, now: Date): Promise<SupervisorProof> => {
      const { supervisor } = command;
      if (!payment || !supervisor || !('authorisationId' in supervisor) || !this.settings.voidRules[payment.channel].requireSupervisor) {
        return { check: 'MISSING' };
      }
      const scope = { merchantId: command.merchantId, terminalId: command.terminalId, paymentId: payment.paymentId, outTradeNo: payment.outTradeNo };
      return this.supervisors.redeem(db, supervisor.authorisationId, scope, now);
    };

    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const { payment, gate } = await this.readFacts(db, command);
      const credential = await credentialOf(payment);
      // One reading of the clock: the decision is made, stored and re-checked against the gate at this instant.
      const now = this.clock.now();
      const supervisor = credential ?? (await authorisationOf(payment, now));
      const decision = decideVoid(
        {
          merchantId: command.merchantId,
          terminalId: command.terminalId,
          ...(command.paymentId && command.outTradeNo ? { outTradeNo: command.outTradeNo } : {}),
          amountFen: command.amountFen,
          card: command.card,
          supervisor: supervisor.check,
        },
        payment,
        gate,
        this.settings.voidRules,
        now,
      );
      const stored = await this.store(db, command, source, payloadHash, payment, gate, decision, now, supervisor.operatorId ?? null);
      if (stored.kind === 'stored') {
        if (payment && supervisor.check === 'VERIFIED' && supervisor.operatorId && decision.decision === 'ACCEPTED') {
          const { merchantId, terminalId } = command;
          const { operatorId, authorisationId } = supervisor;
          await this.supervisors.authorised(db, { merchantId, terminalId, operatorId, voidId: stored.view.voidId, paymentId: payment.paymentId, source, authorisationId });
        }
        return { view: stored.view, replayed: false };
      }
      if (stored.kind === 'facts-changed') continue;
      const [existing] = await queryPrepared<DecisionRow>(
        db,
        `SELECT ${DECISION_COLUMNS} FROM void_decisions
         WHERE merchant_id = $1 AND idempotency_key = $2 AND final AND reason IS DISTINCT FROM 'MODIFIED_REQUEST'`,
        [command.merchantId, command.idempotencyKey],
      );
      if (existing.payload_hash === payloadHash) return { view: viewOf(existing), replayed: true };
      const modified = await this.store(db, command, source, payloadHash, undefined, undefined, this.modified(), this.clock.now(), null, existing.void_id);
      if (modified.kind !== 'stored') throw new Error('a MODIFIED_REQUEST answer owns no key, so it is always stored');
      return { view: modified.view, replayed: false };
    }
    throw new Error(`void ${command.merchantId}/${command.idempotencyKey}: its payment's facts changed under each of ${MAX_ATTEMPTS} attempts`);
  }

  private modified(): VoidDecision {
    return { decision: 'REJECTED', reason: 'MODIFIED_REQUEST', remedy: 'CORRECT_REQUEST', message: REASON_MESSAGES.MODIFIED_REQUEST };
  }

  /** The facts a void of the payment is decided on; the eligibility question reads them the same way. */
  async readFacts(db: EntityManager, reference: PaymentReference): Promise<{ payment?: PaymentFacts; gate?: GateFacts }> {
    const row = await this.readPayment(db, reference);
    if (!row) return {};
    const gate: GateFacts | undefined =
      row.gate_batch_id && row.gate_status && row.gate_closes_at
        ? {
            batchId: row.gate_batch_id,
            status: row.gate_status,
            closesAt: row.gate_closes_at,
            ...(row.gate_close_reason ? { closeReason: row.gate_close_reason } : {}),
          }
        : undefined;
    return { payment: factsOf(row), ...(gate ? { gate } : {}) };
  }

  /**
   * The payment with what the void is decided on: cleared or not, and the gate of the batch clearing
   * put it in (the gate whose window holds its success time; ADR 0005). Only the merchant's own
   * payments are looked at: another merchant's is simply not found. A payment id names the payment
   * alone: an order number given with it is compared by the policy, so a mismatch is told apart
   * from a payment not known yet.
   */
  private async readPayment(db: EntityManager, command: PaymentReference): Promise<PaymentRow | undefined> {
    const [column, value] = command.paymentId ? ['payment_id', command.paymentId] : ['out_trade_no', command.outTradeNo];
    // An out_trade_no reused after a failed attempt names the succeeded payment first. A late
    // payment's window may hold the closed batch and its late successor: the first one decides.
    const rows = await queryPrepared<PaymentRow>(
      db,
      `SELECT p.payment_id, p.merchant_id, p.terminal_id, p.channel, p.amount_fen, p.out_trade_no, p.card_batch_no, p.card_voucher_no,
         p.status, p.order_created_at, p.succeeded_at, p.voided_by, p.void_refused_by,
         EXISTS (SELECT 1 FROM cleared_payments c WHERE c.payment_id = p.payment_id) AS cleared,
         g.batch_id AS gate_batch_id, g.status AS gate_status, g.close_reason AS gate_close_reason, g.closes_at AS gate_closes_at
       FROM payment_facts p
       LEFT JOIN LATERAL (
         SELECT batch_id, status, close_reason, closes_at FROM void_gates g
          WHERE g.merchant_id = p.merchant_id AND g.channel = p.channel AND p.status = 'SUCCEEDED'
            AND g.opens_at <= p.succeeded_at AND p.succeeded_at < g.closes_at
            AND (p.channel <> 'UNIONPAY_CARD' OR (g.terminal_id = p.terminal_id AND g.batch_no = p.card_batch_no))
          ORDER BY g.created_at, g.batch_id LIMIT 1) g ON true
       WHERE p.merchant_id = $1 AND p.${column} = $2
       ORDER BY (p.status = 'SUCCEEDED') DESC, p.order_created_at DESC LIMIT 1`,
      [command.merchantId, value],
    );
    return rows[0];
  }

  private async store(
    db: EntityManager,
    command: VoidCommand,
    source: DecisionSource,
    payloadHash: string,
    payment: PaymentFacts | undefined,
    gate: GateFacts | undefined,
    decision: VoidDecision,
    decidedAt: Date,
    supervisorOperatorId: string | null,
    originalVoidId?: string,
  ): Promise<{ kind: 'stored'; view: VoidDecisionView } | { kind: 'key-taken' } | { kind: 'facts-changed' }> {
    const voidId = randomUUID();
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
      final: isFinal(decision),
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
      supervisorOperatorId,
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
      row.final,
    ];
    const events = this.outbox.insert(this.eventsOf(view, decision, known, gate), {
      firstParameter: values.length + 1,
      onlyIf: 'EXISTS (SELECT 1 FROM decided)',
    });
    // An acceptance holds only while its facts do: the payment (locked) still succeeded, unvoided and
    // uncleared, and the gate (shared with other voids, exclusive to the closing) still open, its
    // window (which a terminal settlement shortens) still holding the payment and closing after the
    // decision time. A rejection rests on facts that only move forward, so it stands as decided; an
    // answer that may change never takes a key that a final answer holds.
    const guards = accepting
      ? `payment AS (
           SELECT p.payment_id, p.succeeded_at FROM payment_facts p
           WHERE p.payment_id = $12 AND p.status = 'SUCCEEDED' AND p.voided_by IS NULL AND p.void_refused_by IS NULL
             AND NOT EXISTS (SELECT 1 FROM cleared_payments c WHERE c.payment_id = p.payment_id)
           FOR UPDATE OF p),
         gate AS (
           SELECT g.batch_id FROM void_gates g, payment p
           WHERE g.batch_id = $15 AND g.status = 'OPEN' AND $21::timestamptz < g.closes_at
             AND g.opens_at <= p.succeeded_at AND p.succeeded_at < g.closes_at
           FOR SHARE OF g),`
      : '';
    // The payment's mark, and its execution at the channel (ADR 0008), with the decision or not at all.
    const mark = accepting
      ? `marked AS (UPDATE payment_facts SET voided_by = $1, updated_at = now() WHERE payment_id = $12 AND EXISTS (SELECT 1 FROM decided)),
         executing AS (
           INSERT INTO void_executions (void_id, merchant_id, payment_id, batch_id, channel, next_attempt_at)
           SELECT void_id, $2::text, $12::uuid, $15::text, $14::text, $21::timestamptz FROM decided),`
      : '';
    const holds = accepting
      ? 'EXISTS (SELECT 1 FROM payment) AND EXISTS (SELECT 1 FROM gate)'
      : row.final
        ? 'true'
        : `NOT EXISTS (SELECT 1 FROM void_decisions d WHERE d.merchant_id = $2 AND d.idempotency_key = $3 AND d.final
                          AND d.reason IS DISTINCT FROM 'MODIFIED_REQUEST')`;
    // The decision, the payment's mark, its execution and the events: one statement, one round trip.
    const [result] = await queryPrepared<{ holds: boolean; stored: boolean }>(
      db,
      `WITH ${guards}
       decided AS (
         INSERT INTO void_decisions (void_id, merchant_id, idempotency_key, payload_hash, source, terminal_id, operator_id,
           supervisor_operator_id, requested_payment_id, requested_out_trade_no, requested_amount_fen, payment_id, out_trade_no,
           channel, batch_id, decision, reason, remedy, message, deadline, decided_at, decided_date, original_void_id, final)
         SELECT $1::uuid, $2::text, $3::text, $4::char(64), $5::text, $6::text, $7::text, $8::text, $9::uuid, $10::text, $11::bigint,
           $12::uuid, $13::text, $14::text, $15::text, $16::text, $17::text, $18::text, $19::text, $20::timestamptz,
           $21::timestamptz, $22::date, $23::uuid, $24::boolean
         WHERE ${holds}
         ON CONFLICT (merchant_id, idempotency_key) WHERE final AND reason IS DISTINCT FROM 'MODIFIED_REQUEST' DO NOTHING
         RETURNING void_id),
       ${mark}
       events AS (${events.sql})
       SELECT ${holds} AS holds, EXISTS (SELECT 1 FROM decided) AS stored`,
      [...values, ...events.values],
    );
    if (result.stored) return { kind: 'stored', view };
    // Not stored: an acceptance whose facts moved on is decided again; anything else found the key taken.
    return accepting && !result.holds ? { kind: 'facts-changed' } : { kind: 'key-taken' };
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
      // The customer's notice (pos.void.confirmed) waits for the channel: the executor sends it.
      return [{ topic: Topics.voidEvents, type: 'pos.void.accepted', key: view.merchantId, subject: known.paymentId, data: accepted }];
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
