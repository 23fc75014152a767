import { cutoffWindowAt, expectedClearingOf, groupKeyOf, shanghaiDateOf, SucceededPayment, voidDeadlineOf } from './expected-clearing';

const PERIOD = 30_000;
const payment = (succeededAt: string, extra: Partial<SucceededPayment> = {}): SucceededPayment => ({
  paymentId: 'p1', merchantId: 'M001', terminalId: 'POS-1', channel: 'WECHAT', amountFen: 100, outTradeNo: 'O1', succeededAt: Date.parse(succeededAt), ...extra,
});

describe('expected clearing', () => {
  it('puts an instant exactly at a cutoff into the next window', () => {
    const cutoff = Date.parse('2026-11-27T02:00:30.000Z');
    expect(cutoffWindowAt(cutoff - 1, PERIOD)).toEqual({ opensAt: cutoff - PERIOD, closesAt: cutoff });
    expect(cutoffWindowAt(cutoff, PERIOD)).toEqual({ opensAt: cutoff, closesAt: cutoff + PERIOD });
  });

  it('names the clearing date in Asia/Shanghai by the day its window ends', () => {
    expect(shanghaiDateOf(Date.parse('2026-11-27T15:59:59.999Z'))).toBe('2026-11-27');
    expect(shanghaiDateOf(Date.parse('2026-11-27T16:00:00.000Z'))).toBe('2026-11-28');
    // The window closing at 00:00 Shanghai belongs to the day before.
    expect(expectedClearingOf(payment('2026-11-27T15:59:59.000Z'), PERIOD).group.clearingDate).toBe('2026-11-27');
    expect(expectedClearingOf(payment('2026-11-27T16:00:00.000Z'), PERIOD).group.clearingDate).toBe('2026-11-28');
  });

  it('groups wallets per merchant and channel, cards per terminal and POS batch number too', () => {
    expect(groupKeyOf(expectedClearingOf(payment('2026-11-27T02:00:01Z'), PERIOD).group)).toBe('M001/WECHAT/2026-11-27/-/-');
    const card = payment('2026-11-27T02:00:01Z', { channel: 'UNIONPAY_CARD', terminalId: 'POS-CARD-1', cardBatchNo: '000002' });
    expect(groupKeyOf(expectedClearingOf(card, PERIOD).group)).toBe('M001/UNIONPAY_CARD/2026-11-27/POS-CARD-1/000002');
  });

  describe('the void deadline', () => {
    const card = payment('2026-11-27T02:00:05Z', { channel: 'UNIONPAY_CARD', terminalId: 'POS-CARD-1', cardBatchNo: '000001' });
    const cutoff = Date.parse('2026-11-27T02:00:30Z');
    const settlement = { merchantId: 'M001', terminalId: 'POS-CARD-1', batchNo: '000001', sentAt: Date.parse('2026-11-27T02:00:10Z'), answeredAt: Date.parse('2026-11-27T02:00:10.200Z') };

    it('is the cutoff of the payment window', () => {
      expect(voidDeadlineOf(card, PERIOD, [])).toEqual({ earliest: cutoff, latest: cutoff });
    });

    it("can be as early as its terminal batch's settlement inside the window", () => {
      expect(voidDeadlineOf(card, PERIOD, [settlement])).toEqual({ earliest: settlement.sentAt, latest: cutoff });
    });

    it('ignores settlements of another batch number, another window, or before the payment', () => {
      expect(voidDeadlineOf(card, PERIOD, [{ ...settlement, batchNo: '000002' }]).earliest).toBe(cutoff);
      expect(voidDeadlineOf(card, PERIOD, [{ ...settlement, sentAt: cutoff + 1_000, answeredAt: cutoff + 1_100 }]).earliest).toBe(cutoff);
      const later = { ...card, succeededAt: Date.parse('2026-11-27T02:00:20Z') };
      expect(voidDeadlineOf(later, PERIOD, [settlement]).earliest).toBe(cutoff);
      expect(voidDeadlineOf({ ...card, channel: 'WECHAT' }, PERIOD, [settlement]).earliest).toBe(cutoff);
    });
  });
});
