import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { z } from 'zod';
import { AuditOutcome, AuditTrail } from '@pos/audit';
import { Clock } from '@pos/business-calendar';
import {
  ApprovalAction,
  ApprovalState,
  ApprovalView,
  DeadLetterReplayParams,
  FOUR_EYES_REPLAY_TYPES,
  TerminalSettlementParams,
  Topics,
} from '@pos/contracts';
import { CLOCK, MessageValidator } from '@pos/messaging';
import { ApiError, Caller, OperatorIdentity, Principal } from '@pos/service-runtime';
import { BatchLedger, BatchRow, updateReturning } from './batch-ledger';
import { CLEARING_SETTINGS, ClearingSettings } from './clearing-settings';

interface ApprovalRow {
  approval_id: string;
  action: ApprovalAction;
  target: string;
  params: TerminalSettlementParams | DeadLetterReplayParams;
  reason: string;
  state: Exclude<ApprovalState, 'EXPIRED'>;
  requested_by: string;
  requested_at: Date;
  expires_at: Date;
  decided_by: string | null;
  decided_at: Date | null;
  executed_at: Date | null;
}

/** Who is recorded in the audit trail for a caller. */
export function auditActorOf(principal: Principal): { actor: string; role: string } {
  return principal.kind === 'merchant' ? { actor: principal.merchantId, role: 'merchant' } : { actor: principal.name, role: principal.role };
}

const reason = z.string().trim().min(3).max(500);
const deadLetterParams = z
  .object({
    topic: z.string().regex(/^[a-z][a-z0-9.-]{0,200}\.dlq$/, 'a dead-letter topic (…​.dlq)'),
    partition: z.number().int().min(0).max(100_000),
    offset: z.string().regex(/^[0-9]{1,19}$/, 'a non-negative integer, as a string'),
    type: z.enum(FOUR_EYES_REPLAY_TYPES),
  })
  .strict();
const terminalParams = z.object({ merchantId: z.string(), terminalId: z.string(), batchNo: z.string() }).strict();
const requestBody = z.discriminatedUnion('action', [
  z.object({ action: z.literal('terminal-settlement'), params: terminalParams, reason }).strict(),
  z.object({ action: z.literal('dlq-replay'), params: deadLetterParams, reason }).strict(),
]);
const claimBody = z.object({ action: z.literal('dlq-replay'), params: deadLetterParams }).strict();

function problemOf(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
}

const targetOf = (action: ApprovalAction, params: TerminalSettlementParams | DeadLetterReplayParams): string =>
  action === 'terminal-settlement'
    ? `${(params as TerminalSettlementParams).merchantId}/${(params as TerminalSettlementParams).terminalId}`
    : `${(params as DeadLetterReplayParams).topic}/${(params as DeadLetterReplayParams).partition}/${(params as DeadLetterReplayParams).offset}`;

export interface ApprovalQuery {
  readonly state?: ApprovalState;
  readonly limit: number;
}

/**
 * Four-eyes approvals (see CreateApprovals1765200000000): every request, decision and execution is
 * written to the audit trail in the same transaction; refusals get a record of their own.
 */
@Injectable()
export class Approvals {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditTrail,
    private readonly ledger: BatchLedger,
    private readonly validator: MessageValidator,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(CLEARING_SETTINGS) private readonly settings: ClearingSettings,
  ) {}

  async request(operator: OperatorIdentity, caller: Caller, body: unknown): Promise<ApprovalView> {
    const parsed = requestBody.safeParse(body);
    if (!parsed.success) throw new ApiError('INVALID_REQUEST', problemOf(parsed.error));
    const { action, params } = parsed.data;
    if (action === 'terminal-settlement') {
      const check = this.validator.validate(Topics.clearingCommands, 'pos.clearing.terminal-settlement.requested', 1, this.settlementOf(params, operator.name));
      if (!check.ok) throw new ApiError('INVALID_REQUEST', check.detail);
    }
    const now = this.clock.now();
    const target = targetOf(action, params);
    return this.dataSource.transaction(async (tx) => {
      const [row]: ApprovalRow[] = await tx.query(
        `INSERT INTO approvals (approval_id, action, target, params, reason, requested_by, requested_at, expires_at)
         VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8) RETURNING *`,
        [randomUUID(), action, target, JSON.stringify(params), parsed.data.reason, operator.name, now, new Date(now.getTime() + this.settings.approvalTtlMs)],
      );
      await this.record(tx, caller, 'approval.requested', row.approval_id, 'SUCCEEDED', { action, target, reason: row.reason });
      return this.view(row, now);
    });
  }

  /**
   * An approver's decision. Approving a terminal settlement executes it in the same transaction:
   * the answer carries the batches it closes.
   */
  async decide(approvalId: string, approver: OperatorIdentity, caller: Caller, approve: boolean): Promise<{ approval: ApprovalView; closing: BatchRow[] }> {
    const now = this.clock.now();
    const verb = approve ? 'approve' : 'reject';
    const refusal = await this.dataSource.transaction(async (tx): Promise<ApiError | { approval: ApprovalView; closing: BatchRow[] }> => {
      const row = await this.locked(tx, approvalId);
      const state = this.stateOf(row, now);
      if (row.requested_by === approver.name) return new ApiError('SELF_APPROVAL', `${approver.name} requested ${approvalId} and cannot ${verb} it: another approver must`);
      if (state !== 'PENDING') return new ApiError('APPROVAL_NOT_PENDING', `approval ${approvalId} is ${state}`, { state });
      let closing: BatchRow[] = [];
      let executed = false;
      if (approve && row.action === 'terminal-settlement') {
        closing = await this.ledger.settleTerminal(tx, this.settlementOf(row.params as TerminalSettlementParams, row.requested_by), now);
        executed = true;
      }
      const [updated] = await updateReturning<ApprovalRow>(
        tx,
        `UPDATE approvals SET state = $2, decided_by = $3, decided_at = $4, executed_at = $5 WHERE approval_id = $1 RETURNING *`,
        [approvalId, executed ? 'EXECUTED' : approve ? 'APPROVED' : 'REJECTED', approver.name, now, executed ? now : null],
      );
      await this.record(tx, caller, approve ? 'approval.approved' : 'approval.rejected', approvalId, 'SUCCEEDED', {
        action: row.action,
        target: row.target,
        requestedBy: row.requested_by,
      });
      if (executed) {
        await this.record(tx, caller, 'terminal-settlement.executed', row.target, 'SUCCEEDED', {
          approvalId,
          requestedBy: row.requested_by,
          approvedBy: approver.name,
          batchIds: closing.map((b) => b.batch_id),
        });
      }
      return { approval: this.view(updated, now), closing };
    });
    if (refusal instanceof ApiError) throw await this.refused(caller, `approval.${verb}`, approvalId, refusal);
    return refusal;
  }

  /**
   * The operator CLI's step before it replays a dead letter: the request must be approved, unexpired,
   * the caller's own, and for exactly this dead letter. It is executed from then on (once).
   */
  async claim(approvalId: string, operator: OperatorIdentity, caller: Caller, body: unknown): Promise<ApprovalView> {
    const parsed = claimBody.safeParse(body);
    if (!parsed.success) throw new ApiError('INVALID_REQUEST', problemOf(parsed.error));
    const now = this.clock.now();
    const outcome = await this.dataSource.transaction(async (tx): Promise<ApiError | ApprovalView> => {
      const row = await this.locked(tx, approvalId);
      const state = this.stateOf(row, now);
      const wanted = targetOf('dlq-replay', parsed.data.params);
      if (row.action !== 'dlq-replay' || row.target !== wanted || (row.params as DeadLetterReplayParams).type !== parsed.data.params.type) {
        return new ApiError('APPROVAL_MISMATCH', `approval ${approvalId} is for ${row.action} of ${row.target}, not dlq-replay of ${wanted}`);
      }
      if (row.requested_by !== operator.name) return new ApiError('APPROVAL_MISMATCH', `approval ${approvalId} was requested by ${row.requested_by}; only they execute it`);
      if (state !== 'APPROVED') return new ApiError('APPROVAL_NOT_APPROVED', `approval ${approvalId} is ${state}`, { state });
      const [updated] = await updateReturning<ApprovalRow>(tx, `UPDATE approvals SET state = 'EXECUTED', executed_at = $2 WHERE approval_id = $1 RETURNING *`, [approvalId, now]);
      await this.record(tx, caller, 'dlq-replay.executed', row.target, 'SUCCEEDED', { approvalId, type: parsed.data.params.type, approvedBy: row.decided_by });
      return this.view(updated, now);
    });
    if (outcome instanceof ApiError) throw await this.refused(caller, 'dlq-replay.executed', approvalId, outcome);
    return outcome;
  }

  async find(approvalId: string): Promise<ApprovalView> {
    const [row]: ApprovalRow[] = await this.dataSource.query(`SELECT * FROM approvals WHERE approval_id::text = $1`, [approvalId]);
    if (!row) throw new ApiError('APPROVAL_NOT_FOUND', `no approval ${approvalId}`);
    return this.view(row, this.clock.now());
  }

  async list(query: ApprovalQuery): Promise<ApprovalView[]> {
    const now = this.clock.now();
    const byState: Record<ApprovalState, [string, unknown[]]> = {
      PENDING: [`state = 'PENDING' AND expires_at > $1`, [now]],
      APPROVED: [`state = 'APPROVED' AND expires_at > $1`, [now]],
      EXPIRED: [`state IN ('PENDING', 'APPROVED') AND expires_at <= $1`, [now]],
      REJECTED: [`state = 'REJECTED'`, []],
      EXECUTED: [`state = 'EXECUTED'`, []],
    };
    const [where, values] = query.state ? byState[query.state] : ['true', []];
    const rows: ApprovalRow[] = await this.dataSource.query(
      `SELECT * FROM approvals WHERE ${where} ORDER BY requested_at DESC, approval_id LIMIT $${values.length + 1}`,
      [...values, query.limit],
    );
    return rows.map((row) => this.view(row, now));
  }

  /** A refusal of a money-moving action, recorded on its own (nothing else was written), then thrown. */
  async refused(caller: Caller, action: string, target: string | null, error: ApiError): Promise<ApiError> {
    await this.record(this.dataSource.manager, caller, action, target, 'REFUSED', { code: error.code });
    return error;
  }

  async record(tx: EntityManager, caller: Caller, action: string, target: string | null, outcome: AuditOutcome, details: Record<string, unknown>): Promise<void> {
    await this.audit.record(tx, { at: this.clock.now(), ...auditActorOf(caller.principal), action, target, outcome, remoteAddress: caller.remoteAddress, details });
  }

  private settlementOf(params: TerminalSettlementParams, requester: string) {
    return { merchantId: params.merchantId, terminalId: params.terminalId, batchNo: params.batchNo, requestedBy: `operator:${requester}` };
  }

  private async locked(tx: EntityManager, approvalId: string): Promise<ApprovalRow> {
    const [row]: ApprovalRow[] = await tx.query(`SELECT * FROM approvals WHERE approval_id::text = $1 FOR UPDATE`, [approvalId]);
    if (!row) throw new ApiError('APPROVAL_NOT_FOUND', `no approval ${approvalId}`);
    return row;
  }

  private stateOf(row: ApprovalRow, now: Date): ApprovalState {
    return (row.state === 'PENDING' || row.state === 'APPROVED') && row.expires_at.getTime() <= now.getTime() ? 'EXPIRED' : row.state;
  }

  private view(row: ApprovalRow, now: Date): ApprovalView {
    return {
      approvalId: row.approval_id,
      action: row.action,
      target: row.target,
      params: row.params,
      reason: row.reason,
      state: this.stateOf(row, now),
      requestedBy: row.requested_by,
      requestedAt: row.requested_at.toISOString(),
      expiresAt: row.expires_at.toISOString(),
      decidedBy: row.decided_by,
      decidedAt: row.decided_at?.toISOString() ?? null,
      executedAt: row.executed_at?.toISOString() ?? null,
    };
  }
}
