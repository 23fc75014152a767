export { MoneyError } from './lib/money-error';
export type { MoneyErrorCode } from './lib/money-error';
export { fen, addFen, sumFen, compareFen } from './lib/fen';
export type { Fen } from './lib/fen';
export { parseYuan, formatYuan } from './lib/yuan';
export { isCurrency } from './lib/currency';
export type { Currency } from './lib/currency';
export { validatePaymentAmount } from './lib/payment-amount';
export type { PaymentAmountRejection, PaymentAmountValidation } from './lib/payment-amount';
