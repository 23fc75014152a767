import fc from 'fast-check';
import { fen } from './fen';
import { MoneyError } from './money-error';
import { validatePaymentAmount } from './payment-amount';

const LIMIT = fen(5_000_000); // 50,000.00 yuan

describe('validatePaymentAmount', () => {
  it('accepts a positive integer up to and including the limit', () => {
    expect(validatePaymentAmount(1, LIMIT)).toEqual({ ok: true, amount: 1 });
    expect(validatePaymentAmount(5_000_000, LIMIT)).toEqual({ ok: true, amount: 5_000_000 });
  });

  it.each([
    [0, 'AMOUNT_NOT_POSITIVE'],
    [-0, 'AMOUNT_NOT_POSITIVE'],
    [-1, 'AMOUNT_NOT_POSITIVE'],
    [-(2 ** 60), 'AMOUNT_NOT_POSITIVE'],
    [5_000_001, 'AMOUNT_TOO_LARGE'],
    [2 ** 60, 'AMOUNT_TOO_LARGE'],
    [12.5, 'AMOUNT_NOT_INTEGER'],
    [0.01, 'AMOUNT_NOT_INTEGER'],
    [NaN, 'AMOUNT_NOT_INTEGER'],
    [Infinity, 'AMOUNT_NOT_INTEGER'],
    ['100', 'AMOUNT_NOT_A_NUMBER'],
    ['1.00', 'AMOUNT_NOT_A_NUMBER'],
    [100n, 'AMOUNT_NOT_A_NUMBER'],
    [null, 'AMOUNT_NOT_A_NUMBER'],
    [undefined, 'AMOUNT_NOT_A_NUMBER'],
    [{ amount: 100 }, 'AMOUNT_NOT_A_NUMBER'],
    [[100], 'AMOUNT_NOT_A_NUMBER'],
  ])('rejects %p with %s and a message', (value, code) => {
    const result = validatePaymentAmount(value, LIMIT);
    expect(result).toMatchObject({ ok: false, code });
    expect(result.ok === false && result.message.length > 0).toBe(true);
  });

  it('accepts exactly the integers in [1, limit]', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000_000 }), fc.integer({ min: -100_000_000, max: 200_000_000 }), (limit, value) => {
        const result = validatePaymentAmount(value, fen(limit));
        expect(result.ok).toBe(value >= 1 && value <= limit);
      }),
    );
  });

  it('never accepts a non-integer', () => {
    fc.assert(
      fc.property(
        fc.double().filter((d) => !Number.isInteger(d)),
        (value) => {
          expect(validatePaymentAmount(value, LIMIT)).toMatchObject({ ok: false, code: 'AMOUNT_NOT_INTEGER' });
        },
      ),
    );
  });

  it('throws on a limit that would refuse every payment', () => {
    expect(() => validatePaymentAmount(1, fen(0))).toThrow(MoneyError);
    expect(() => validatePaymentAmount(1, fen(-1))).toThrow(expect.objectContaining({ code: 'LIMIT_NOT_POSITIVE' }));
  });
});
