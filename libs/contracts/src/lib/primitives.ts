import { Type } from '@sinclair/typebox';

/** Building blocks shared by every payload schema. Bounded sizes everywhere: nothing unbounded reaches a database. */

export const CHANNELS = ['WECHAT', 'ALIPAY', 'UNIONPAY_CARD'] as const;
export type ChannelName = (typeof CHANNELS)[number];
export const Channel = Type.Unsafe<ChannelName>({
  type: 'string',
  enum: [...CHANNELS],
  description: 'Payment channel: WeChat Pay micropay, Alipay barcode, UnionPay bank card',
});

export const Currency = Type.Literal('CNY', { description: 'ISO 4217; only CNY is accepted' });

/** Integer fen (1/100 yuan). Never a float; JSON numbers up to 2^53 are exact. */
export const AmountFen = Type.Integer({ minimum: 1, maximum: 9_007_199_254_740_991, description: 'Amount in integer fen' });
export const CountOrFen = Type.Integer({ minimum: 0, maximum: 9_007_199_254_740_991 });
/**
 * A sum of fen, exact however large: a JSON integer up to 2^53 - 1 and, beyond, the same integer
 * as a decimal string (most JSON parsers round larger numbers). `BigInt(value)` reads either.
 */
export const FenTotal = Type.Union(
  [CountOrFen, Type.String({ pattern: '^[1-9][0-9]{15,39}$', description: 'A total of 2^53 fen or more, as decimal digits' })],
  { description: 'Total in integer fen; a decimal string when above 2^53 - 1' },
);

export const Identifier = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]*$' });
/**
 * Settlement batch id, e.g. `M100:WECHAT:20261127T000000+0800` (see libs/domain/settlement-batches):
 * `:`-separated fields, `%` and `:` inside a field percent-encoded. Opaque to consumers.
 */
export const BatchId = Type.String({ minLength: 1, maxLength: 500, pattern: '^[A-Za-z0-9][A-Za-z0-9._:%+-]*$' });
export const OutTradeNo = Type.String({
  minLength: 1,
  maxLength: 32,
  pattern: '^[A-Za-z0-9_\\-|*]+$',
  description: "The merchant's order number (WeChat/Alipay out_trade_no rules)",
});
export const Uuid = Type.String({ format: 'uuid' });
export const Instant = Type.String({ format: 'date-time', description: 'RFC 3339 instant with an explicit offset' });
export const BusinessDate = Type.String({ format: 'date', description: 'Business date, Asia/Shanghai' });

/** POS terminal batch number and voucher (trace) number, 6 digits each as in ISO 8583 field 60 / 11. */
export const CardBatchNo = Type.String({ pattern: '^[0-9]{6}$' });
export const CardVoucherNo = Type.String({ pattern: '^[0-9]{6}$' });

export const CardDetails = Type.Object(
  {
    batchNo: CardBatchNo,
    voucherNo: CardVoucherNo,
  },
  { additionalProperties: false },
);
