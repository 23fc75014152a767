import { Fen } from './fen';
import { MoneyError } from './money-error';

export type PaymentAmountRejection = 'AMOUNT_NOT_A_NUMBER' | 'AMOUNT_NOT_INTEGER' | 'AMOUNT_NOT_POSITIVE' | 'AMOUNT_TOO_LARGE';

export type PaymentAmountValidation =
  | { readonly ok: true; readonly amount: Fen }
  | { readonly ok: false; readonly code: PaymentAmountRejection; readonly message: string };

/**
 * The amount rule for an incoming payment, returned rather than thrown because a bad amount from a
 * client is an expected answer, not a defect. Strings are refused, not parsed: the API takes fen as a
 * JSON number, and accepting "100" would invite "1.00" meaning yuan.
 */
export function validatePaymentAmount(value: unknown, maxFen: Fen): PaymentAmountValidation {
  if (!Number.isSafeInteger(maxFen) || maxFen <= 0) {
    // A limit of zero would silently refuse every payment: a configuration defect, so it throws.
    throw new MoneyError('LIMIT_NOT_POSITIVE', `payment amount limit must be a positive number of fen, got ${maxFen}`);
  }
  if (typeof value !== 'number') {
    return reject('AMOUNT_NOT_A_NUMBER', `amount must be a number of fen, got ${typeof value}`);
  }
  if (!Number.isInteger(value)) {
    return reject('AMOUNT_NOT_INTEGER', `amount must be an integer number of fen, got ${value}`);
  }
  if (value <= 0) {
    return reject('AMOUNT_NOT_POSITIVE', `amount must be positive, got ${value}`);
  }
  // maxFen is a safe integer, so every unsafe integer is caught here or by the sign check above.
  if (value > maxFen) {
    return reject('AMOUNT_TOO_LARGE', `amount ${value} fen exceeds the limit of ${maxFen} fen`);
  }
  return { ok: true, amount: value as Fen };
}

function reject(code: PaymentAmountRejection, message: string): PaymentAmountValidation {
  return { ok: false, code, message };
}
