import { simulatedOutcome, simulatedTradeNo } from './pay-simulator';

const id = '3b5b0a52-8a3e-4d7c-9b4e-3f0f6a1c2d11';

describe('simulatedOutcome', () => {
  it.each([
    ['134567890123456791', 'pay', 'DECLINED'],
    ['134567890123456791', 'query', 'DECLINED'],
    ['134567890123456792', 'pay', 'USERPAYING'],
    ['134567890123456792', 'query', 'SUCCESS'],
    ['134567890123456793', 'pay', 'USERPAYING'],
    ['134567890123456793', 'query', 'DECLINED'],
    ['134567890123456794', 'pay', 'TIMEOUT'],
    ['134567890123456794', 'query', 'TIMEOUT'],
    ['134567890123456700', 'pay', 'SUCCESS'],
    ['**************6700', 'query', 'SUCCESS'],
  ] as const)('%s %s -> %s', (reference, call, kind) => {
    expect(simulatedOutcome(reference, call, 'WECHAT', id).kind).toBe(kind);
  });

  it('answers a masked reference exactly as the raw one (the query only has the masked one)', () => {
    expect(simulatedOutcome('**************6792', 'query', 'ALIPAY', id)).toEqual(simulatedOutcome('134567890123456792', 'query', 'ALIPAY', id));
  });

  it('tells the customer cancelled apart from a decline', () => {
    expect(simulatedOutcome('134567890123456793', 'query', 'WECHAT', id)).toEqual({ kind: 'DECLINED', reason: 'USER_CANCELLED' });
  });

  it('derives a stable channel trade number within 64 characters', () => {
    expect(simulatedTradeNo('UNIONPAY_CARD', id)).toBe('SIMUP3b5b0a528a3e4d7c9b4e3f0f6a1c2d11');
    expect(simulatedTradeNo('ALIPAY', id).length).toBeLessThanOrEqual(64);
  });
});
