import { fen } from './fen';
import { MoneyError } from './money-error';

/** Integer fen as text: optional minus, no leading zeros. */
const FEN_TEXT_PATTERN = /^-?(0|[1-9][0-9]*)$/;

/**
 * Fen as people read yuan: `¥1,234.56`, `-¥0.05`, thousands grouped with commas, always two
 * decimals. Exact at any size: the amount becomes a bigint and the text is cut from its decimal
 * digits, never divided as a float. A total beyond 2^53 fen (a sum over many batches) comes in as a
 * bigint or as its decimal string; a number must be a safe integer (`fen`'s rule).
 */
export function displayYuan(amount: number | bigint | string): string {
  const exact = toBigInt(amount);
  const negative = exact < 0n;
  const digits = (negative ? -exact : exact).toString().padStart(3, '0');
  const yuan = digits.slice(0, -2).replace(/\B(?=(\d{3})+$)/g, ',');
  return `${negative ? '-' : ''}¥${yuan}.${digits.slice(-2)}`;
}

function toBigInt(amount: number | bigint | string): bigint {
  if (typeof amount === 'bigint') return amount;
  if (typeof amount === 'number') return BigInt(fen(amount));
  if (typeof amount === 'string' && FEN_TEXT_PATTERN.test(amount)) return BigInt(amount);
  throw new MoneyError('AMOUNT_NOT_INTEGER', `not an integer number of fen: ${JSON.stringify(amount)}`);
}
