import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { Topics, VoidGateClosed } from '@pos/contracts';
import { Outbox } from '@pos/messaging';
import { queryPrepared } from '@pos/persistence';

export type Announcement =
  | { readonly announced: true; readonly acceptedVoids: number; readonly refusedVoids: number }
  /** Executions of the batch's voids are still waiting for their channel's final answer. */
  | { readonly announced: false; readonly pendingExecutions: number };

/**
 * `pos.void.gate-closed` for a closed gate, once every void accepted for its batch has a final
 * execution at the channel (ADR 0008). Two callers: the closing of the gate (nothing pending, or
 * nothing yet), and the executor that makes the last pending execution final. Each holds the gate
 * row `FOR UPDATE` when it calls, so exactly one of them sees "none pending", and the event follows
 * every executed and refused event of the batch in the outbox (they are written under the gate's
 * lock too).
 */
@Injectable()
export class GateAnnouncements {
  constructor(private readonly outbox: Outbox) {}

  /** `tx` holds the gate's row lock; the gate is CLOSED and not announced yet. */
  async announceIfSettled(tx: EntityManager, gate: { batchId: string; merchantId: string; closedAt: Date }, now: Date): Promise<Announcement> {
    // Voids accepted before executions existed have no row: their exclusion stands, as it did.
    const [counts] = await queryPrepared<{ accepted: number; pending: number; refused: number }>(
      tx,
      `SELECT (SELECT count(*)::int FROM void_decisions WHERE batch_id = $1 AND decision = 'ACCEPTED') AS accepted,
              count(*) FILTER (WHERE state = 'PENDING')::int AS pending,
              count(*) FILTER (WHERE state = 'CHANNEL_REFUSED')::int AS refused
         FROM void_executions WHERE batch_id = $1 AND state <> 'EXECUTED'`,
      [gate.batchId],
    );
    if (counts.pending > 0) return { announced: false, pendingExecutions: counts.pending };
    const closed: VoidGateClosed = {
      batchId: gate.batchId,
      merchantId: gate.merchantId,
      closedAt: gate.closedAt.toISOString(),
      acceptedVoids: counts.accepted - counts.refused,
      refusedVoids: counts.refused,
    };
    await this.outbox.append(tx, [{ topic: Topics.voidEvents, type: 'pos.void.gate-closed', key: gate.merchantId, subject: gate.batchId, data: closed }]);
    await queryPrepared(tx, `UPDATE void_gates SET announced_at = $2 WHERE batch_id = $1`, [gate.batchId, now]);
    return { announced: true, acceptedVoids: closed.acceptedVoids, refusedVoids: counts.refused };
  }
}
