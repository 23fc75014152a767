import { backoffMs, classifyAttempt, jitteredBackoffMs, nextStep, RetryPolicy } from './webhook-retry-policy';

const policy: RetryPolicy = { initialBackoffMs: 5_000, maxBackoffMs: 3_600_000, maxAttempts: 12, maxAgeMs: 86_400_000 };

describe('webhook retry policy', () => {
  it('doubles the wait from the initial backoff after each failed attempt, up to the maximum', () => {
    const schedule = Array.from({ length: 12 }, (_, i) => backoffMs(policy, i + 1));
    expect(schedule).toEqual([5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 640_000, 1_280_000, 2_560_000, 3_600_000, 3_600_000]);
    expect(backoffMs(policy, 1_000)).toBe(3_600_000);
    expect(() => backoffMs(policy, 0)).toThrow(/positive integer/);
  });

  it('takes at most a fifth off a wait as jitter, never adds to it', () => {
    expect(jitteredBackoffMs(policy, 3, 0)).toBe(20_000);
    expect(jitteredBackoffMs(policy, 3, 0.5)).toBe(18_000);
    expect(jitteredBackoffMs(policy, 3, 0.999999)).toBe(16_000);
  });

  it('delivers on 2xx, retries timeouts, network errors, 5xx, 408 and 429, and fails other answers and forbidden addresses', () => {
    expect(classifyAttempt({ kind: 'response', status: 200 })).toBe('DELIVERED');
    expect(classifyAttempt({ kind: 'response', status: 204 })).toBe('DELIVERED');
    for (const status of [500, 502, 503, 504, 408, 429]) expect(classifyAttempt({ kind: 'response', status })).toBe('RETRYABLE');
    expect(classifyAttempt({ kind: 'network-error', error: 'ECONNREFUSED' })).toBe('RETRYABLE');
    for (const status of [301, 302, 400, 401, 403, 404, 410, 422]) expect(classifyAttempt({ kind: 'response', status })).toBe('FAILED');
    expect(classifyAttempt({ kind: 'not-sent', error: '10.0.0.1 is a private address' })).toBe('FAILED');
  });

  it('schedules a retry until the attempts of the round are used up', () => {
    const down = { kind: 'network-error', error: 'ECONNREFUSED' } as const;
    const small: RetryPolicy = { initialBackoffMs: 100, maxBackoffMs: 1_000, maxAttempts: 3, maxAgeMs: 60_000 };
    expect(nextStep(small, down, 1, 0, 0)).toEqual({ outcome: 'RETRY', retryInMs: 100 });
    expect(nextStep(small, down, 2, 150, 0)).toEqual({ outcome: 'RETRY', retryInMs: 200 });
    expect(nextStep(small, down, 3, 400, 0)).toEqual({ outcome: 'FAILED' });
    expect(nextStep(small, { kind: 'response', status: 200 }, 3, 400, 0)).toEqual({ outcome: 'DELIVERED' });
    expect(nextStep(small, { kind: 'response', status: 404 }, 1, 0, 0)).toEqual({ outcome: 'FAILED' });
  });

  it('fails a delivery whose next attempt would come after the maximum age', () => {
    const down = { kind: 'response', status: 503 } as const;
    expect(nextStep(policy, down, 5, 86_400_000 - 80_000, 0)).toEqual({ outcome: 'RETRY', retryInMs: 80_000 });
    expect(nextStep(policy, down, 5, 86_400_000 - 79_999, 0)).toEqual({ outcome: 'FAILED' });
  });
});
