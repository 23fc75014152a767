import { APPROVAL_STATES, ApprovalView, FOUR_EYES_REPLAY_TYPES } from '@pos/contracts';
import { OperatorApi } from '../operator-api';
import { OpsContext, parseTime } from '../context';
import { usageError } from '../exit-codes';
import { dlqShowCommand, replayParamsOf } from './dlq';

/** Asks for a second operator's approval to replay one dead letter of a money event. */
export async function requestReplayCommand(ctx: OpsContext, api: OperatorApi, topic: string, at: string, reason: string): Promise<ApprovalView> {
  const { record } = await dlqShowCommand(ctx, topic, at);
  const params = replayParamsOf(record);
  if (!(FOUR_EYES_REPLAY_TYPES as readonly string[]).includes(params.type)) {
    throw usageError(`${topic} ${at} is a ${params.type || 'undecodable message'}: its replay needs no approval`, 'replay it with `dlq replay`');
  }
  return api.call<ApprovalView>('POST', '/v1/approvals', { action: 'dlq-replay', params, reason });
}

/** Asks for a second operator's approval of a terminal settlement (结算) on behalf of a merchant; approving it executes it. */
export function requestSettlementCommand(api: OperatorApi, merchantId: string, terminalId: string, batchNo: string, reason: string): Promise<ApprovalView> {
  return api.call<ApprovalView>('POST', '/v1/approvals', { action: 'terminal-settlement', params: { merchantId, terminalId, batchNo }, reason });
}

export async function listApprovalsCommand(api: OperatorApi, options: { state?: string; limit?: string }): Promise<ApprovalView[]> {
  if (options.state !== undefined && !(APPROVAL_STATES as readonly string[]).includes(options.state)) {
    throw usageError(`--state ${options.state} is not one of ${APPROVAL_STATES.join(', ')}`);
  }
  const query = new URLSearchParams({ ...(options.state ? { state: options.state } : {}), ...(options.limit ? { limit: options.limit } : {}) });
  return (await api.call<{ approvals: ApprovalView[] }>('GET', `/v1/approvals?${query}`)).approvals;
}

export const showApprovalCommand = (api: OperatorApi, approvalId: string) => api.call<ApprovalView>('GET', `/v1/approvals/${encodeURIComponent(approvalId)}`);

/** An approver's decision; approving a terminal settlement executes it (the answer has its batches). */
export function decideCommand(api: OperatorApi, approvalId: string, decision: 'approve' | 'reject'): Promise<ApprovalView | { approval: ApprovalView; batches: unknown[] }> {
  return api.call('POST', `/v1/approvals/${encodeURIComponent(approvalId)}/${decision}`);
}

export function renderApprovals(approvals: readonly ApprovalView[]): string {
  if (approvals.length === 0) return 'no approval requests';
  return approvals
    .map((a) => {
      const decided = a.decidedBy ? `  ${a.state === 'REJECTED' ? 'rejected' : 'approved'} by ${a.decidedBy} at ${a.decidedAt}` : '';
      return `${a.approvalId}  ${a.state}  ${a.action} ${a.target}\n    requested by ${a.requestedBy} at ${a.requestedAt} (expires ${a.expiresAt}): ${a.reason}${decided ? `\n  ${decided}` : ''}`;
    })
    .join('\n');
}

export interface AuditOptions {
  readonly actor?: string;
  readonly action?: string;
  readonly target?: string;
  readonly outcome?: string;
  readonly since?: string;
  readonly until?: string;
  readonly before?: string;
  readonly limit?: string;
}

export interface AuditRecordView {
  readonly id: string;
  readonly at: string;
  readonly atShanghai: string;
  readonly actor: string;
  readonly role: string;
  readonly action: string;
  readonly target: string | null;
  readonly outcome: string;
  readonly remoteAddress: string | null;
  readonly details: Record<string, unknown>;
}

/** The audit trail (newest first), filtered as the API filters it; times as `tail` takes them (`2h`, RFC 3339). */
export async function auditCommand(api: OperatorApi, options: AuditOptions, now: Date): Promise<AuditRecordView[]> {
  const query = new URLSearchParams();
  for (const key of ['actor', 'action', 'target', 'outcome', 'before', 'limit'] as const) if (options[key] !== undefined) query.set(key, options[key] as string);
  if (options.since !== undefined) query.set('from', new Date(parseTime(options.since, now)).toISOString());
  if (options.until !== undefined) query.set('to', new Date(parseTime(options.until, now)).toISOString());
  return (await api.call<{ records: AuditRecordView[] }>('GET', `/v1/audit?${query}`)).records;
}

export function renderAudit(records: readonly AuditRecordView[]): string {
  if (records.length === 0) return 'no audit records';
  return records
    .map((r) => `${r.atShanghai}  ${r.outcome.padEnd(9)} ${r.actor} (${r.role})  ${r.action}${r.target ? ` ${r.target}` : ''}  from ${r.remoteAddress ?? '-'}  ${JSON.stringify(r.details)}  #${r.id}`)
    .join('\n');
}
