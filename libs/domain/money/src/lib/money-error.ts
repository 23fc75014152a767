/** Machine-readable reasons, so callers can map a failure to an API error without parsing text. */
export type MoneyErrorCode =
  | 'AMOUNT_NOT_INTEGER'
  | 'AMOUNT_NOT_SAFE_INTEGER'
  | 'AMOUNT_OVERFLOW'
  | 'YUAN_MALFORMED'
  | 'LIMIT_NOT_POSITIVE';

export class MoneyError extends Error {
  override readonly name = 'MoneyError';

  constructor(
    readonly code: MoneyErrorCode,
    message: string,
  ) {
    super(message);
  }
}
