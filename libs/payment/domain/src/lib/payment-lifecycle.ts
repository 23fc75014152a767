import { PaymentFailureReason } from '@pos/contracts';
import { ChannelOutcome } from './channel-gateway';

/**
 * A payment's states. PROCESSING is the idempotency claim taken before the channel is called;
 * PENDING means the customer is still paying (USERPAYING). The last three are facts learnt later
 * from the void and clearing services. VOIDED goes back to SUCCEEDED when the channel refuses for
 * good to undo the void (ADR 0008): the payment is then cleared like any other.
 */
export const PAYMENT_STATUSES = ['PROCESSING', 'PENDING', 'SUCCEEDED', 'FAILED', 'REVERSED', 'VOIDED', 'CLEARED', 'SETTLED'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

const TRANSITIONS: Readonly<Record<PaymentStatus, readonly PaymentStatus[]>> = {
  PROCESSING: ['PENDING', 'SUCCEEDED', 'FAILED', 'REVERSED'],
  PENDING: ['SUCCEEDED', 'FAILED', 'REVERSED'],
  SUCCEEDED: ['VOIDED', 'CLEARED'],
  CLEARED: ['SETTLED'],
  FAILED: [],
  REVERSED: [],
  VOIDED: ['SUCCEEDED'],
  SETTLED: [],
};

export function isPaymentStatus(value: unknown): value is PaymentStatus {
  return typeof value === 'string' && (PAYMENT_STATUSES as readonly string[]).includes(value);
}

export function canTransition(from: PaymentStatus, to: PaymentStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Still waiting for the channel: the poller looks after these. */
export function isUnresolved(status: PaymentStatus): boolean {
  return status === 'PROCESSING' || status === 'PENDING';
}

/** What to do with a channel answer, given the state the payment is in when the answer is applied. */
export type OutcomeDecision =
  /** Someone else (another request, the poller, another instance) resolved it first: change nothing. */
  | { readonly kind: 'stale' }
  | { readonly kind: 'succeed'; readonly channelTradeNo: string }
  | { readonly kind: 'fail'; readonly reason: PaymentFailureReason }
  /** First USERPAYING: becomes PENDING and announces it. */
  | { readonly kind: 'pending' }
  /** USERPAYING again: stays PENDING, query again later. */
  | { readonly kind: 'still-pending' }
  /** Timeout, or a customer who never finished paying: reverse (冲正) at the channel, then REVERSED. */
  | { readonly kind: 'reverse'; readonly reason: string };

export interface OutcomeContext {
  /** The customer has been paying for longer than the configured limit. */
  readonly pendingExpired: boolean;
}

export function decideOutcome(current: PaymentStatus, outcome: ChannelOutcome, context: OutcomeContext): OutcomeDecision {
  if (!isUnresolved(current)) return { kind: 'stale' };
  switch (outcome.kind) {
    case 'SUCCESS':
      return { kind: 'succeed', channelTradeNo: outcome.channelTradeNo };
    case 'DECLINED':
      return { kind: 'fail', reason: outcome.reason };
    case 'TIMEOUT':
      return { kind: 'reverse', reason: 'CHANNEL_TIMEOUT: no answer from the channel, reversed' };
    case 'USERPAYING':
      if (context.pendingExpired) return { kind: 'reverse', reason: 'USERPAYING_EXPIRED: the customer did not confirm in time, reversed' };
      return current === 'PENDING' ? { kind: 'still-pending' } : { kind: 'pending' };
  }
}

/** Facts the other services announce about a payment. */
export type LaterFact = 'VOIDED' | 'CLEARED' | 'SETTLED';

export type FactDecision =
  | { readonly kind: 'apply' }
  /** Already reflected (a second event saying the same thing): nothing to change. */
  | { readonly kind: 'already' }
  /**
   * Cleared while VOIDED: clearing clears a voided payment only once the channel refused the void
   * (ADR 0008), whose event travels on another topic and may come later. Kept aside, applied when
   * the refusal arrives; never applied over VOIDED.
   */
  | { readonly kind: 'hold'; readonly reason: string }
  /** Contradicts what we know: never guessed away, parked for an operator. */
  | { readonly kind: 'refuse'; readonly reason: string };

export function decideFact(current: PaymentStatus, fact: LaterFact): FactDecision {
  if (current === fact || (fact === 'CLEARED' && current === 'SETTLED')) return { kind: 'already' };
  if (canTransition(current, fact)) return { kind: 'apply' };
  if (fact === 'VOIDED' && (current === 'CLEARED' || current === 'SETTLED')) {
    return { kind: 'refuse', reason: `void accepted for a payment that is already ${current}: never both voided and cleared` };
  }
  if (fact === 'CLEARED' && current === 'VOIDED') {
    return { kind: 'hold', reason: 'cleared while voided: held until the channel refusal of the void arrives (never both voided and cleared)' };
  }
  return { kind: 'refuse', reason: `a payment in state ${current} cannot become ${fact}` };
}

/**
 * The channel refused for good to undo an accepted void (ADR 0008): a VOIDED payment is SUCCEEDED
 * again. A payment that is not VOIDED never took the void (its acceptance was not applied here) or
 * took the refusal already, and stays as it is.
 */
export function decideVoidRefused(current: PaymentStatus): FactDecision {
  if (current === 'VOIDED') return { kind: 'apply' };
  if (current === 'SUCCEEDED' || current === 'CLEARED' || current === 'SETTLED') return { kind: 'already' };
  return { kind: 'refuse', reason: `a void refused by the channel for a payment in state ${current}` };
}
