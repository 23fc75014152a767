import fc from 'fast-check';
import { addFen, compareFen, Fen, fen, sumFen } from './fen';
import { MoneyError } from './money-error';

const MAX = Number.MAX_SAFE_INTEGER;

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    if (error instanceof MoneyError) return error.code;
    throw error;
  }
  return undefined;
}

const fenArb = fc.maxSafeInteger().map((n) => fen(n));

describe('fen', () => {
  it('accepts integers in the safe range, signed', () => {
    expect(fen(0)).toBe(0);
    expect(fen(1)).toBe(1);
    expect(fen(-1)).toBe(-1);
    expect(fen(MAX)).toBe(MAX);
    expect(fen(-MAX)).toBe(-MAX);
  });

  it('normalises -0 to 0', () => {
    expect(Object.is(fen(-0), 0)).toBe(true);
  });

  it.each([0.5, 1.01, -0.1, NaN, Infinity, -Infinity])('refuses %p as not an integer', (n) => {
    expect(codeOf(() => fen(n))).toBe('AMOUNT_NOT_INTEGER');
  });

  it.each([MAX + 1, -MAX - 1, 2 ** 60])('refuses %p as not a safe integer', (n) => {
    expect(codeOf(() => fen(n))).toBe('AMOUNT_NOT_SAFE_INTEGER');
  });

  it('refuses a non-number smuggled past the type system', () => {
    expect(codeOf(() => fen('100' as unknown as number))).toBe('AMOUNT_NOT_INTEGER');
  });

  it('throws a MoneyError that is an Error with a readable message', () => {
    expect(() => fen(0.5)).toThrow(MoneyError);
    expect(() => fen(0.5)).toThrow(expect.objectContaining({ name: 'MoneyError', message: expect.stringContaining('0.5') }));
  });
});

describe('addFen', () => {
  it('adds exactly up to the edge of the safe range', () => {
    expect(addFen(fen(MAX - 1), fen(1))).toBe(MAX);
    expect(addFen(fen(-MAX + 1), fen(-1))).toBe(-MAX);
  });

  it('throws rather than round past the safe range', () => {
    expect(codeOf(() => addFen(fen(MAX), fen(1)))).toBe('AMOUNT_OVERFLOW');
    expect(codeOf(() => addFen(fen(-MAX), fen(-2)))).toBe('AMOUNT_OVERFLOW');
  });

  it('equals the BigInt sum, or throws exactly when that sum is unsafe', () => {
    fc.assert(
      fc.property(fenArb, fenArb, (a, b) => {
        const exact = BigInt(a) + BigInt(b);
        if (exact >= BigInt(-MAX) && exact <= BigInt(MAX)) {
          expect(BigInt(addFen(a, b))).toBe(exact);
        } else {
          expect(codeOf(() => addFen(a, b))).toBe('AMOUNT_OVERFLOW');
        }
      }),
    );
  });
});

describe('sumFen', () => {
  it('sums nothing to zero and accepts any iterable', () => {
    expect(sumFen([])).toBe(0);
    expect(sumFen(new Set([fen(1), fen(2)]))).toBe(3);
    function* amounts(): Generator<Fen> {
      yield fen(30);
      yield fen(-5);
    }
    expect(sumFen(amounts())).toBe(25);
  });

  it('sums a batch of 1,000,000 payments exactly', () => {
    // Large, odd amounts, where a float accumulator of yuan would drift: 999,999,999 - (i mod 997) fen.
    const distinct = Array.from({ length: 997 }, (_, k) => fen(999_999_999 - k));
    const amounts = Array.from({ length: 1_000_000 }, (_, i) => distinct[i % 997]);
    // 1,000,000 = 1003 full cycles of 0..996 plus 0..8.
    const expected = 1_000_000n * 999_999_999n - (1003n * ((996n * 997n) / 2n) + 36n);
    expect(BigInt(sumFen(amounts))).toBe(expected);
  }, 30_000);

  it('keeps a total exact even when a running total leaves the safe range and comes back', () => {
    expect(sumFen([fen(MAX), fen(MAX), fen(-MAX), fen(-1)])).toBe(MAX - 1);
  });

  it('throws when the total itself is beyond the safe range', () => {
    expect(codeOf(() => sumFen([fen(MAX), fen(1)]))).toBe('AMOUNT_OVERFLOW');
    expect(codeOf(() => sumFen([fen(-MAX), fen(MAX), fen(-MAX), fen(-1)]))).toBe('AMOUNT_OVERFLOW');
  });

  it('equals the BigInt sum for everyday amounts', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -10_000_000_000, max: 10_000_000_000 }).map(fen), { maxLength: 200 }), (amounts) => {
        const exact = amounts.reduce((acc, a) => acc + BigInt(a), 0n);
        expect(BigInt(sumFen(amounts))).toBe(exact);
      }),
    );
  });

  it('equals the BigInt sum, or throws exactly when that sum is unsafe, for extreme amounts', () => {
    fc.assert(
      fc.property(fc.array(fenArb, { maxLength: 20 }), (amounts) => {
        const exact = amounts.reduce((acc, a) => acc + BigInt(a), 0n);
        if (exact >= BigInt(-MAX) && exact <= BigInt(MAX)) {
          expect(BigInt(sumFen(amounts))).toBe(exact);
        } else {
          expect(codeOf(() => sumFen(amounts))).toBe('AMOUNT_OVERFLOW');
        }
      }),
    );
  });
});

describe('compareFen', () => {
  it('orders amounts numerically, not as strings', () => {
    const sorted = [fen(10), fen(-3), fen(9), fen(0)].sort(compareFen);
    expect(sorted).toEqual([-3, 0, 9, 10]);
  });

  it('agrees with BigInt ordering', () => {
    fc.assert(
      fc.property(fenArb, fenArb, (a, b) => {
        const expected = BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0;
        expect(compareFen(a, b)).toBe(expected);
      }),
    );
  });
});
