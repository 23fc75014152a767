import fc from 'fast-check';
import { batchIdField, batchIdTime, batchKeyOf, clearingSchedulesFrom } from './batch-key';

const defaults = clearingSchedulesFrom({});

describe('batchKeyOf', () => {
  it('cuts UnionPay card batches at 23:00 Asia/Shanghai', () => {
    const before = batchKeyOf(
      { merchantId: 'M1', terminalId: 'T1', channel: 'UNIONPAY_CARD', cardBatchNo: '000042', succeededAt: new Date('2026-11-27T14:59:59.999Z') },
      defaults,
    );
    const after = batchKeyOf(
      { merchantId: 'M1', terminalId: 'T1', channel: 'UNIONPAY_CARD', cardBatchNo: '000042', succeededAt: new Date('2026-11-27T15:00:00.000Z') },
      defaults,
    );
    expect(before.clearingDate).toBe('2026-11-27');
    expect(after.clearingDate).toBe('2026-11-28');
    expect(before.batchId).toBe('M1:T1:000042:UNIONPAY_CARD:20261126T230000+0800');
    expect(after.batchId).not.toBe(before.batchId);
    expect(before.window.closesAt.toISOString()).toBe('2026-11-27T15:00:00.000Z');
  });

  it('cuts wallet batches at midnight Asia/Shanghai, per merchant and channel', () => {
    const late = batchKeyOf({ merchantId: 'M1', terminalId: 'T1', channel: 'WECHAT', succeededAt: new Date('2026-11-27T15:59:59.999Z') }, defaults);
    const otherTerminal = batchKeyOf({ merchantId: 'M1', terminalId: 'T9', channel: 'WECHAT', succeededAt: new Date('2026-11-27T01:00:00Z') }, defaults);
    const alipay = batchKeyOf({ merchantId: 'M1', terminalId: 'T1', channel: 'ALIPAY', succeededAt: new Date('2026-11-27T01:00:00Z') }, defaults);
    expect(late.clearingDate).toBe('2026-11-27');
    expect(late.batchId).toBe(otherTerminal.batchId);
    expect(alipay.batchId).not.toBe(late.batchId);
    expect(late.terminalId).toBeUndefined();
  });

  it('names the window by its opening in Asia/Shanghai time with the offset, whatever the process time zone', () => {
    const key = batchKeyOf({ merchantId: 'M1', terminalId: 'T1', channel: 'WECHAT', succeededAt: new Date('2026-12-04T16:30:00Z') }, defaults);
    expect(key.batchId).toBe('M1:WECHAT:20261205T000000+0800');
    expect(key.clearingDate).toBe('2026-12-05');
    expect(batchIdTime(new Date('2026-12-04T15:00:00Z'))).toBe('20261204T230000+0800');
    expect(batchIdTime(new Date('2026-12-04T15:00:05.250Z'))).toBe('20261204T230005.250+0800');
  });

  it('keeps ids of different merchants and terminals apart when their ids contain the separator', () => {
    const at = new Date('2026-11-27T01:00:00Z');
    const wallet = (merchantId: string) => batchKeyOf({ merchantId, terminalId: 'T1', channel: 'WECHAT', succeededAt: at }, defaults).batchId;
    const card = (merchantId: string, terminalId: string) =>
      batchKeyOf({ merchantId, terminalId, channel: 'UNIONPAY_CARD', cardBatchNo: '000001', succeededAt: at }, defaults).batchId;
    // Joined unencoded, card merchant `M:T1` terminal `T2` and merchant `M` terminal `T1:T2` gave one id.
    expect(card('M:T1', 'T2')).not.toBe(card('M', 'T1:T2'));
    expect(card('M:T1', 'T2')).toBe('M%3AT1:T2:000001:UNIONPAY_CARD:20261126T230000+0800');
    expect(wallet('M%3AT1')).not.toBe(wallet('M:T1'));
    expect(batchIdField('a%3A:b')).toBe('a%253A%3Ab');
  });

  it('refuses a card payment without a POS batch number', () => {
    expect(() => batchKeyOf({ merchantId: 'M1', terminalId: 'T1', channel: 'UNIONPAY_CARD', succeededAt: new Date() }, defaults)).toThrow(/batch number/);
  });

  it('follows a configured schedule that cuts every few seconds', () => {
    const fast = clearingSchedulesFrom({ WECHAT: 'every:5s' });
    const key = batchKeyOf({ merchantId: 'M1', terminalId: 'T1', channel: 'WECHAT', succeededAt: new Date('2026-11-27T15:00:07.300Z') }, fast);
    expect(key.window.opensAt.toISOString()).toBe('2026-11-27T15:00:05.000Z');
    expect(key.window.closesAt.toISOString()).toBe('2026-11-27T15:00:10.000Z');
  });

  it('puts every payment in the window that contains its success time, the same way every time', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }),
        fc.constantFrom('WECHAT', 'ALIPAY', 'UNIONPAY_CARD' as const),
        (succeededAt, channel) => {
          const payment = { merchantId: 'M1', terminalId: 'T1', channel, succeededAt, cardBatchNo: '000001' } as const;
          const key = batchKeyOf(payment, defaults);
          expect(key.window.opensAt.getTime()).toBeLessThanOrEqual(succeededAt.getTime());
          expect(succeededAt.getTime()).toBeLessThan(key.window.closesAt.getTime());
          expect(batchKeyOf(payment, defaults)).toEqual(key);
        },
      ),
    );
  });
});

describe('batchKeyOf across a cutoff change', () => {
  const moved = clearingSchedulesFrom({ UNIONPAY_CARD: 'daily@23:00; daily@23:30 from 2026-12-05T23:00:00+08:00' });
  const card = (succeededAt: string) =>
    batchKeyOf({ merchantId: 'M1', terminalId: 'T1', channel: 'UNIONPAY_CARD', cardBatchNo: '000042', succeededAt: new Date(succeededAt) }, moved);

  it('keeps the old day-cut up to the change, then one short batch up to the new cutoff, then the new day-cut', () => {
    const last = card('2026-12-05T22:59:59.999+08:00');
    const short = card('2026-12-05T23:00:00.000+08:00');
    const first = card('2026-12-05T23:30:00.000+08:00');
    expect(last.window).toEqual({ opensAt: new Date('2026-12-04T23:00:00+08:00'), closesAt: new Date('2026-12-05T23:00:00+08:00') });
    expect(short.window).toEqual({ opensAt: new Date('2026-12-05T23:00:00+08:00'), closesAt: new Date('2026-12-05T23:30:00+08:00') });
    expect(first.window).toEqual({ opensAt: new Date('2026-12-05T23:30:00+08:00'), closesAt: new Date('2026-12-06T23:30:00+08:00') });
    expect(new Set([last.batchId, short.batchId, first.batchId]).size).toBe(3);
    expect([last.clearingDate, short.clearingDate, first.clearingDate]).toEqual(['2026-12-05', '2026-12-05', '2026-12-06']);
  });

  it('refuses a setting whose change would cut a batch in two', () => {
    expect(() => clearingSchedulesFrom({ UNIONPAY_CARD: 'daily@23:00; daily@23:30 from 2026-12-05T23:30:00+08:00' })).toThrow(/no cutoff of daily@23:00:00/);
  });
});
