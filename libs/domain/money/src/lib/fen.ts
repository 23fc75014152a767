import { MoneyError } from './money-error';

declare const fenBrand: unique symbol;

/**
 * An amount in fen (1/100 yuan), the only unit used inside the system. The brand makes sure a raw
 * number (say, yuan from a bill, or a float from arithmetic) cannot be passed where fen is meant.
 * Signed: refunds and net totals are negative; positivity is a rule of the edge, not of the type.
 */
export type Fen = number & { readonly [fenBrand]: 'Fen' };

/** Checks that `n` is an exact number of fen: an integer a double can hold without rounding. */
export function fen(n: number): Fen {
  if (typeof n !== 'number' || !Number.isInteger(n)) {
    throw new MoneyError('AMOUNT_NOT_INTEGER', `amount must be an integer number of fen, got ${String(n)}`);
  }
  if (!Number.isSafeInteger(n)) {
    throw new MoneyError('AMOUNT_NOT_SAFE_INTEGER', `amount ${n} fen is beyond the exactly representable range`);
  }
  // -0 is an integer, but would print as "-0.00" and breaks Object.is-based equality.
  return (n === 0 ? 0 : n) as Fen;
}

/** Exact, or throws: a total that silently rounds would break batch reconciliation. */
export function addFen(a: Fen, b: Fen): Fen {
  const sum = a + b;
  // Both operands are safe, so a rounded result always lands outside the safe range: the check is exact.
  if (!Number.isSafeInteger(sum)) {
    throw new MoneyError('AMOUNT_OVERFLOW', `${a} + ${b} fen exceeds the exactly representable range`);
  }
  return sum as Fen;
}

/**
 * Exact sum, or throws if the exact total is beyond the safe range. A running total may leave the
 * range and come back (payments and refunds mixed), so only the final total decides; numbers are
 * used while they are exact and BigInt takes over only once they would not be.
 */
export function sumFen(amounts: Iterable<Fen>): Fen {
  let total = 0;
  let exact: bigint | undefined;
  for (const amount of amounts) {
    if (exact !== undefined) {
      exact += BigInt(amount);
      continue;
    }
    const next = total + amount;
    if (Number.isSafeInteger(next)) {
      total = next;
    } else {
      exact = BigInt(total) + BigInt(amount);
    }
  }
  if (exact === undefined) {
    return total as Fen;
  }
  if (exact > BigInt(Number.MAX_SAFE_INTEGER) || exact < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new MoneyError('AMOUNT_OVERFLOW', `total ${exact} fen exceeds the exactly representable range`);
  }
  return Number(exact) as Fen;
}

/** Comparator for `Array.prototype.sort` and friends. */
export function compareFen(a: Fen, b: Fen): -1 | 0 | 1 {
  return a < b ? -1 : a > b ? 1 : 0;
}
