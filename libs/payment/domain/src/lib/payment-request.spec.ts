import fc from 'fast-check';
import { fen } from '@pos/money';
import { fingerprintOf, maskReference, validatePaymentRequest, PaymentRequest } from './payment-request';

const limits = { maxAmountFen: fen(10_000_000) };
const wallet = {
  merchantId: 'M100',
  terminalId: 'T1',
  channel: 'WECHAT',
  amountFen: 1999,
  currency: 'CNY',
  outTradeNo: 'ORDER-1',
  paymentCode: '134567890123456789',
};
const card = {
  merchantId: 'M100',
  terminalId: 'T1',
  channel: 'UNIONPAY_CARD',
  amountFen: 1999,
  currency: 'CNY',
  outTradeNo: 'ORDER-2',
  card: { cardRef: 'tok_abcdef12', batchNo: '000123', voucherNo: '000456' },
};

function codeOf(input: unknown): string | undefined {
  const result = validatePaymentRequest(input, limits);
  return result.ok ? undefined : result.code;
}

describe('validatePaymentRequest', () => {
  it('accepts a wallet and a card payment', () => {
    expect(validatePaymentRequest(wallet, limits)).toEqual({ ok: true, request: wallet });
    expect(validatePaymentRequest(card, limits)).toEqual({ ok: true, request: card });
  });

  it.each<[string, unknown, string]>([
    ['a non-object body', [1, 2], 'FIELD_INVALID'],
    ['an unknown field', { ...wallet, tip: 1 }, 'FIELD_INVALID'],
    ['a missing merchant', { ...wallet, merchantId: undefined }, 'FIELD_REQUIRED'],
    ['a merchant id with spaces', { ...wallet, merchantId: 'M 100' }, 'FIELD_INVALID'],
    ['an oversized terminal id', { ...wallet, terminalId: 'T'.repeat(65) }, 'FIELD_INVALID'],
    ['an unknown channel', { ...wallet, channel: 'PAYPAL' }, 'UNKNOWN_CHANNEL'],
    ['a lower-case channel', { ...wallet, channel: 'wechat' }, 'UNKNOWN_CHANNEL'],
    ['a missing amount', { ...wallet, amountFen: undefined }, 'FIELD_REQUIRED'],
    ['a fractional amount', { ...wallet, amountFen: 19.99 }, 'AMOUNT_NOT_INTEGER'],
    ['an amount as a string', { ...wallet, amountFen: '1999' }, 'AMOUNT_NOT_INTEGER'],
    ['a zero amount', { ...wallet, amountFen: 0 }, 'AMOUNT_NOT_POSITIVE'],
    ['a negative amount', { ...wallet, amountFen: -1 }, 'AMOUNT_NOT_POSITIVE'],
    ['an amount above the limit', { ...wallet, amountFen: 10_000_001 }, 'AMOUNT_TOO_LARGE'],
    ['an unsafe integer amount', { ...wallet, amountFen: 2 ** 60 }, 'AMOUNT_TOO_LARGE'],
    ['another currency', { ...wallet, currency: 'USD' }, 'UNSUPPORTED_CURRENCY'],
    ['a missing currency', { ...wallet, currency: undefined }, 'FIELD_REQUIRED'],
    ['an order number with a space', { ...wallet, outTradeNo: 'ORDER 1' }, 'FIELD_INVALID'],
    ['an order number longer than 32', { ...wallet, outTradeNo: 'O'.repeat(33) }, 'FIELD_INVALID'],
    ['a wallet payment without code', { ...wallet, paymentCode: undefined }, 'PAYMENT_CODE_REQUIRED'],
    ['a short payment code', { ...wallet, paymentCode: '1234' }, 'FIELD_INVALID'],
    ['a wallet payment with card details', { ...wallet, card: card.card }, 'FIELD_INVALID'],
    ['a card payment without card', { ...card, card: undefined }, 'CARD_DETAILS_REQUIRED'],
    ['a card payment without voucher', { ...card, card: { cardRef: 'tok_abcdef12', batchNo: '000123' } }, 'CARD_DETAILS_REQUIRED'],
    ['a 5-digit batch number', { ...card, card: { ...card.card, batchNo: '12345' } }, 'FIELD_INVALID'],
    ['an unknown card field', { ...card, card: { ...card.card, pan: '6222020000000000' } }, 'FIELD_INVALID'],
    ['a card payment with a payment code', { ...card, paymentCode: '134567890123456789' }, 'FIELD_INVALID'],
  ])('refuses %s', (_, input, code) => {
    expect(codeOf(input)).toBe(code);
  });

  it('names the field and never echoes a payment code in its message', () => {
    const result = validatePaymentRequest({ ...wallet, paymentCode: '13456789012345678X' }, limits);
    expect(result).toMatchObject({ ok: false, field: 'paymentCode' });
    expect(JSON.stringify(result)).not.toContain('13456789012345678X');
  });

  it('never throws, whatever the input', () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        validatePaymentRequest(input, limits);
      }),
    );
  });
});

describe('fingerprintOf', () => {
  const request = (validatePaymentRequest(wallet, limits) as { request: PaymentRequest }).request;

  it('is the same for the same request however its keys are ordered', () => {
    const reordered = Object.fromEntries(Object.entries(wallet).reverse());
    const again = (validatePaymentRequest(reordered, limits) as { request: PaymentRequest }).request;
    expect(fingerprintOf(again)).toBe(fingerprintOf(request));
  });

  it('changes when any field changes', () => {
    const changes: Partial<PaymentRequest>[] = [
      { terminalId: 'T2' },
      { amountFen: fen(2000) },
      { channel: 'ALIPAY' },
      { paymentCode: '134567890123456780' },
      { outTradeNo: 'ORDER-9' },
    ];
    for (const change of changes) expect(fingerprintOf({ ...request, ...change })).not.toBe(fingerprintOf(request));
  });
});

describe('maskReference', () => {
  it('keeps only the last four characters of a payment code', () => {
    expect(maskReference('134567890123456789')).toBe('**************6789');
  });

  it('never reveals more than four characters, and keeps the last two', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 4, maxLength: 64 }), (reference) => {
        const masked = maskReference(reference);
        expect(masked.length).toBe(reference.length);
        expect(masked.replace(/^\*+/, '').length).toBeLessThanOrEqual(4);
        expect(masked.slice(-2)).toBe(reference.slice(-2));
      }),
    );
  });
});
