import fc from 'fast-check';
import { batchKeyOf, clearingSchedulesFrom } from '@pos/settlement-batches';
import { BATCH_STATES, BatchState, batchIdInChain, BatchTransition, nextState, placePayment, takesPayments } from './batch-lifecycle';

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
    expect(batchIdInChain('M1:WECHAT:20261127T000000+0800', 1)).toBe('M1:WECHAT:20261127T000000+0800');
    expect(batchIdInChain('M1:WECHAT:20261127T000000+0800', 2)).toBe('M1:WECHAT:20261127T000000+0800:2');
    expect(() => batchIdInChain('M1', 0)).toThrow();
  });

  it('gives every batch of every key its own id, successors included, even for ids made of separators and escapes', () => {
    const schedules = clearingSchedulesFrom({});
    const text = fc.stringMatching(/^[A3:%T]{1,5}$/);
    const batch = fc.record({
      merchantId: text,
      terminalId: text,
      channel: fc.constantFrom('WECHAT', 'ALIPAY', 'UNIONPAY_CARD' as const),
      cardBatchNo: fc.constantFrom('000001', '000002'),
      day: fc.integer({ min: 0, max: 2 }),
      sequence: fc.integer({ min: 1, max: 3 }),
    });
    const decode = (field: string) => field.replace(/%3A/g, ':').replace(/%25/g, '%');
    fc.assert(
      fc.property(batch, (b) => {
        const key = batchKeyOf({ ...b, succeededAt: new Date(Date.UTC(2026, 10, 27 + b.day, 4)) }, schedules);
        // Injective because decodable: the id gives back every field of the batch's identity.
        const fields = batchIdInChain(key.batchId, b.sequence).split(':');
        const card = b.channel === 'UNIONPAY_CARD';
        const identity = card ? [b.merchantId, b.terminalId, b.cardBatchNo, b.channel] : [b.merchantId, b.channel];
        expect(fields.slice(0, identity.length).map(decode)).toEqual(identity);
        expect(fields[identity.length]).toMatch(/^\d{8}T\d{6}\+0800$/);
        expect(fields.slice(identity.length + 1)).toEqual(b.sequence === 1 ? [] : [String(b.sequence)]);
      }),
      { numRuns: 500 },
    );
  });


  describe('placePayment', () => {
    const window = { opensAt: new Date('2026-12-03T15:00:00Z'), closesAt: new Date('2026-12-04T15:00:00Z') };
    const settledAt = new Date('2026-12-04T06:00:00Z');
    const batch = (sequence: number, state: BatchState, opensAt: Date, closesAt: Date) => ({ sequence, state, opensAt, closesAt });

    it('opens the key\'s own batch for the first payment of a window', () => {
      expect(placePayment([], settledAt)).toEqual({ kind: 'open-first', sequence: 1 });
    });

    it('places by success time around a terminal settlement, never by arrival', () => {
      const chain = [batch(1, 'CLOSED', window.opensAt, settledAt), batch(2, 'OPEN', settledAt, window.closesAt)];
      expect(placePayment(chain, new Date(settledAt.getTime() - 1))).toEqual({ kind: 'open-late', sequence: 3, window: { opensAt: window.opensAt, closesAt: settledAt } });
      expect(placePayment(chain, settledAt)).toEqual({ kind: 'join', sequence: 2 });
    });

    it('keeps a late payment in its own window (same clearing date), joining a late batch that still takes payments', () => {
      const chain = [batch(1, 'SETTLED', window.opensAt, window.closesAt), batch(2, 'CLOSING', window.opensAt, window.closesAt)];
      expect(placePayment(chain, new Date('2026-12-04T14:59:59.999Z'))).toEqual({ kind: 'join', sequence: 2 });
      expect(placePayment([chain[0]], new Date('2026-12-04T14:59:59.999Z'))).toEqual({ kind: 'open-late', sequence: 2, window });
    });

    it('reports a success time that no batch of an existing chain holds', () => {
      expect(placePayment([batch(1, 'OPEN', window.opensAt, window.closesAt)], window.closesAt)).toEqual({ kind: 'outside' });
    });

    it('never joins a batch that no longer takes payments, and joins only a batch whose window holds the payment', () => {
      const state = fc.constantFrom(...BATCH_STATES);
      fc.assert(
        fc.property(fc.array(state, { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 86_399_999 }), fc.integer({ min: 1, max: 86_399_999 }), (states, offset, cut) => {
          // A chain as clearing builds it: a window split once by a terminal settlement, then late batches.
          const split = states.length === 1 ? window.closesAt : new Date(window.opensAt.getTime() + cut);
          const chain = states.map((s, i) =>
            i === 0 ? batch(1, s, window.opensAt, split) : i === 1 ? batch(2, s, split, window.closesAt) : batch(i + 1, s, window.opensAt, split),
          );
          const at = new Date(window.opensAt.getTime() + offset);
          const placement = placePayment(chain, at);
          if (placement.kind === 'join') {
            const joined = chain.find((b) => b.sequence === placement.sequence);
            expect(joined && takesPayments(joined.state)).toBe(true);
            expect(joined && joined.opensAt <= at && at < joined.closesAt).toBe(true);
          } else {
            expect(placement.kind).toBe('open-late');
            if (placement.kind === 'open-late') {
              expect(placement.sequence).toBe(chain.length + 1);
              expect(placement.window.opensAt <= at && at < placement.window.closesAt).toBe(true);
            }
          }
        }),
      );
    });
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
