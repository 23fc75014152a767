/**
 * Money-moving operator actions need four eyes: one operator requests, another (role `approver`)
 * approves, through the clearing service's `/v1/approvals` (docs/security.md).
 */
export const APPROVAL_ACTIONS = ['terminal-settlement', 'dlq-replay'] as const;
export type ApprovalAction = (typeof APPROVAL_ACTIONS)[number];

export const APPROVAL_STATES = ['PENDING', 'APPROVED', 'REJECTED', 'EXECUTED', 'EXPIRED'] as const;
export type ApprovalState = (typeof APPROVAL_STATES)[number];

/** Dead letters of these event types move money when replayed: their replay needs an approved request. */
export const FOUR_EYES_REPLAY_TYPES = ['pos.payment.succeeded', 'pos.void.accepted'] as const;

export interface TerminalSettlementParams {
  readonly merchantId: string;
  readonly terminalId: string;
  readonly batchNo: string;
}

/** One dead letter: its dead-letter topic (logical name), position and event type. */
export interface DeadLetterReplayParams {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly type: string;
}

/** An approval request as the API answers it. */
export interface ApprovalView {
  readonly approvalId: string;
  readonly action: ApprovalAction;
  readonly target: string;
  readonly params: TerminalSettlementParams | DeadLetterReplayParams;
  readonly reason: string;
  readonly state: ApprovalState;
  readonly requestedBy: string;
  readonly requestedAt: string;
  readonly expiresAt: string;
  readonly decidedBy: string | null;
  readonly decidedAt: string | null;
  readonly executedAt: string | null;
}
