import { parseDuration, parseVoidWindow, voidRulesFrom } from './void-rules';
import { canonicalVoidRequest } from './request-fingerprint';
import { customerVoidNotice, yuanText } from './customer-notice';

describe('void rules from configuration', () => {
  it('defaults to DOMAIN.md: WeChat 7 days, Alipay trade day, UnionPay 23:00 with supervisor on the original terminal', () => {
    const rules = voidRulesFrom();
    expect(rules.WECHAT).toMatchObject({ window: { kind: 'MAX_AGE', maxAgeMs: 7 * 86_400_000 }, minAgeMs: 0, requireSupervisor: false, requireOriginalTerminal: false, requireCardReference: false });
    expect(rules.ALIPAY.window).toEqual({ kind: 'UNTIL_CUTOFF', schedule: { kind: 'daily', at: { hour: 0, minute: 0, second: 0 } } });
    expect(rules.UNIONPAY_CARD).toMatchObject({ window: { kind: 'UNTIL_CUTOFF' }, requireSupervisor: true, requireOriginalTerminal: true, requireCardReference: true });
  });

  it('reads overrides', () => {
    const rules = voidRulesFrom({ window: { WECHAT: 'age:3d' }, minAge: { WECHAT: '15s' }, supervisorChannels: 'UNIONPAY_CARD,ALIPAY' });
    expect(rules.WECHAT.window).toEqual({ kind: 'MAX_AGE', maxAgeMs: 3 * 86_400_000 });
    expect(rules.WECHAT.minAgeMs).toBe(15_000);
    expect(rules.ALIPAY.requireSupervisor).toBe(true);
  });

  it.each(['', '7', '7 days', '-1s', '1.5s', '1w'])('refuses the duration %j', (text) => {
    expect(() => parseDuration(text)).toThrow(/duration/);
  });

  it.each(['age:0s', 'until:weekly@1', 'since:7d', 'until:daily@24:00'])('refuses the window %j', (text) => {
    expect(() => parseVoidWindow(text)).toThrow();
  });

  it('refuses an unknown channel', () => {
    expect(() => voidRulesFrom({ supervisorChannels: 'PAYPAL' })).toThrow(/unknown channel/);
  });
});

describe('request fingerprint and customer notice', () => {
  const base = { merchantId: 'M100', terminalId: 'T1', paymentId: 'p', amountFen: 100, operatorId: 'OP1' };
  it('differs whenever a field that matters differs, and ignores absent vs undefined', () => {
    expect(canonicalVoidRequest(base)).toBe(canonicalVoidRequest({ ...base, outTradeNo: undefined }));
    expect(canonicalVoidRequest(base)).not.toBe(canonicalVoidRequest({ ...base, amountFen: 101 }));
    expect(canonicalVoidRequest(base)).not.toBe(canonicalVoidRequest({ ...base, card: { batchNo: '000001', voucherNo: '000002' } }));
  });

  it('writes yuan from fen without floats', () => {
    expect(yuanText(1)).toBe('0.01');
    expect(yuanText(1999)).toBe('19.99');
    expect(yuanText(9_007_199_254_740_991)).toBe('90071992547409.91');
    expect(() => yuanText(1.5)).toThrow();
  });

  it('tells the customer in Chinese and English', () => {
    const notice = customerVoidNotice({ channel: 'WECHAT', amountFen: 1999, outTradeNo: 'ORDER-1' });
    expect(notice.zh).toContain('微信支付');
    expect(notice.zh).toContain('¥19.99');
    expect(notice.en).toContain('CNY 19.99');
    expect(notice.zh).toContain('已原路全额退回');
  });

  it('tells a card holder that the purchase will not be charged, and when money already taken comes back', () => {
    const notice = customerVoidNotice({ channel: 'UNIONPAY_CARD', amountFen: 100, outTradeNo: 'ORDER-2' });
    expect(notice.zh).toContain('银联已确认');
    expect(notice.zh).toContain('不会入账');
    expect(notice.en).toContain('timing depends on your card issuer');
  });
});
