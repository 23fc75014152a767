/** How a delivery is retried (WEBHOOK_* settings, docs/configuration.md). */
export interface RetryPolicy {
  /** The wait after the first failed attempt. */
  readonly initialBackoffMs: number;
  /** No wait is longer than this. */
  readonly maxBackoffMs: number;
  /** Attempts of one round (the first delivery, or a redrive) before the delivery is FAILED. */
  readonly maxAttempts: number;
  /** No attempt is scheduled later than this after the round started. */
  readonly maxAgeMs: number;
}

/** Each wait is shortened by up to this fraction at random, so retries of many deliveries spread out. */
export const BACKOFF_JITTER = 0.2;

/**
 * The wait before the next attempt after the `attempt`-th (1-based) failed: the initial backoff
 * doubled per attempt, never above the maximum. 5s, 10s, 20s, 40s … with the defaults.
 */
export function backoffMs(policy: Pick<RetryPolicy, 'initialBackoffMs' | 'maxBackoffMs'>, attempt: number): number {
  if (!Number.isInteger(attempt) || attempt < 1) throw new Error(`attempt must be a positive integer, got ${attempt}`);
  // 2^40 is far beyond any maximum; capping the exponent keeps the number finite.
  return Math.min(policy.initialBackoffMs * 2 ** Math.min(attempt - 1, 40), policy.maxBackoffMs);
}

/** `backoffMs` with its jitter: `random` in [0, 1) takes up to BACKOFF_JITTER off. */
export function jitteredBackoffMs(policy: Pick<RetryPolicy, 'initialBackoffMs' | 'maxBackoffMs'>, attempt: number, random: number): number {
  return Math.round(backoffMs(policy, attempt) * (1 - BACKOFF_JITTER * random));
}

/** What an attempt came to, as far as the receiver answered. */
export type AttemptResult =
  | { readonly kind: 'response'; readonly status: number }
  /** No answer in time, the connection refused or reset, a name that does not resolve. */
  | { readonly kind: 'network-error'; readonly error: string }
  /**
   * Not sent, and sending again would not help: the URL resolves to an address deliveries may not
   * go to (docs/security.md), the merchant has no webhook any more, or its secret cannot be opened.
   */
  | { readonly kind: 'not-sent'; readonly error: string };

export type AttemptOutcome = 'DELIVERED' | 'RETRY' | 'FAILED';

/**
 * 2xx: delivered. Timeouts, network errors, 5xx, 408 and 429: worth another attempt (the receiver
 * is down, overloaded or restarting). Any other status (3xx: redirects are not followed; 4xx: the
 * receiver refuses the request) and what could not be sent would fail the same way again: FAILED at
 * once, for an operator or the merchant to redrive once the receiver is fixed.
 */
export function classifyAttempt(result: AttemptResult): 'DELIVERED' | 'RETRYABLE' | 'FAILED' {
  if (result.kind === 'network-error') return 'RETRYABLE';
  if (result.kind === 'not-sent') return 'FAILED';
  const { status } = result;
  if (status >= 200 && status < 300) return 'DELIVERED';
  if (status >= 500 || status === 408 || status === 429) return 'RETRYABLE';
  return 'FAILED';
}

/**
 * The outcome of the `roundAttempt`-th attempt of a round that started `roundAgeMs` ago, and when
 * to try again: a retryable failure is FAILED once the round's attempts are used up or the next
 * attempt would come after the round's maximum age.
 */
export function nextStep(
  policy: RetryPolicy,
  result: AttemptResult,
  roundAttempt: number,
  roundAgeMs: number,
  random: number,
): { readonly outcome: AttemptOutcome; readonly retryInMs?: number } {
  const verdict = classifyAttempt(result);
  if (verdict !== 'RETRYABLE') return { outcome: verdict };
  if (roundAttempt >= policy.maxAttempts) return { outcome: 'FAILED' };
  const retryInMs = jitteredBackoffMs(policy, roundAttempt, random);
  if (roundAgeMs + retryInMs > policy.maxAgeMs) return { outcome: 'FAILED' };
  return { outcome: 'RETRY', retryInMs };
}
