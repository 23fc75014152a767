import { cutoffsBetween, cutoffWindowAt, describeSchedule, expectedClearingOf, groupKeyOf, shanghaiDateOf, SucceededPayment, voidDeadlineOf } from './expected-clearing';

const PERIOD = 30_000;
const SCHEDULE = [{ periodMs: PERIOD }];
const payment = (succeededAt: string, extra: Partial<SucceededPayment> = {}): SucceededPayment => ({
  paymentId: 'p1', merchantId: 'M001', terminalId: 'POS-1', channel: 'WECHAT', amountFen: 100, outTradeNo: 'O1', succeededAt: Date.parse(succeededAt), ...extra,
});

describe('expected clearing', () => {
  it('puts an instant exactly at a cutoff into the next window', () => {
    const cutoff = Date.parse('2026-11-27T02:00:30.000Z');
    expect(cutoffWindowAt(cutoff - 1, SCHEDULE)).toEqual({ opensAt: cutoff - PERIOD, closesAt: cutoff });
    expect(cutoffWindowAt(cutoff, SCHEDULE)).toEqual({ opensAt: cutoff, closesAt: cutoff + PERIOD });
  });

  describe('under a cutoff change (schedule versions)', () => {
    // every:30s, then every:10s from the cutoff at T; a change must be seen from T on, and only from T on.
    const T = Date.parse('2026-11-27T02:00:30.000Z');
    const changed = [{ periodMs: PERIOD }, { periodMs: 10_000, effectiveFrom: T }];

    it("keeps the old windows before the change and the new version's after it", () => {
      expect(cutoffWindowAt(T - 1, changed)).toEqual({ opensAt: T - PERIOD, closesAt: T });
      expect(cutoffWindowAt(T, changed)).toEqual({ opensAt: T, closesAt: T + 10_000 });
      expect(cutoffWindowAt(T + 15_000, changed)).toEqual({ opensAt: T + 10_000, closesAt: T + 20_000 });
      expect(cutoffsBetween(T - 45_000, T + 25_000, changed)).toEqual([T - PERIOD, T, T + 10_000, T + 20_000]);
    });

    it("cuts a window at a change that is not one of the old schedule's cutoffs, and opens the new version's first window there", () => {
      const unaligned = [{ periodMs: PERIOD }, { periodMs: 10_000, effectiveFrom: T - 5_000 }];
      expect(cutoffWindowAt(T - 6_000, unaligned)).toEqual({ opensAt: T - PERIOD, closesAt: T - 5_000 });
      expect(cutoffWindowAt(T - 5_000, unaligned)).toEqual({ opensAt: T - 5_000, closesAt: T });
    });

    it('puts a payment of the new version in a window the old schedule does not have', () => {
      const after = payment('2026-11-27T02:00:41.000Z');
      expect(expectedClearingOf(after, changed).window).toEqual({ opensAt: T + 10_000, closesAt: T + 20_000 });
      expect(expectedClearingOf(after, SCHEDULE).window).toEqual({ opensAt: T, closesAt: T + PERIOD });
      expect(voidDeadlineOf(after, changed, [])).toEqual({ earliest: T + 20_000, latest: T + 20_000 });
    });

    it('is described as the setting writes it', () => {
      expect(describeSchedule(changed)).toBe('every:30s; every:10s from 2026-11-27T02:00:30.000Z');
    });
  });

  it('names the clearing date in Asia/Shanghai by the day its window ends', () => {
    expect(shanghaiDateOf(Date.parse('2026-11-27T15:59:59.999Z'))).toBe('2026-11-27');
    expect(shanghaiDateOf(Date.parse('2026-11-27T16:00:00.000Z'))).toBe('2026-11-28');
    // The window closing at 00:00 Shanghai belongs to the day before.
    expect(expectedClearingOf(payment('2026-11-27T15:59:59.000Z'), SCHEDULE).group.clearingDate).toBe('2026-11-27');
    expect(expectedClearingOf(payment('2026-11-27T16:00:00.000Z'), SCHEDULE).group.clearingDate).toBe('2026-11-28');
  });

  it('groups wallets per merchant and channel, cards per terminal and POS batch number too', () => {
    expect(groupKeyOf(expectedClearingOf(payment('2026-11-27T02:00:01Z'), SCHEDULE).group)).toBe('M001/WECHAT/2026-11-27/-/-');
    const card = payment('2026-11-27T02:00:01Z', { channel: 'UNIONPAY_CARD', terminalId: 'POS-CARD-1', cardBatchNo: '000002' });
    expect(groupKeyOf(expectedClearingOf(card, SCHEDULE).group)).toBe('M001/UNIONPAY_CARD/2026-11-27/POS-CARD-1/000002');
  });

  describe('the void deadline', () => {
    const card = payment('2026-11-27T02:00:05Z', { channel: 'UNIONPAY_CARD', terminalId: 'POS-CARD-1', cardBatchNo: '000001' });
    const cutoff = Date.parse('2026-11-27T02:00:30Z');
    const settlement = { merchantId: 'M001', terminalId: 'POS-CARD-1', batchNo: '000001', sentAt: Date.parse('2026-11-27T02:00:10Z'), answeredAt: Date.parse('2026-11-27T02:00:10.200Z') };

    it('is the cutoff of the payment window', () => {
      expect(voidDeadlineOf(card, SCHEDULE, [])).toEqual({ earliest: cutoff, latest: cutoff });
    });

    it("can be as early as its terminal batch's settlement inside the window", () => {
      expect(voidDeadlineOf(card, SCHEDULE, [settlement])).toEqual({ earliest: settlement.sentAt, latest: cutoff });
    });

    it('ignores settlements of another batch number, another window, or before the payment', () => {
      expect(voidDeadlineOf(card, SCHEDULE, [{ ...settlement, batchNo: '000002' }]).earliest).toBe(cutoff);
      expect(voidDeadlineOf(card, SCHEDULE, [{ ...settlement, sentAt: cutoff + 1_000, answeredAt: cutoff + 1_100 }]).earliest).toBe(cutoff);
      const later = { ...card, succeededAt: Date.parse('2026-11-27T02:00:20Z') };
      expect(voidDeadlineOf(later, SCHEDULE, [settlement]).earliest).toBe(cutoff);
      expect(voidDeadlineOf({ ...card, channel: 'WECHAT' }, SCHEDULE, [settlement]).earliest).toBe(cutoff);
    });
  });
});
