import fc from 'fast-check';
import { cutoffWindowIn, cutoffWindowOf, parseCutoffSchedule, parseVersionedCutoffSchedule } from '@pos/business-calendar';
import { batchKeyOf, clearingSchedulesFrom } from '@pos/settlement-batches';
import { BATCH_STATES, BatchState, batchIdInChain, BatchTransition, chooseBatch, nextState, successorWindow, takesPayments } from './batch-lifecycle';

const transitions: BatchTransition[] = ['CLOSE_REQUESTED', 'GATE_CLOSED', 'SETTLEMENT_DATE_REACHED'];
const order: Record<BatchState, number> = { OPEN: 0, CLOSING: 1, CLOSED: 2, SETTLED: 3 };

describe('batch lifecycle', () => {
  it('goes OPEN -> CLOSING -> CLOSED -> SETTLED and nowhere else', () => {
    expect(nextState('OPEN', 'CLOSE_REQUESTED')).toBe('CLOSING');
    expect(nextState('CLOSING', 'GATE_CLOSED')).toBe('CLOSED');
    expect(nextState('CLOSED', 'SETTLEMENT_DATE_REACHED')).toBe('SETTLED');
    expect(nextState('OPEN', 'GATE_CLOSED')).toBeUndefined();
    expect(nextState('CLOSED', 'CLOSE_REQUESTED')).toBeUndefined();
    expect(nextState('CLOSING', 'CLOSE_REQUESTED')).toBeUndefined();
  });

  it('never moves backwards, whatever sequence of transitions arrives (redeliveries included)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...BATCH_STATES), fc.array(fc.constantFrom(...transitions), { maxLength: 30 }), (start, steps) => {
        let state = start;
        for (const step of steps) {
          const next = nextState(state, step);
          if (next !== undefined) {
            expect(order[next]).toBe(order[state] + 1);
            state = next;
          }
        }
      }),
    );
  });

  it('takes payments only while OPEN or CLOSING', () => {
    expect(BATCH_STATES.filter(takesPayments)).toEqual(['OPEN', 'CLOSING']);
  });

  it('names successors <base>:2, :3, ... and the first batch by its key', () => {
    expect(batchIdInChain('M1:WECHAT:20261126T160000Z', 1)).toBe('M1:WECHAT:20261126T160000Z');
    expect(batchIdInChain('M1:WECHAT:20261126T160000Z', 2)).toBe('M1:WECHAT:20261126T160000Z:2');
    expect(() => batchIdInChain('M1', 0)).toThrow();
  });

  it('never puts a payment into a batch that no longer takes payments', () => {
    fc.assert(
      fc.property(fc.option(fc.record({ sequence: fc.integer({ min: 1, max: 1000 }), state: fc.constantFrom(...BATCH_STATES) }), { nil: undefined }), (tail) => {
        const choice = chooseBatch(tail);
        if (tail === undefined) expect(choice).toEqual({ kind: 'open-first', sequence: 1 });
        else if (takesPayments(tail.state)) expect(choice).toEqual({ kind: 'join', sequence: tail.sequence });
        else expect(choice).toEqual({ kind: 'open-successor', sequence: tail.sequence + 1 });
      }),
    );
  });

  it('closes a successor with its key window when still ahead, else at the next cutoff after now', () => {
    const schedule = parseCutoffSchedule('daily@23:00');
    fc.assert(
      fc.property(
        fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2090-01-01T00:00:00Z'), noInvalidDate: true }),
        fc.integer({ min: 0, max: 3 * 86_400_000 }),
        (succeededAt, delayMs) => {
          const key = cutoffWindowOf(schedule, succeededAt);
          const now = new Date(succeededAt.getTime() + delayMs);
          const window = successorWindow(key, [{ schedule }], now);
          expect(window.opensAt.getTime()).toBeLessThan(window.closesAt.getTime());
          expect(window.closesAt.getTime()).toBeGreaterThan(now.getTime());
          expect(window.closesAt.getTime()).toBeGreaterThanOrEqual(key.closesAt.getTime());
          if (now < key.closesAt) expect(window.closesAt).toEqual(key.closesAt);
          // Still on the channel's cutoff grid: the successor closes at a regular cutoff.
          expect(cutoffWindowOf(schedule, new Date(window.closesAt.getTime() - 1)).closesAt).toEqual(window.closesAt);
        },
      ),
    );
  });
});

describe('batch assignment around cutoffs (Asia/Shanghai edges)', () => {
  const defaults = clearingSchedulesFrom({});
  const at = (iso: string) => new Date(iso);

  it('keeps a payment at 22:59:59.999 in today\'s UnionPay batch and moves 23:00:00.000 to tomorrow\'s', () => {
    const card = { merchantId: 'M1', terminalId: 'T1', channel: 'UNIONPAY_CARD', cardBatchNo: '000001' } as const;
    const before = batchKeyOf({ ...card, succeededAt: at('2026-12-31T22:59:59.999+08:00') }, defaults);
    const after = batchKeyOf({ ...card, succeededAt: at('2026-12-31T23:00:00.000+08:00') }, defaults);
    expect(before.clearingDate).toBe('2026-12-31');
    expect(after.clearingDate).toBe('2027-01-01');
  });

  it('cuts WeChat and Alipay at midnight Shanghai, which is 16:00 UTC the day before', () => {
    const wallet = { merchantId: 'M1', terminalId: 'T1' } as const;
    for (const channel of ['WECHAT', 'ALIPAY'] as const) {
      const last = batchKeyOf({ ...wallet, channel, succeededAt: at('2027-01-01T15:59:59.999Z') }, defaults);
      const first = batchKeyOf({ ...wallet, channel, succeededAt: at('2027-01-01T16:00:00.000Z') }, defaults);
      expect(last.clearingDate).toBe('2027-01-01');
      expect(first.clearingDate).toBe('2027-01-02');
      expect(last.window.closesAt).toEqual(first.window.opensAt);
    }
  });

  it('assigns the same instant to the same batch whatever offset it was written with', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2090-01-01T00:00:00Z'), noInvalidDate: true }), fc.integer({ min: -12, max: 14 }), (instant, offsetHours) => {
        const shifted = new Date(instant.getTime() + offsetHours * 3_600_000);
        const sign = offsetHours < 0 ? '-' : '+';
        const text = `${shifted.toISOString().slice(0, 23)}${sign}${String(Math.abs(offsetHours)).padStart(2, '0')}:00`;
        const payment = { merchantId: 'M1', terminalId: 'T1', channel: 'UNIONPAY_CARD', cardBatchNo: '000007' } as const;
        expect(batchKeyOf({ ...payment, succeededAt: new Date(text) }, defaults)).toEqual(batchKeyOf({ ...payment, succeededAt: instant }, defaults));
      }),
    );
  });

  it('with an every-N-seconds schedule, splits payments exactly at multiples of N', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3600 }), fc.integer({ min: 1_600_000_000, max: 2_000_000_000 }), (period, k) => {
        const schedules = clearingSchedulesFrom({ WECHAT: `every:${period}s` });
        const cut = Math.floor(k / period) * period * 1000;
        const payment = { merchantId: 'M1', terminalId: 'T1', channel: 'WECHAT' } as const;
        const before = batchKeyOf({ ...payment, succeededAt: new Date(cut - 1) }, schedules);
        const after = batchKeyOf({ ...payment, succeededAt: new Date(cut) }, schedules);
        expect(before.batchId).not.toBe(after.batchId);
        expect(before.window.closesAt.getTime()).toBe(cut);
        expect(after.window.opensAt.getTime()).toBe(cut);
      }),
    );
  });
});

describe('a successor batch across a cutoff change', () => {
  it('closes at the next cutoff of the schedule in force after the change', () => {
    const moved = parseVersionedCutoffSchedule('daily@23:00; daily@23:30 from 2026-12-05T23:00:00+08:00');
    const key = cutoffWindowIn(moved, new Date('2026-12-05T22:59:59+08:00'));
    expect(successorWindow(key, moved, new Date('2026-12-05T23:10:00+08:00'))).toEqual({
      opensAt: new Date('2026-12-05T23:10:00+08:00'),
      closesAt: new Date('2026-12-05T23:30:00+08:00'),
    });
    expect(successorWindow(key, moved, new Date('2026-12-06T23:10:00+08:00')).closesAt).toEqual(new Date('2026-12-06T23:30:00+08:00'));
  });
});
