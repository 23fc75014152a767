import { ChannelName } from '@pos/contracts';
import { simulatedUndo, simulatedUndoReference, UndoOrder } from './undo-simulator';

const paymentId = '3b5b0a52-8a3e-4d7c-9b4e-3f0f6a1c2d11';
const card = { batchNo: '000001', voucherNo: '000042' };
const order = (channel: ChannelName, outTradeNo: string): UndoOrder => ({
  paymentId,
  channel,
  outTradeNo,
  amountFen: 1999,
  ...(channel === 'UNIONPAY_CARD' ? { card } : {}),
});

describe('simulatedUndo', () => {
  it.each<[ChannelName, string]>([
    ['WECHAT', 'SIMWXR3b5b0a528a3e4d7c9b4e3f0f6a1c2d11'],
    ['ALIPAY', 'SIMALIC3b5b0a528a3e4d7c9b4e3f0f6a1c2d11'],
    ['UNIONPAY_CARD', 'SIMUPV3b5b0a528a3e4d7c9b4e3f0f6a1c2d11'],
  ])('%s: an ordinary order number is undone at the first call, with a stable reference', (channel, reference) => {
    expect(simulatedUndo(order(channel, 'ORDER-20261205-0001'), 1)).toEqual({ kind: 'SUCCESS', channelReference: reference });
    expect(simulatedUndoReference({ channel, paymentId })).toBe(reference);
  });

  it.each<[ChannelName, string]>([
    ['WECHAT', 'SYSTEMERROR'],
    ['ALIPAY', 'ACQ.SYSTEM_ERROR'],
    ['UNIONPAY_CARD', '96'],
  ])('%s: VR<n> asks to call again n times with the channel code, then succeeds', (channel, code) => {
    const o = order(channel, 'ORDER-1-VR3');
    expect([1, 2, 3].map((attempt) => simulatedUndo(o, attempt))).toEqual([1, 2, 3].map(() => ({ kind: 'TRY_AGAIN', code })));
    expect(simulatedUndo(o, 4).kind).toBe('SUCCESS');
  });

  it('VU<n> is WeChat USERPAYING; the other channels answer their system error', () => {
    expect(simulatedUndo(order('WECHAT', 'ORDER-1-VU1'), 1)).toEqual({ kind: 'TRY_AGAIN', code: 'USERPAYING' });
    expect(simulatedUndo(order('ALIPAY', 'ORDER-1-VU1'), 1)).toEqual({ kind: 'TRY_AGAIN', code: 'ACQ.SYSTEM_ERROR' });
    expect(simulatedUndo(order('WECHAT', 'ORDER-1-VU1'), 2).kind).toBe('SUCCESS');
  });

  it('VT<n> does not answer n times, then answers success (the repeated call is idempotent)', () => {
    const o = order('ALIPAY', 'ORDER-1-VT2');
    expect([1, 2, 3].map((attempt) => simulatedUndo(o, attempt).kind)).toEqual(['TIMEOUT', 'TIMEOUT', 'SUCCESS']);
  });

  it.each<[ChannelName, string]>([
    ['WECHAT', 'REVERSE_EXPIRE'],
    ['ALIPAY', 'ACQ.TRADE_CANCEL_TIME_OUT'],
    ['UNIONPAY_CARD', '12'],
  ])('%s: VX is refused for good with the channel code, however often it is asked', (channel, code) => {
    for (const attempt of [1, 2, 10]) {
      expect(simulatedUndo(order(channel, 'ORDER-1-VX'), attempt)).toMatchObject({ kind: 'REFUSED', code });
    }
  });

  it('refuses a UnionPay void that does not name the original batch and voucher numbers (25)', () => {
    expect(simulatedUndo({ paymentId, channel: 'UNIONPAY_CARD', outTradeNo: 'ORDER-1', amountFen: 1 }, 1)).toMatchObject({ kind: 'REFUSED', code: '25' });
  });

  it('ignores markers in lower case or in the middle, and generated hex endings', () => {
    for (const outTradeNo of ['ORDER-1-vx', 'ORDER-VX-1', 'ORD-1-3fa9c0d2', 'ORDER-1-VR0']) {
      expect(simulatedUndo(order('WECHAT', outTradeNo), 1).kind).toBe('SUCCESS');
    }
  });

  it('counts attempts from 1', () => {
    expect(() => simulatedUndo(order('WECHAT', 'O'), 0)).toThrow('counted from 1');
  });
});
