import { fen, Fen } from './fen';
import { MoneyError } from './money-error';

/**
 * Canonical decimal yuan: optional minus, integer part without leading zeros, at most two decimals.
 * Leading zeros ("01.00"), signs other than minus, exponents and whitespace are refused rather than
 * guessed at: an amount from a payment channel that is not in its documented form is a defect to
 * surface, not to repair.
 */
const YUAN_PATTERN = /^(-?)(0|[1-9][0-9]*)(?:\.([0-9]{1,2}))?$/;
const FEN_PER_YUAN = 100n;

/**
 * Parses Alipay-style yuan ("12.30", "0.01", "100") into fen by decimal string arithmetic, because
 * `Number("0.29") * 100` is 28.999999999999996. Negative amounts parse; whether an amount may be
 * negative is the caller's rule.
 */
export function parseYuan(text: string): Fen {
  const match = YUAN_PATTERN.exec(text);
  if (match === null) {
    throw new MoneyError('YUAN_MALFORMED', `not a yuan amount with at most two decimals: ${JSON.stringify(text)}`);
  }
  const [, sign, yuan, decimals = ''] = match;
  const magnitude = BigInt(yuan) * FEN_PER_YUAN + BigInt(decimals.padEnd(2, '0'));
  const fenValue = sign === '-' ? -magnitude : magnitude;
  if (fenValue > BigInt(Number.MAX_SAFE_INTEGER) || fenValue < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new MoneyError('AMOUNT_NOT_SAFE_INTEGER', `yuan amount ${text} is beyond the exactly representable range`);
  }
  return fen(Number(fenValue));
}

/** Formats fen as yuan with exactly two decimals ("12.30", "-0.05"), the form bills and Alipay use. */
export function formatYuan(f: Fen): string {
  const amount = fen(f);
  // String(safe integer) is its exact decimal digits, so slicing is exact where dividing by 100 is not obviously so.
  const digits = String(Math.abs(amount)).padStart(3, '0');
  const sign = amount < 0 ? '-' : '';
  return `${sign}${digits.slice(0, -2)}.${digits.slice(-2)}`;
}
