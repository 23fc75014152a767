import { Inject, Injectable, Logger } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import {
  BatchCloseReason,
  BatchClosed,
  BatchClosing,
  BatchOpened,
  BatchSettled,
  CLOUD_EVENTS_SPEC_VERSION,
  CloudEventHeaders,
  contractFor,
  deadLetterTopicOf,
  JSON_CONTENT_TYPE,
  PaymentSucceeded,
  TerminalSettlementRequested,
  Topics,
  VoidAccepted,
  VoidChannelRefused,
  VoidGateClosed,
} from '@pos/contracts';
import { BusinessDate, businessDateOf, parseBusinessDate } from '@pos/business-calendar';
import {
  BatchState,
  batchIdInChain,
  ClearingTotals,
  fenTotal,
  placePayment,
  safeNumber,
  settlementDateFor,
} from '@pos/clearing-domain';
import { CutoffWindow } from '@pos/business-calendar';
import { AfterCommit, Outbox, OutboxMessage, PermanentFailure, traceparentForEvents } from '@pos/messaging';
import { queryPrepared } from '@pos/persistence';
import { BatchKey, batchKeyOf } from '@pos/settlement-batches';
import { CLEARING_SETTINGS, ClearingSettings } from './clearing-settings';
import { ScheduleVersions } from './schedule-versions';

export const CLEARING_SOURCE = Symbol('CLEARING_SOURCE');

/** A batch row as the service reads it; dates as text so no driver guesses a time zone for them. */
export interface BatchRow {
  readonly batch_id: string;
  readonly base_batch_id: string;
  readonly sequence: number;
  readonly merchant_id: string;
  readonly channel: 'WECHAT' | 'ALIPAY' | 'UNIONPAY_CARD';
  readonly terminal_id: string | null;
  readonly batch_no: string | null;
  readonly clearing_date: string;
  readonly opens_at: Date;
  readonly closes_at: Date;
  readonly state: BatchState;
  readonly close_reason: BatchCloseReason | null;
  readonly cutoff_at: Date | null;
  readonly closing_at: Date | null;
  readonly closed_at: Date | null;
  readonly settled_at: Date | null;
  readonly settlement_date: string | null;
  /** bigint columns arrive as decimal strings. */
  readonly payment_count: string | null;
  readonly total_fen: string | null;
  readonly voided_count: string | null;
  readonly voided_fen: string | null;
}

/** The columns of a BatchRow, optionally qualified by a table alias. */
export function batchColumns(alias = ''): string {
  const a = alias ? `${alias}.` : '';
  return `${a}batch_id, ${a}base_batch_id, ${a}sequence, ${a}merchant_id, ${a}channel, ${a}terminal_id, ${a}batch_no,
    ${a}clearing_date::text AS clearing_date, ${a}opens_at, ${a}closes_at, ${a}state, ${a}close_reason, ${a}cutoff_at,
    ${a}closing_at, ${a}closed_at, ${a}settled_at, ${a}settlement_date::text AS settlement_date, ${a}payment_count,
    ${a}total_fen, ${a}voided_count, ${a}voided_fen`;
}
export const BATCH_COLUMNS = batchColumns();

/** payment.cleared events written by the close itself; the scheduler writes the rest in larger chunks. */
const CLEARED_EVENTS_IN_CLOSE = 10_000;
export const CLEARED_EVENTS_PER_CHUNK = 100_000;

/** At most this many batches change state per scheduler transaction; the next tick takes the rest. */
const BATCHES_PER_TICK = 200;

const identityOf = (batch: BatchRow) => ({
  batchId: batch.batch_id,
  merchantId: batch.merchant_id,
  channel: batch.channel,
  ...(batch.terminal_id !== null ? { terminalId: batch.terminal_id } : {}),
  ...(batch.batch_no !== null ? { batchNo: batch.batch_no } : {}),
  clearingDate: batch.clearing_date,
});

/** Every batch event is keyed by merchant: one partition orders a merchant's batch history (ADR 0002). */
const batchEvent = (type: string, batch: BatchRow, data: unknown): OutboxMessage => ({
  topic: Topics.clearingEvents,
  type,
  key: batch.merchant_id,
  subject: batch.batch_id,
  data,
});

/**
 * TypeORM answers an UPDATE ... RETURNING with [rows, affectedCount] rather than the rows; this
 * takes the rows either way.
 */
export async function updateReturning<T>(tx: Pick<EntityManager, 'query'>, sql: string, values: unknown[]): Promise<T[]> {
  const result: unknown = await tx.query(sql, values);
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') return result[0] as T[];
  return result as T[];
}

export function totalsOfRow(batch: BatchRow): ClearingTotals {
  return {
    paymentCount: BigInt(batch.payment_count ?? 0),
    totalFen: BigInt(batch.total_fen ?? 0),
    voidedCount: BigInt(batch.voided_count ?? 0),
    voidedFen: BigInt(batch.voided_fen ?? 0),
  };
}

/**
 * The clearing service's state changes, each inside the caller's transaction together with the
 * events announcing it. Every read-decide-write locks the batch row it decides on.
 */
@Injectable()
export class BatchLedger {
  private readonly logger = new Logger('BatchLedger');

  constructor(
    private readonly outbox: Outbox,
    @Inject(CLEARING_SETTINGS) private readonly settings: ClearingSettings,
    @Inject(CLEARING_SOURCE) private readonly source: string,
    private readonly scheduleVersions: ScheduleVersions,
  ) {}

  /**
   * Puts a succeeded payment into exactly one batch, the one whose window holds its success time
   * (ADR 0005); a payment seen before changes nothing. One that arrives after that batch closed
   * keeps its clearing date in a late batch of the same window, and is reported.
   */
  async assignPayment(tx: EntityManager, payment: PaymentSucceeded, now: Date, afterCommit: AfterCommit): Promise<string> {
    const [known] = await tx.query(`SELECT batch_id, amount_fen FROM batch_payments WHERE payment_id = $1`, [payment.paymentId]);
    if (known) {
      if (Number(known.amount_fen) !== payment.amountFen) {
        this.logger.warn(`payment ${payment.paymentId} arrived again with another amount; the first one stands`);
      }
      return known.batch_id;
    }
    // Its batch is the window holding its success time, under the schedule version in force then:
    // an instance that lacks that version refuses (the event waits) rather than guess.
    this.scheduleVersions.assertKnown(payment.channel, new Date(payment.succeededAt));
    const key = batchKeyOf(
      {
        merchantId: payment.merchantId,
        terminalId: payment.terminalId,
        channel: payment.channel,
        succeededAt: new Date(payment.succeededAt),
        ...(payment.card ? { cardBatchNo: payment.card.batchNo } : {}),
      },
      this.settings.schedules,
    );
    const succeededAt = new Date(payment.succeededAt);
    const { batch, late } = await this.batchHolding(tx, key, succeededAt);
    if (late) {
      // Its batch closed before its event arrived (beyond the close grace): money people must know.
      afterCommit(() =>
        this.logger.error(
          `late payment ${payment.paymentId} (succeeded ${payment.succeededAt}) arrived after batch ${key.batchId} closed; ` +
            `it clears on ${batch.clearing_date} in late batch ${batch.batch_id}`,
        ),
      );
    }
    await tx.query(
      `INSERT INTO batch_payments (payment_id, batch_id, merchant_id, terminal_id, channel, amount_fen, out_trade_no,
         channel_trade_no, card_batch_no, voucher_no, succeeded_at, assigned_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [
        payment.paymentId,
        batch.batch_id,
        payment.merchantId,
        payment.terminalId,
        payment.channel,
        payment.amountFen,
        payment.outTradeNo,
        payment.channelTradeNo,
        payment.card?.batchNo ?? null,
        payment.card?.voucherNo ?? null,
        payment.succeededAt,
        now,
      ],
    );
    return batch.batch_id;
  }

  /**
   * The batch of the key's chain whose window holds the instant, locked until the caller commits
   * (the chain's rows are locked in order, so two placements of one chain serialise). Opens the
   * key's own batch for the first payment of a window, and a late batch when the one holding the
   * instant has closed (a closed batch is never altered).
   */
  async batchHolding(tx: EntityManager, key: BatchKey, instant: Date): Promise<{ batch: BatchRow; late: boolean }> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const chain: BatchRow[] = await tx.query(`SELECT ${BATCH_COLUMNS} FROM batches WHERE base_batch_id = $1 ORDER BY sequence FOR UPDATE`, [
        key.batchId,
      ]);
      const placement = placePayment(
        chain.map((b) => ({ sequence: b.sequence, state: b.state, opensAt: b.opens_at, closesAt: b.closes_at })),
        instant,
      );
      if (placement.kind === 'join') return { batch: chain.find((b) => b.sequence === placement.sequence) as BatchRow, late: false };
      if (placement.kind === 'outside') {
        throw new Error(`no batch of ${key.batchId} holds ${instant.toISOString()}: its windows disagree with the cutoff schedule`);
      }
      const window = placement.kind === 'open-first' ? key.window : placement.window;
      const opened = await this.openBatch(tx, key, placement.sequence, window);
      // Another transaction opened it first: read the chain again, under its lock.
      if (opened) return { batch: opened, late: placement.kind === 'open-late' };
    }
    throw new Error(`could not find or open a batch for ${key.batchId}`);
  }

  /** A new batch of the key's chain, announced (batch.opened carries the window the void service decides by); undefined if taken. */
  private async openBatch(tx: EntityManager, key: BatchKey, sequence: number, window: CutoffWindow): Promise<BatchRow | undefined> {
    const [opened]: BatchRow[] = await tx.query(
      `INSERT INTO batches (batch_id, base_batch_id, sequence, merchant_id, channel, terminal_id, batch_no, clearing_date, opens_at, closes_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT DO NOTHING RETURNING ${BATCH_COLUMNS}`,
      [
        batchIdInChain(key.batchId, sequence),
        key.batchId,
        sequence,
        key.merchantId,
        key.channel,
        key.terminalId ?? null,
        key.batchNo ?? null,
        key.clearingDate,
        window.opensAt,
        window.closesAt,
      ],
    );
    if (!opened) return undefined;
    const data: BatchOpened = { ...identityOf(opened), opensAt: opened.opens_at.toISOString(), closesAt: opened.closes_at.toISOString() };
    await this.outbox.append(tx, [batchEvent('pos.clearing.batch.opened', opened, data)]);
    return opened;
  }

  /**
   * Remembers accepted voids, whether or not their payments have arrived; they are excluded at the
   * close. A void that a batch waiting in CLOSING still lacked (parked on the dead-letter topic,
   * then replayed) completes that batch's close in this transaction once none is missing.
   */
  async recordVoids(tx: EntityManager, accepted: readonly VoidAccepted[], afterCommit: AfterCommit, now: Date): Promise<void> {
    // Runs for every accepted void: one prepared statement records a run of them, looks for a
    // closed batch that cleared one of their payments anyway (unless the channel refused that void,
    // ADR 0008: then it had to; the check reads batches, not the rows it inserts), and names the
    // not yet closed batches whose gate closed before a void of theirs was recorded: only those
    // need the follow-up below.
    const findings = await queryPrepared<{ finding: 'CLEARED' | 'GATE_CLOSED'; payment_id: string | null; batch_id: string }>(
      tx,
      `WITH recorded AS (
         INSERT INTO voided_payments (payment_id, void_id, batch_id, merchant_id, out_trade_no, amount_fen, decided_at)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::timestamptz[])
         ON CONFLICT (payment_id) DO NOTHING
         RETURNING batch_id)
       SELECT 'CLEARED' AS finding, p.payment_id, b.batch_id FROM batch_payments p JOIN batches b USING (batch_id)
        WHERE p.payment_id = ANY($1::uuid[]) AND b.state IN ('CLOSED', 'SETTLED') AND NOT p.voided
          AND NOT EXISTS (SELECT 1 FROM voided_payments r WHERE r.payment_id = p.payment_id AND r.refused_at IS NOT NULL)
       UNION ALL
       SELECT DISTINCT 'GATE_CLOSED', NULL::uuid, g.batch_id FROM recorded r JOIN void_gates g USING (batch_id) JOIN batches b USING (batch_id)
        WHERE b.state IN ('OPEN', 'CLOSING')
       ORDER BY finding, batch_id`,
      [
        accepted.map((a) => a.paymentId),
        accepted.map((a) => a.voidId),
        accepted.map((a) => a.batchId),
        accepted.map((a) => a.merchantId),
        accepted.map((a) => a.outTradeNo),
        accepted.map((a) => a.amountFen),
        accepted.map((a) => a.decidedAt),
      ],
    );
    for (const { finding, payment_id, batch_id } of findings) {
      if (finding === 'GATE_CLOSED') {
        // OPEN too: a cutoff marking it CLOSING right now counted without this uncommitted void;
        // completeClose waits for that transaction's lock and counts again.
        await this.completeClose(tx, batch_id, now);
        continue;
      }
      const voidId = accepted.find((a) => a.paymentId === payment_id)?.voidId;
      // ADR 0002 makes this impossible; if it ever happens, money people must look at it (once, for the committed record).
      afterCommit(() => this.logger.error(`void ${voidId} accepted for payment ${payment_id}, already cleared in closed batch ${batch_id}`));
    }
  }

  /**
   * Cutoffs (日切) passed by more than the close grace: OPEN -> CLOSING, asking the void service to
   * close each gate. The grace lets payments that succeeded just before the cutoff reach clearing
   * first (ADR 0005); voids are refused from the cutoff itself, by the gate's window.
   */
  async closeDueBatches(tx: EntityManager, now: Date): Promise<BatchRow[]> {
    const closing = await updateReturning<BatchRow>(tx, 
      `UPDATE batches SET state = 'CLOSING', close_reason = 'CUTOFF', cutoff_at = closes_at, closing_at = $1
        WHERE batch_id IN (SELECT batch_id FROM batches WHERE state = 'OPEN' AND closes_at <= $2
                            ORDER BY closes_at LIMIT ${BATCHES_PER_TICK} FOR UPDATE SKIP LOCKED)
          AND state = 'OPEN'
        RETURNING ${BATCH_COLUMNS}`,
      [now, new Date(now.getTime() - this.settings.closeGraceMs)],
    );
    await this.announceClosing(tx, closing, now);
    return closing;
  }

  /**
   * Terminal settlement (结算) at `now`: the terminal's OPEN card batches with that batch number
   * close now. The one whose window holds `now` is cut there (its window ends at the settlement) and
   * a successor takes the rest of the window, announced after the closing, so a card payment that
   * succeeds after the settlement is batched, and voided, on the successor (ADR 0005). With no batch
   * open yet, the window's own batch is opened empty and closed, so its void gate closes too.
   */
  async settleTerminal(tx: EntityManager, request: TerminalSettlementRequested, now: Date): Promise<BatchRow[]> {
    // It may open the terminal's current batch, whose window follows the schedule in force now.
    this.scheduleVersions.assertKnown('UNIONPAY_CARD', now);
    const key = batchKeyOf(
      { merchantId: request.merchantId, terminalId: request.terminalId, channel: 'UNIONPAY_CARD', cardBatchNo: request.batchNo, succeededAt: now },
      this.settings.schedules,
    );
    const { batch: current } = await this.batchHolding(tx, key, now);
    const open: BatchRow[] = await tx.query(
      `SELECT ${BATCH_COLUMNS} FROM batches
        WHERE merchant_id = $1 AND terminal_id = $2 AND batch_no = $3 AND channel = 'UNIONPAY_CARD' AND state = 'OPEN' AND opens_at <= $4
        ORDER BY batch_id FOR UPDATE`,
      [request.merchantId, request.terminalId, request.batchNo, now],
    );
    // Already closing: the request repeats one in progress.
    if (open.length === 0) return current.state === 'OPEN' ? [] : [current];
    const closing = await updateReturning<BatchRow>(tx, 
      `UPDATE batches SET state = 'CLOSING', close_reason = 'TERMINAL_SETTLEMENT', cutoff_at = $2, closing_at = $2, closes_at = LEAST(closes_at, $2)
        WHERE batch_id = ANY($1) AND state = 'OPEN' RETURNING ${BATCH_COLUMNS}`,
      [open.map((b) => b.batch_id), now],
    );
    await this.announceClosing(tx, closing, now);
    const cut = closing.find((b) => b.batch_id === current.batch_id);
    if (cut && current.closes_at.getTime() > now.getTime()) {
      const [{ last }]: { last: number }[] = await tx.query(`SELECT max(sequence)::int AS last FROM batches WHERE base_batch_id = $1`, [key.batchId]);
      await this.openBatch(tx, key, last + 1, { opensAt: now, closesAt: current.closes_at });
    }
    return closing;
  }

  private async announceClosing(tx: EntityManager, closing: readonly BatchRow[], now: Date): Promise<void> {
    if (closing.length === 0) return;
    await this.outbox.append(
      tx,
      closing.map((batch) => {
        const data: BatchClosing = { ...identityOf(batch), reason: batch.close_reason ?? 'CUTOFF', cutoffAt: (batch.cutoff_at ?? now).toISOString() };
        return batchEvent('pos.clearing.batch.closing', batch, data);
      }),
    );
    // A gate the void service closed before we asked (it may close gates of batches we had not
    // seen yet): every void it accepted came before that event in the same partition, so it is here.
    const gated: { batch_id: string }[] = await tx.query(`SELECT batch_id FROM void_gates WHERE batch_id = ANY($1)`, [closing.map((b) => b.batch_id)]);
    for (const { batch_id } of gated) await this.completeClose(tx, batch_id, now);
  }

  /**
   * The void service closed the batch's gate: complete the close (only CLOSING -> CLOSED; repeats
   * are no-ops), once the voids it accepted for the batch are all recorded here.
   */
  async gateClosed(tx: EntityManager, gate: VoidGateClosed, now: Date): Promise<BatchRow | undefined> {
    await tx.query(`INSERT INTO void_gates (batch_id, closed_at, accepted_voids, refused_voids) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, [
      gate.batchId,
      new Date(gate.closedAt),
      gate.acceptedVoids,
      gate.refusedVoids ?? 0,
    ]);
    return this.completeClose(tx, gate.batchId, now);
  }

  /**
   * The channel refused for good to undo an accepted void (ADR 0008): its payment is no longer
   * excluded from its batch, which must still be OPEN or CLOSING. The void service announces the
   * gate-closed of a batch only after every execution of its voids is final, and this event comes
   * before it in the same partition, so a refusal cannot reach a closed batch; if one does, the
   * payment was excluded from totals already paid out, and an operator must look (dead letter).
   * Recorded even before its pos.void.accepted (parked, replayed later: it then changes nothing).
   */
  async recordRefusedVoid(tx: EntityManager, refused: VoidChannelRefused, now: Date): Promise<void> {
    const batches = await queryPrepared<{ batch_id: string; state: BatchState }>(
      tx,
      `SELECT batch_id, state FROM batches
        WHERE batch_id = $1 OR batch_id = (SELECT batch_id FROM batch_payments WHERE payment_id = $2)
        ORDER BY batch_id FOR UPDATE`,
      [refused.batchId, refused.paymentId],
    );
    const closed = batches.find((b) => b.state === 'CLOSED' || b.state === 'SETTLED');
    if (closed) {
      throw new PermanentFailure(
        `void ${refused.voidId} of payment ${refused.paymentId} was refused by ${refused.channel} (${refused.channelCode}) after batch ${closed.batch_id} ` +
          `closed without the payment: cannot happen by ADR 0008 (gate-closed waits for every execution); the merchant is owed the payment`,
      );
    }
    const [recorded] = await queryPrepared<{ void_id: string }>(
      tx,
      `INSERT INTO voided_payments (payment_id, void_id, batch_id, merchant_id, out_trade_no, amount_fen, decided_at, refused_at, refused_code)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (payment_id) DO UPDATE SET refused_at = EXCLUDED.refused_at, refused_code = EXCLUDED.refused_code
        WHERE voided_payments.refused_at IS NULL
       RETURNING void_id`,
      [refused.paymentId, refused.voidId, refused.batchId, refused.merchantId, refused.outTradeNo, refused.amountFen, new Date(refused.decidedAt), new Date(refused.refusedAt), refused.channelCode],
    );
    if (recorded && recorded.void_id !== refused.voidId) {
      throw new PermanentFailure(`payment ${refused.paymentId}: refused void ${refused.voidId} is not its accepted void ${recorded.void_id}`);
    }
    // A batch whose gate closed before this refusal was recorded (it was parked, then replayed) waits for it.
    if (batches.some((b) => b.batch_id === refused.batchId && b.state === 'CLOSING')) await this.completeClose(tx, refused.batchId, now);
  }

  /**
   * Batches in CLOSING whose gate closed with more accepted voids than are recorded here: each
   * waits for a void parked on the dead-letter topic (docs/operations.md). Reads the few CLOSING
   * batches only.
   */
  async countBatchesAwaitingVoids(db: Pick<EntityManager, 'query'>): Promise<number> {
    const [row]: { waiting: number }[] = await db.query(
      `SELECT count(*)::int AS waiting FROM batches b JOIN void_gates g USING (batch_id)
        WHERE b.state = 'CLOSING'
          AND (g.accepted_voids > (SELECT count(*) FROM voided_payments v WHERE v.batch_id = b.batch_id AND v.refused_at IS NULL)
               OR g.refused_voids > (SELECT count(*) FROM voided_payments v WHERE v.batch_id = b.batch_id AND v.refused_at IS NOT NULL))`,
    );
    return row.waiting;
  }

  /** How many batches are in each state; a state no batch is in is absent. */
  async countBatchesByState(db: Pick<EntityManager, 'query'>): Promise<{ state: BatchState; batches: number }[]> {
    return db.query(`SELECT state, count(*)::int AS batches FROM batches GROUP BY state`);
  }

  /**
   * Payments placed in late batches (ADR 0005): a batch repeating the window of an earlier batch of
   * its chain took payments that arrived after that one had closed.
   */
  async countLatePayments(db: Pick<EntityManager, 'query'>): Promise<number> {
    const [row]: { late: number }[] = await db.query(
      `SELECT count(*)::int AS late FROM batch_payments p JOIN batches b USING (batch_id)
        WHERE b.sequence > 1 AND EXISTS (SELECT 1 FROM batches a WHERE a.base_batch_id = b.base_batch_id
                                           AND a.sequence < b.sequence AND a.opens_at = b.opens_at)`,
    );
    return row.late;
  }

  /**
   * CLOSING -> CLOSED with exact totals, all set-based: the voided set is frozen into the batch,
   * totals are one aggregate; payment.cleared events start in the same transaction (see
   * appendPaymentsCleared). Runs only for a batch whose gate is recorded in void_gates.
   */
  private async completeClose(tx: EntityManager, batchId: string, now: Date): Promise<BatchRow | undefined> {
    const [batch]: BatchRow[] = await tx.query(`SELECT ${BATCH_COLUMNS} FROM batches WHERE batch_id = $1 FOR UPDATE`, [batchId]);
    if (!batch || batch.state !== 'CLOSING') return undefined;
    // Invariant 1: a void accepted for the batch and not recorded here (parked on the dead-letter
    // topic) would leave its payment in the totals; a refusal not recorded (ADR 0008) would leave
    // one out that the channel did not undo. Voids of the batch are counted by the void's batch
    // id, as the void service counts them for the gate: executed ones against `accepted_voids`,
    // refused ones against `refused_voids`.
    const [voids]: { accepted: number; refused: number; recorded: number; recorded_refused: number }[] = await tx.query(
      `SELECT g.accepted_voids AS accepted, g.refused_voids AS refused,
              (SELECT count(*)::int FROM voided_payments v WHERE v.batch_id = g.batch_id AND v.refused_at IS NULL) AS recorded,
              (SELECT count(*)::int FROM voided_payments v WHERE v.batch_id = g.batch_id AND v.refused_at IS NOT NULL) AS recorded_refused
         FROM void_gates g WHERE g.batch_id = $1`,
      [batchId],
    );
    if (voids.recorded < voids.accepted || voids.recorded_refused < voids.refused) {
      this.logger.error(
        `batch ${batchId} waits in CLOSING: the void service accepted ${voids.accepted} void(s) for it, ${voids.recorded} recorded` +
          (voids.refused > 0 ? `, and ${voids.refused} refused by their channel, ${voids.recorded_refused} recorded` : '') +
          `; replay the parked pos.void.accepted${voids.refused > 0 ? ' or pos.void.channel-refused' : ''} ` +
          `from ${deadLetterTopicOf(Topics.voidEvents)} and it closes by itself`,
      );
      return undefined;
    }
    await tx.query(
      `UPDATE batch_payments p SET voided = true FROM voided_payments v
        WHERE p.batch_id = $1 AND v.payment_id = p.payment_id AND v.refused_at IS NULL AND NOT p.voided`,
      [batchId],
    );
    const settlementDate = settlementDateFor(parseBusinessDate(batch.clearing_date), this.settings.settlement);
    const [closed] = await updateReturning<BatchRow>(tx, 
      `WITH totals AS (
         SELECT count(*) FILTER (WHERE NOT voided) AS payment_count,
                coalesce(sum(amount_fen) FILTER (WHERE NOT voided), 0) AS total_fen,
                count(*) FILTER (WHERE voided) AS voided_count,
                coalesce(sum(amount_fen) FILTER (WHERE voided), 0) AS voided_fen
           FROM batch_payments WHERE batch_id = $1)
       UPDATE batches b SET state = 'CLOSED', closed_at = $2, settlement_date = $3,
              payment_count = t.payment_count, total_fen = t.total_fen, voided_count = t.voided_count, voided_fen = t.voided_fen
         FROM totals t WHERE b.batch_id = $1 AND b.state = 'CLOSING'
       RETURNING ${batchColumns('b')}`,
      [batchId, now, settlementDate],
    );
    const totals = totalsOfRow(closed);
    const data: BatchClosed = {
      ...identityOf(closed),
      reason: closed.close_reason ?? 'CUTOFF',
      closedAt: now.toISOString(),
      paymentCount: safeNumber(totals.paymentCount),
      totalFen: fenTotal(totals.totalFen),
      voidedCount: safeNumber(totals.voidedCount),
      voidedFen: fenTotal(totals.voidedFen),
      settlementDate,
    };
    await this.outbox.append(tx, [batchEvent('pos.clearing.batch.closed', closed, data)]);
    await this.appendPaymentsCleared(tx, batchId, CLEARED_EVENTS_IN_CLOSE);
    this.logger.log(`batch ${batchId} closed: ${totals.paymentCount} payments, ${totals.totalFen} fen; ${totals.voidedCount} voided`);
    return closed;
  }

  /**
   * Writes the next `limit` pos.clearing.payment.cleared events of a closed batch to the outbox and
   * moves the batch's cursor past them, in the caller's transaction, so each payment's event is
   * written exactly once however often this runs. The close itself writes the first chunk; the
   * scheduler writes the rest, so closing a batch of a million payments does not wait for a
   * million outbox rows (they follow, about 100,000 per transaction).
   *
   * Set-based, one INSERT ... SELECT, instead of Outbox.append: building and validating a million
   * rows in Node would take minutes. The rows are exactly what Outbox.append writes: the
   * CloudEvents headers of libs/contracts (cloud-events.ts) as encodeEnvelope (libs/messaging
   * envelope-codec.ts) builds them, the trace context of the work that writes them (the close, or
   * the scheduler's job), key = the merchant, the PaymentCleared payload (the
   * integration tests validate the published events against the contract). Event ids are
   * time-ordered UUIDs (statement time, sequence, 48 random bits) rather than random ones: random
   * ids scatter a million inserts across the outbox's unique index, which measured ~60% slower.
   * Returns whether the batch has no events left to write.
   */
  async appendPaymentsCleared(tx: EntityManager, batchId: string, limit: number): Promise<boolean> {
    const [batch] = await tx.query(
      `SELECT closed_at, cleared_cursor_at::text AS cursor_at, cleared_cursor_id AS cursor_id, cleared_events_done AS done
         FROM batches WHERE batch_id = $1 AND state IN ('CLOSED', 'SETTLED') FOR UPDATE`,
      [batchId],
    );
    if (!batch || batch.done) return true;
    const type = 'pos.clearing.payment.cleared';
    const contract = contractFor(Topics.clearingEvents, type);
    if (!contract) throw new Error(`${type} has no contract`);
    const clearedAt = (batch.closed_at as Date).toISOString();
    const after = batch.cursor_at === null ? '' : `AND (succeeded_at, payment_id) > ($11::timestamptz, $12::uuid)`;
    const [last] = await tx.query(
      `WITH chunk AS (
         SELECT payment_id, merchant_id, batch_id, amount_fen, succeeded_at,
                (lpad(to_hex((extract(epoch FROM statement_timestamp()) * 1000)::bigint), 12, '0') || '7' ||
                 lpad(to_hex(row_number() OVER (ORDER BY succeeded_at, payment_id)), 7, '0') ||
                 substr(md5(random()::text), 1, 12))::uuid AS event_id
           FROM batch_payments
          WHERE batch_id = $1 AND NOT voided ${after}
          ORDER BY succeeded_at, payment_id LIMIT ${Number(limit)}),
       written AS (
         INSERT INTO outbox (event_id, topic, message_key, headers, payload, traceparent)
         SELECT event_id, $2, merchant_id,
                jsonb_build_object(
                  '${CloudEventHeaders.id}', event_id::text,
                  '${CloudEventHeaders.type}', $3::text,
                  '${CloudEventHeaders.source}', $4::text,
                  '${CloudEventHeaders.time}', $5::text,
                  '${CloudEventHeaders.specVersion}', $6::text,
                  '${CloudEventHeaders.schemaVersion}', $7::text,
                  '${CloudEventHeaders.contentType}', $8::text,
                  '${CloudEventHeaders.subject}', payment_id::text),
                jsonb_build_object('paymentId', payment_id::text, 'merchantId', merchant_id, 'batchId', batch_id,
                                   'amountFen', amount_fen, 'clearedAt', $9::text),
                $10::text
           FROM chunk ORDER BY event_id)
       SELECT count(*)::int AS n, max(succeeded_at)::text AS at,
              (array_agg(payment_id ORDER BY succeeded_at DESC, payment_id DESC))[1] AS id
         FROM chunk`,
      [
        batchId,
        Topics.clearingEvents,
        type,
        this.source,
        clearedAt,
        CLOUD_EVENTS_SPEC_VERSION,
        String(contract.schemaVersion),
        JSON_CONTENT_TYPE,
        clearedAt,
        traceparentForEvents(),
        ...(batch.cursor_at === null ? [] : [batch.cursor_at, batch.cursor_id]),
      ],
    );
    const done = last.n < limit;
    await tx.query(
      `UPDATE batches SET cleared_events_done = $2,
              cleared_cursor_at = coalesce($3::timestamptz, cleared_cursor_at), cleared_cursor_id = coalesce($4::uuid, cleared_cursor_id)
        WHERE batch_id = $1`,
      [batchId, done, last.at, last.id],
    );
    return done;
  }

  /** Closed batches whose payment.cleared events are not all written yet, oldest close first. */
  async batchesWithPendingClearedEvents(tx: EntityManager, limit: number): Promise<string[]> {
    const rows: { batch_id: string }[] = await tx.query(
      `SELECT batch_id FROM batches WHERE NOT cleared_events_done AND state IN ('CLOSED', 'SETTLED')
        ORDER BY closed_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [limit],
    );
    return rows.map((r) => r.batch_id);
  }

  /** Settlement dates reached (00:00 Asia/Shanghai): CLOSED -> SETTLED. */
  async settleDueBatches(tx: EntityManager, now: Date): Promise<BatchRow[]> {
    const today: BusinessDate = businessDateOf(now);
    const settled = await updateReturning<BatchRow>(tx, 
      `UPDATE batches SET state = 'SETTLED', settled_at = $1
        WHERE batch_id IN (SELECT batch_id FROM batches WHERE state = 'CLOSED' AND settlement_date <= $2::date
                            ORDER BY settlement_date LIMIT ${BATCHES_PER_TICK} FOR UPDATE SKIP LOCKED)
          AND state = 'CLOSED'
        RETURNING ${BATCH_COLUMNS}`,
      [now, today],
    );
    if (settled.length > 0) {
      await this.outbox.append(
        tx,
        settled.map((batch) => {
          const data: BatchSettled = { ...identityOf(batch), settlementDate: batch.settlement_date ?? today, settledAt: now.toISOString() };
          return batchEvent('pos.clearing.batch.settled', batch, data);
        }),
      );
    }
    return settled;
  }
}
