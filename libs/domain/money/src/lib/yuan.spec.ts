import fc from 'fast-check';
import { fen } from './fen';
import { MoneyError } from './money-error';
import { formatYuan, parseYuan } from './yuan';

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    if (error instanceof MoneyError) return error.code;
    throw error;
  }
  return undefined;
}

describe('parseYuan', () => {
  it.each([
    ['12.30', 1230],
    ['12.3', 1230],
    ['0.01', 1],
    ['0.29', 29],
    ['1.10', 110],
    ['100', 10000],
    ['0', 0],
    ['0.00', 0],
    ['-0.01', -1],
    ['-12.3', -1230],
    ['90071992547409.91', Number.MAX_SAFE_INTEGER],
    ['-90071992547409.91', -Number.MAX_SAFE_INTEGER],
  ])('parses %p as %p fen', (text, expected) => {
    expect(parseYuan(text)).toBe(expected);
  });

  it('parses "-0" and "-0.00" as zero, not negative zero', () => {
    expect(Object.is(parseYuan('-0'), 0)).toBe(true);
    expect(Object.is(parseYuan('-0.00'), 0)).toBe(true);
  });

  it.each([
    '1.234',
    '1e3',
    '1E3',
    '',
    '-',
    ' 1',
    '1 ',
    '+1',
    '01.00',
    '00',
    '1.',
    '.5',
    '1,000.00',
    '1,00',
    'NaN',
    'Infinity',
    '0x10',
    '１２',
    '12.3.4',
    '--1',
  ])('refuses %p as malformed', (text) => {
    expect(codeOf(() => parseYuan(text))).toBe('YUAN_MALFORMED');
  });

  it('refuses amounts beyond the exactly representable range', () => {
    expect(codeOf(() => parseYuan('90071992547409.92'))).toBe('AMOUNT_NOT_SAFE_INTEGER');
    expect(codeOf(() => parseYuan('-90071992547409.92'))).toBe('AMOUNT_NOT_SAFE_INTEGER');
    expect(codeOf(() => parseYuan('1' + '0'.repeat(40)))).toBe('AMOUNT_NOT_SAFE_INTEGER');
  });

  it('agrees with BigInt decimal arithmetic for every yuan.fen string', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 90_071_992_547_408n }), fc.integer({ min: 0, max: 99 }), fc.boolean(), (yuan, cents, negative) => {
        const text = `${negative ? '-' : ''}${yuan}.${String(cents).padStart(2, '0')}`;
        const magnitude = yuan * 100n + BigInt(cents);
        expect(BigInt(parseYuan(text))).toBe(negative ? -magnitude : magnitude);
      }),
    );
  });
});

describe('formatYuan', () => {
  it.each([
    [1230, '12.30'],
    [1, '0.01'],
    [10, '0.10'],
    [0, '0.00'],
    [100, '1.00'],
    [-1, '-0.01'],
    [-1230, '-12.30'],
    [Number.MAX_SAFE_INTEGER, '90071992547409.91'],
  ])('formats %p fen as %p', (amount, expected) => {
    expect(formatYuan(fen(amount))).toBe(expected);
  });

  it('refuses a value that is not fen', () => {
    expect(codeOf(() => formatYuan(0.5 as never))).toBe('AMOUNT_NOT_INTEGER');
  });

  it('round-trips every safe integer through parseYuan', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (n) => {
        expect(parseYuan(formatYuan(fen(n)))).toBe(n);
      }),
    );
  });

  it('produces the canonical form: formatting a parsed two-decimal string gives it back', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (n) => {
        const text = formatYuan(fen(n));
        expect(text).toMatch(/^-?(0|[1-9][0-9]*)\.[0-9]{2}$/);
        expect(formatYuan(parseYuan(text))).toBe(text);
      }),
    );
  });
});
