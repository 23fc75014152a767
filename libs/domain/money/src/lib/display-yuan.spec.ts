import fc from 'fast-check';
import { displayYuan } from './display-yuan';
import { fen } from './fen';
import { MoneyError } from './money-error';
import { formatYuan, parseYuan } from './yuan';

/** Back from the display form to fen, by text alone: drop the sign, ¥, commas and the point. */
function fenFromDisplay(text: string): bigint {
  const match = /^(-?)¥(\d{1,3}(?:,\d{3})*)\.(\d{2})$/.exec(text);
  if (match === null) throw new Error(`not a display amount: ${text}`);
  const magnitude = BigInt(match[2].replace(/,/g, '') + match[3]);
  return match[1] === '-' ? -magnitude : magnitude;
}

describe('displayYuan', () => {
  it.each([
    [0, '¥0.00'],
    [1, '¥0.01'],
    [5, '¥0.05'],
    [10, '¥0.10'],
    [99, '¥0.99'],
    [100, '¥1.00'],
    [123456, '¥1,234.56'],
    [100000, '¥1,000.00'],
    [99999, '¥999.99'],
    [12345678901, '¥123,456,789.01'],
    [-5, '-¥0.05'],
    [-123456, '-¥1,234.56'],
    [Number.MAX_SAFE_INTEGER, '¥90,071,992,547,409.91'],
    [-Number.MAX_SAFE_INTEGER, '-¥90,071,992,547,409.91'],
  ])('shows %p fen as %p', (amount, expected) => {
    expect(displayYuan(fen(amount))).toBe(expected);
  });

  it('shows amounts beyond 2^53 fen exactly, as a bigint or its decimal string', () => {
    expect(displayYuan(2n ** 53n + 1n)).toBe('¥90,071,992,547,409.93');
    expect(displayYuan('9007199254740993')).toBe('¥90,071,992,547,409.93');
    expect(displayYuan(-(10n ** 30n) - 7n)).toBe('-¥10,000,000,000,000,000,000,000,000,000.07');
  });

  it('shows -0 as zero, not as a negative amount', () => {
    expect(displayYuan(-0)).toBe('¥0.00');
    expect(displayYuan('0')).toBe('¥0.00');
    expect(displayYuan('-0')).toBe('¥0.00');
  });

  it.each([0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '1.5', '', '-', '01', '1e3', ' 1', '+1', '1,000'])(
    'refuses %p rather than guess the amount',
    (amount) => {
      expect(() => displayYuan(amount)).toThrow(MoneyError);
    },
  );

  it('round-trips every bigint amount: the digits shown are the fen', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }), (amount) => {
        expect(fenFromDisplay(displayYuan(amount))).toBe(amount);
      }),
    );
  });

  it('says the same for a safe number, its bigint and its decimal string, and agrees with parseYuan/formatYuan', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (n) => {
        const amount = fen(n);
        const shown = displayYuan(amount);
        expect(displayYuan(BigInt(amount))).toBe(shown);
        expect(displayYuan(String(amount))).toBe(shown);
        expect(parseYuan(shown.replace(/[¥,]/g, ''))).toBe(amount);
        expect(shown.replace(/[¥,]/g, '')).toBe(formatYuan(amount));
      }),
    );
  });

  it('groups the yuan in threes from the right and never starts a group with a comma', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 25n }), (amount) => {
        const yuan = displayYuan(amount).slice(1, -3);
        expect(yuan).toMatch(/^(0|[1-9]\d{0,2})(,\d{3})*$/);
      }),
    );
  });
});
