import type { UndoOutcome } from '@pos/channel-simulator';

/** Where an accepted void stands at its channel (ADR 0008). */
export type ExecutionState = 'PENDING' | 'EXECUTED' | 'CHANNEL_REFUSED';

/** How long to wait before calling a channel again: doubling from `baseMs`, never longer than `capMs`. */
export interface ExecutionBackoff {
  readonly baseMs: number;
  readonly capMs: number;
}

/**
 * The delay after the `attempts`-th call that did not give a final answer: base, 2×base, 4×base…
 * up to the cap. Exact in integers, and no overflow however many attempts.
 */
export function executionBackoffMs(attempts: number, backoff: ExecutionBackoff): number {
  if (!Number.isInteger(attempts) || attempts < 1) throw new Error(`attempts are counted from 1, got ${attempts}`);
  if (!Number.isInteger(backoff.baseMs) || backoff.baseMs < 1 || !Number.isInteger(backoff.capMs) || backoff.capMs < backoff.baseMs) {
    throw new Error(`backoff needs 1 <= base <= cap in whole ms, got base ${backoff.baseMs}, cap ${backoff.capMs}`);
  }
  let delay = backoff.baseMs;
  for (let n = 1; n < attempts && delay < backoff.capMs; n++) delay *= 2;
  return Math.min(delay, backoff.capMs);
}

/** What the executor does with a channel's answer to its `attempts`-th call. */
export type ExecutionStep =
  | { readonly kind: 'EXECUTED'; readonly channelReference: string }
  | { readonly kind: 'CHANNEL_REFUSED'; readonly code: string; readonly message: string }
  /** Not final: call again after `delayMs`; `outcome` is what the channel said (its code, or TIMEOUT). */
  | { readonly kind: 'RETRY'; readonly outcome: string; readonly delayMs: number };

/**
 * A success or a refusal is final; "try again" and no answer are retried with backoff, for as long
 * as it takes: an undo is idempotent at the channel, and the batch waits (ADR 0008).
 */
export function nextExecutionStep(outcome: UndoOutcome, attempts: number, backoff: ExecutionBackoff): ExecutionStep {
  switch (outcome.kind) {
    case 'SUCCESS':
      return { kind: 'EXECUTED', channelReference: outcome.channelReference };
    case 'REFUSED':
      return { kind: 'CHANNEL_REFUSED', code: outcome.code, message: outcome.message };
    case 'TRY_AGAIN':
      return { kind: 'RETRY', outcome: outcome.code, delayMs: executionBackoffMs(attempts, backoff) };
    case 'TIMEOUT':
      return { kind: 'RETRY', outcome: 'TIMEOUT', delayMs: executionBackoffMs(attempts, backoff) };
  }
}
