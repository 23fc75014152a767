import { nextCutoffAfter } from '@pos/business-calendar';
import type { BatchCloseReason, ChannelName, Remedy, VoidRejectionReason } from '@pos/contracts';
import { ChannelVoidRule, VoidRules } from './void-rules';

export type PaymentStatus = 'PENDING' | 'SUCCEEDED' | 'FAILED' | 'REVERSED';

export interface CardReference {
  readonly batchNo: string;
  readonly voucherNo: string;
}

/** What the void service knows about a payment, from payments.events.v1 and clearing.events.v1. */
export interface PaymentFacts {
  readonly paymentId: string;
  readonly merchantId: string;
  readonly terminalId: string;
  readonly channel: ChannelName;
  readonly amountFen: number;
  readonly outTradeNo: string;
  readonly status: PaymentStatus;
  /** When the pay call was made, as far as known: the first of pending-since and succeeded-at. */
  readonly orderCreatedAt: Date;
  readonly succeededAt?: Date;
  readonly card?: CardReference;
  /** The accepted void of this payment, if any (while its channel has not refused it). */
  readonly voidedBy?: string;
  /** An accepted void of this payment that the channel refused for good (ADR 0008): only a refund is left. */
  readonly voidRefusedBy?: string;
  /** Clearing reported the payment cleared. */
  readonly cleared: boolean;
}

/** The void gate of the payment's settlement batch (ADR 0002). */
export interface GateFacts {
  readonly batchId: string;
  readonly status: 'OPEN' | 'CLOSED';
  readonly closeReason?: BatchCloseReason;
  /** The batch's cutoff: no void is accepted at or after it, even while the gate is still open. */
  readonly closesAt: Date;
}

/**
 * The supervisor credential, already checked by the shell (which never lets the credential go
 * further). LOCKED: the supervisor is locked after repeated wrong credentials, whatever was presented.
 */
export type SupervisorCheck = 'VERIFIED' | 'MISSING' | 'INVALID' | 'LOCKED';

export interface VoidRequestFacts {
  readonly merchantId: string;
  /** The merchant's order number, when the request names it (with or without the payment id). */
  readonly outTradeNo?: string;
  readonly terminalId: string;
  readonly amountFen: number;
  readonly card?: CardReference;
  readonly supervisor: SupervisorCheck;
}

export type VoidDecision =
  | { readonly decision: 'ACCEPTED'; readonly remedy: 'NONE'; readonly deadline: Date; readonly message: string }
  | {
      readonly decision: 'REJECTED';
      readonly reason: VoidRejectionReason;
      readonly remedy: Remedy;
      readonly deadline?: Date;
      readonly message: string;
    };

export const REASON_MESSAGES: Readonly<Record<VoidRejectionReason, string>> = {
  PAYMENT_NOT_FOUND: 'No such payment is known for this merchant (yet); retry later if it was just paid.',
  PAYMENT_REFERENCE_MISMATCH: 'The payment id and the order number name different payments; correct the request.',
  CLEARING_PENDING: 'Clearing has not yet placed this payment in a settlement batch; retry in a moment.',
  PAYMENT_PENDING: 'The customer is still paying; retry once the payment has completed.',
  PAYMENT_NOT_SUCCEEDED: 'The payment did not succeed, so there is nothing to void.',
  ALREADY_VOIDED: 'The payment has already been voided.',
  ALREADY_CLEARED: 'The payment has been cleared (its settlement batch has closed); refund it instead.',
  CUTOFF_PASSED: "The payment's batch has cut off; refund it instead.",
  VOID_WINDOW_EXPIRED: "The channel's void window has expired; refund it instead.",
  VOID_TOO_EARLY: 'Too soon after the payment for the channel to accept a void; retry shortly.',
  AMOUNT_MISMATCH: 'A void cancels the full amount; for a partial amount use a refund.',
  TERMINAL_MISMATCH: 'This channel only accepts a void from the terminal that took the payment.',
  CARD_REFERENCE_MISMATCH: 'The original batch and voucher numbers do not match the payment.',
  SUPERVISOR_AUTH_REQUIRED: 'A valid supervisor authorisation is required for this void.',
  MODIFIED_REQUEST: 'This idempotency key was used before for a different void request.',
  SUPERVISOR_LOCKED:
    'The supervisor is locked after repeated wrong credentials; retry once the lock has expired, or with another supervisor.',
  CHANNEL_REFUSED: 'The channel refused to void this payment after an earlier void was accepted; refund it instead.',
};

function reject(reason: VoidRejectionReason, remedy: Remedy, deadline?: Date): VoidDecision {
  return { decision: 'REJECTED', reason, remedy, message: REASON_MESSAGES[reason], ...(deadline ? { deadline } : {}) };
}

/** The end of the channel's own void window for this payment (exclusive). */
export function voidWindowEndOf(rule: ChannelVoidRule, payment: PaymentFacts): Date {
  if (rule.window.kind === 'MAX_AGE') return new Date(payment.orderCreatedAt.getTime() + rule.window.maxAgeMs);
  return nextCutoffAfter(rule.window.schedule, payment.succeededAt ?? payment.orderCreatedAt);
}

/**
 * The request as the policy sees it. TO_BE_PROVIDED: nobody has presented a supervisor yet, and the
 * question is whether a void would be accepted once a valid one is (the eligibility question);
 * only `assessVoid` asks it, a decision always carries what was actually presented.
 */
type PolicyRequest = Omit<VoidRequestFacts, 'supervisor'> & { readonly supervisor: SupervisorCheck | 'TO_BE_PROVIDED' };

/**
 * The void policy: a pure function of the payment, its batch gate, the channel rules and the decision
 * time. Checks run from the facts that no retry can change (existence, state, clearing, time) to the
 * ones the caller can correct (terminal, amount, card reference, supervisor), so a rejection names
 * the remedy that actually helps. A payment of another merchant is reported exactly like an unknown
 * one, so the answer never reveals that it exists.
 */
function evaluate(
  request: PolicyRequest,
  payment: PaymentFacts | undefined,
  gate: GateFacts | undefined,
  rules: VoidRules,
  now: Date,
): VoidDecision {
  if (!payment || payment.merchantId !== request.merchantId) return reject('PAYMENT_NOT_FOUND', 'RETRY_LATER');
  // A payment's order number never changes: a request naming another one can never succeed.
  if (request.outTradeNo !== undefined && request.outTradeNo !== payment.outTradeNo) return reject('PAYMENT_REFERENCE_MISMATCH', 'CORRECT_REQUEST');
  if (payment.status === 'PENDING') return reject('PAYMENT_PENDING', 'RETRY_LATER');
  if (payment.status !== 'SUCCEEDED') return reject('PAYMENT_NOT_SUCCEEDED', 'NONE');
  // Clearing alone names the batch (ADR 0005): until it has, nothing can be decided against a cutoff.
  if (!gate) return reject('CLEARING_PENDING', 'RETRY_LATER');

  const rule = rules[payment.channel];
  const windowEnd = voidWindowEndOf(rule, payment);
  const deadline = windowEnd.getTime() < gate.closesAt.getTime() ? windowEnd : gate.closesAt;
  const at = now.getTime();

  if (payment.voidedBy) return reject('ALREADY_VOIDED', 'NONE', deadline);
  // The channel said no for good to an earlier void: asking it again gets the same answer.
  if (payment.voidRefusedBy) return reject('CHANNEL_REFUSED', 'REFUND', deadline);
  if (payment.cleared || (gate.status === 'CLOSED' && gate.closeReason === 'TERMINAL_SETTLEMENT')) {
    return reject('ALREADY_CLEARED', 'REFUND', deadline);
  }
  if (gate.status === 'CLOSED' || at >= gate.closesAt.getTime()) return reject('CUTOFF_PASSED', 'REFUND', deadline);
  if (at >= windowEnd.getTime()) return reject('VOID_WINDOW_EXPIRED', 'REFUND', deadline);

  if (rule.requireOriginalTerminal && request.terminalId !== payment.terminalId) {
    return reject('TERMINAL_MISMATCH', 'CORRECT_REQUEST', deadline);
  }
  if (request.amountFen !== payment.amountFen) {
    return reject('AMOUNT_MISMATCH', request.amountFen < payment.amountFen ? 'REFUND' : 'CORRECT_REQUEST', deadline);
  }
  if (rule.requireCardReference && !sameCardReference(request.card, payment.card)) {
    return reject('CARD_REFERENCE_MISMATCH', 'CORRECT_REQUEST', deadline);
  }
  if (rule.requireSupervisor && request.supervisor === 'LOCKED') return reject('SUPERVISOR_LOCKED', 'RETRY_LATER', deadline);
  if (rule.requireSupervisor && request.supervisor !== 'VERIFIED' && request.supervisor !== 'TO_BE_PROVIDED') {
    return reject('SUPERVISOR_AUTH_REQUIRED', 'CORRECT_REQUEST', deadline);
  }
  if (at < payment.orderCreatedAt.getTime() + rule.minAgeMs) return reject('VOID_TOO_EARLY', 'RETRY_LATER', deadline);
  return { decision: 'ACCEPTED', remedy: 'NONE', deadline, message: 'The void was accepted; its channel is asked to undo the payment.' };
}

/** The decision on a void request: the policy applied to what the request actually presented. */
export function decideVoid(
  request: VoidRequestFacts,
  payment: PaymentFacts | undefined,
  gate: GateFacts | undefined,
  rules: VoidRules,
  now: Date,
): VoidDecision {
  return evaluate(request, payment, gate, rules, now);
}

/** Who asks whether a payment could be voided now, and from which terminal (by default the payment's own). */
export interface EligibilityQuery {
  readonly merchantId: string;
  readonly terminalId?: string;
}

export type VoidEligibility =
  | {
      readonly eligible: true;
      /** Exclusive: a void is accepted strictly before it (the batch cutoff or the channel's window end, whichever is first). */
      readonly deadline: Date;
      /** Whole seconds from the assessment time to the deadline, rounded down. */
      readonly secondsLeft: number;
      readonly batchId: string;
      readonly channel: ChannelName;
      /** The void must carry a valid supervisor authorisation (主管授权): UnionPay card voids by default. */
      readonly supervisorRequired: boolean;
      readonly message: string;
    }
  | {
      readonly eligible: false;
      readonly reason: VoidRejectionReason;
      readonly remedy: Remedy;
      readonly deadline?: Date;
      readonly message: string;
    };

/**
 * Would a void of this payment be accepted now? The policy itself (`evaluate`, as `decideVoid`),
 * asked with the request a terminal would send: the payment's full amount, its card reference, the
 * query's terminal (else the payment's), and the supervisor to be provided where the channel needs
 * one. A rejection is exactly the one a void sent now would get (reason, remedy, message, deadline).
 */
export function assessVoid(
  query: EligibilityQuery,
  payment: PaymentFacts | undefined,
  gate: GateFacts | undefined,
  rules: VoidRules,
  now: Date,
): VoidEligibility {
  const request: PolicyRequest = {
    merchantId: query.merchantId,
    // Without a payment the policy answers PAYMENT_NOT_FOUND before looking at the rest of the request.
    terminalId: query.terminalId ?? payment?.terminalId ?? '',
    amountFen: payment?.amountFen ?? 0,
    ...(payment?.card ? { card: payment.card } : {}),
    supervisor: 'TO_BE_PROVIDED',
  };
  const decision = evaluate(request, payment, gate, rules, now);
  if (decision.decision === 'REJECTED') {
    const { reason, remedy, message, deadline } = decision;
    return { eligible: false, reason, remedy, message, ...(deadline ? { deadline } : {}) };
  }
  if (!payment || !gate) throw new Error('the policy accepts a void only of a known payment in a named batch');
  const supervisorRequired = rules[payment.channel].requireSupervisor;
  return {
    eligible: true,
    deadline: decision.deadline,
    secondsLeft: Math.floor((decision.deadline.getTime() - now.getTime()) / 1_000),
    batchId: gate.batchId,
    channel: payment.channel,
    supervisorRequired,
    message: supervisorRequired
      ? 'A void of this payment, with a valid supervisor authorisation, would be accepted before the deadline.'
      : 'A void of this payment would be accepted before the deadline.',
  };
}

/**
 * Answers that may change when the same request is asked again: the payment or its batch is not
 * known yet, the customer is still paying, it is too early, or the supervisor's authorisation was
 * missing or wrong or the supervisor is locked for a while (ADR 0005: only final answers keep their
 * key, and a lock expires). They are recorded but do not take the idempotency key, so a retry with the same
 * key is decided afresh; every other answer is final and is replayed for the key for ever.
 */
const TRANSIENT_REASONS: ReadonlySet<VoidRejectionReason> = new Set([
  'PAYMENT_NOT_FOUND',
  'PAYMENT_PENDING',
  'CLEARING_PENDING',
  'VOID_TOO_EARLY',
  'SUPERVISOR_AUTH_REQUIRED',
  'SUPERVISOR_LOCKED',
]);

export function isFinal(decision: Pick<VoidDecision, 'decision'> & { readonly reason?: VoidRejectionReason }): boolean {
  return decision.decision === 'ACCEPTED' || decision.reason === undefined || !TRANSIENT_REASONS.has(decision.reason);
}

function sameCardReference(requested: CardReference | undefined, original: CardReference | undefined): boolean {
  return !!requested && !!original && requested.batchNo === original.batchNo && requested.voucherNo === original.voucherNo;
}
