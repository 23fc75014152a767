import fc from 'fast-check';
import { executionBackoffMs, nextExecutionStep } from './void-execution';

const backoff = { baseMs: 500, capMs: 60_000 };

describe('executionBackoffMs', () => {
  it('doubles from the base and stops at the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => executionBackoffMs(n, backoff))).toEqual([500, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]);
  });

  it('stays at the cap for any number of attempts, without overflowing', () => {
    expect(executionBackoffMs(10_000, backoff)).toBe(60_000);
    expect(executionBackoffMs(1, { baseMs: 7, capMs: 7 })).toBe(7);
  });

  it('never shrinks from one attempt to the next, and stays within base..cap', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 0, max: 10_000_000 }), (attempts, baseMs, extra) => {
        const b = { baseMs, capMs: baseMs + extra };
        const delay = executionBackoffMs(attempts, b);
        expect(delay).toBeGreaterThanOrEqual(baseMs);
        expect(delay).toBeLessThanOrEqual(b.capMs);
        expect(executionBackoffMs(attempts + 1, b)).toBeGreaterThanOrEqual(delay);
      }),
    );
  });

  it('refuses attempts below 1 and a cap below the base', () => {
    expect(() => executionBackoffMs(0, backoff)).toThrow('counted from 1');
    expect(() => executionBackoffMs(1, { baseMs: 10, capMs: 5 })).toThrow('base <= cap');
    expect(() => executionBackoffMs(1, { baseMs: 0, capMs: 5 })).toThrow('base <= cap');
  });
});

describe('nextExecutionStep', () => {
  it('ends the execution on a success or a refusal', () => {
    expect(nextExecutionStep({ kind: 'SUCCESS', channelReference: 'R1' }, 3, backoff)).toEqual({ kind: 'EXECUTED', channelReference: 'R1' });
    expect(nextExecutionStep({ kind: 'REFUSED', code: 'REVERSE_EXPIRE', message: 'm' }, 1, backoff)).toEqual({ kind: 'CHANNEL_REFUSED', code: 'REVERSE_EXPIRE', message: 'm' });
  });

  it('retries "try again" and no answer after the backoff of the attempt', () => {
    expect(nextExecutionStep({ kind: 'TRY_AGAIN', code: 'SYSTEMERROR' }, 1, backoff)).toEqual({ kind: 'RETRY', outcome: 'SYSTEMERROR', delayMs: 500 });
    expect(nextExecutionStep({ kind: 'TIMEOUT' }, 3, backoff)).toEqual({ kind: 'RETRY', outcome: 'TIMEOUT', delayMs: 2_000 });
  });
});
