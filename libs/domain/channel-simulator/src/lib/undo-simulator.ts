import { ChannelName } from '@pos/contracts';

/**
 * How each channel undoes a succeeded payment the same day (a void, 撤销):
 * - WeChat Pay: `reverse` (撤销订单), on the merchant's out_trade_no;
 * - Alipay: `alipay.trade.cancel`, on the out_trade_no;
 * - UnionPay card: 消费撤销 (ISO 8583 MTI 0200, processing code 200000), on the original
 *   transaction's batch no. and voucher no. (凭证号).
 */
export type UndoOperation = 'WECHAT_REVERSE' | 'ALIPAY_CANCEL' | 'UNIONPAY_VOID';

export const UNDO_OPERATIONS: Readonly<Record<ChannelName, UndoOperation>> = {
  WECHAT: 'WECHAT_REVERSE',
  ALIPAY: 'ALIPAY_CANCEL',
  UNIONPAY_CARD: 'UNIONPAY_VOID',
};

/** What the channel needs to undo a payment. */
export interface UndoOrder {
  readonly paymentId: string;
  readonly channel: ChannelName;
  readonly outTradeNo: string;
  readonly amountFen: number;
  /** UnionPay: the original transaction's batch no. and voucher no. */
  readonly card?: { readonly batchNo: string; readonly voucherNo: string };
}

/** What a channel answered to an undo call. */
export type UndoOutcome =
  /** Done: the money goes back the way it came. `channelReference` names the undo at the channel. */
  | { readonly kind: 'SUCCESS'; readonly channelReference: string }
  /** The channel asks to be called again (WeChat SYSTEMERROR / USERPAYING, Alipay ACQ.SYSTEM_ERROR, UnionPay 96). */
  | { readonly kind: 'TRY_AGAIN'; readonly code: string }
  /** No answer in time: whether it was done is unknown; calling again is safe (undo is idempotent at the channel). */
  | { readonly kind: 'TIMEOUT' }
  /** Refused for good: the payment can only be refunded now. */
  | { readonly kind: 'REFUSED'; readonly code: string; readonly message: string };

const TRY_AGAIN_CODES: Readonly<Record<ChannelName, string>> = {
  WECHAT: 'SYSTEMERROR',
  ALIPAY: 'ACQ.SYSTEM_ERROR',
  UNIONPAY_CARD: '96',
};

/** WeChat USERPAYING: the reverse of an order whose customer is still confirming; call again. */
const WECHAT_USERPAYING = 'USERPAYING';

const REFUSALS: Readonly<Record<ChannelName, { readonly code: string; readonly message: string }>> = {
  WECHAT: { code: 'REVERSE_EXPIRE', message: 'WeChat Pay: the order can no longer be reversed (撤销订单已过期); refund it' },
  ALIPAY: { code: 'ACQ.TRADE_CANCEL_TIME_OUT', message: 'Alipay: the cancel window of the trade has passed (交易撤销超时); refund it' },
  UNIONPAY_CARD: { code: '12', message: 'UnionPay: invalid transaction (无效交易), the original can no longer be voided; refund it (退货)' },
};

/** UnionPay 25: original transaction not found (the void did not name it by batch and voucher no.). */
const UNIONPAY_ORIGINAL_NOT_FOUND = { code: '25', message: 'UnionPay: original transaction not found (找不到原始交易): no batch and voucher no.' };

const REFERENCE_PREFIX: Readonly<Record<ChannelName, string>> = { WECHAT: 'WXR', ALIPAY: 'ALIC', UNIONPAY_CARD: 'UPV' };

/**
 * The deterministic undo simulator, keyed on the end of the merchant's order number (out_trade_no),
 * the only reference a void has; the number of the attempt (1 for the first call) decides how far
 * a "call again" has gone, as the channel's own state would:
 *
 * | out_trade_no ends in | attempts 1..n                                       | then    |
 * |----------------------|-----------------------------------------------------|---------|
 * | `VR<n>` (n = 1..9)   | try again: WeChat SYSTEMERROR, Alipay ACQ.SYSTEM_ERROR, UnionPay 96 | SUCCESS |
 * | `VU<n>`              | try again: WeChat USERPAYING (other channels as `VR`) | SUCCESS |
 * | `VT<n>`              | TIMEOUT (no answer)                                 | SUCCESS |
 * | `VX`                 | refused for good: WeChat REVERSE_EXPIRE, Alipay ACQ.TRADE_CANCEL_TIME_OUT, UnionPay 12 | (same) |
 * | anything else        | SUCCESS                                             |         |
 *
 * A UnionPay void without the original batch and voucher numbers is refused with 25. The markers
 * are upper-case letters, which generated order numbers (digits, lower-case hex) never end in.
 */
export function simulatedUndo(order: UndoOrder, attempt: number): UndoOutcome {
  if (!Number.isInteger(attempt) || attempt < 1) throw new Error(`an attempt is counted from 1, got ${attempt}`);
  if (order.channel === 'UNIONPAY_CARD' && !order.card) return { kind: 'REFUSED', ...UNIONPAY_ORIGINAL_NOT_FOUND };
  const marker = /V(?:([RUT])([1-9])|X)$/.exec(order.outTradeNo);
  if (marker && marker[1] === undefined) return { kind: 'REFUSED', ...REFUSALS[order.channel] };
  if (marker && attempt <= Number(marker[2])) {
    if (marker[1] === 'T') return { kind: 'TIMEOUT' };
    const code = marker[1] === 'U' && order.channel === 'WECHAT' ? WECHAT_USERPAYING : TRY_AGAIN_CODES[order.channel];
    return { kind: 'TRY_AGAIN', code };
  }
  return { kind: 'SUCCESS', channelReference: simulatedUndoReference(order) };
}

/** The channel's reference of the undo, derived from the payment so a repeated call returns the same one. */
export function simulatedUndoReference(order: Pick<UndoOrder, 'channel' | 'paymentId'>): string {
  return `SIM${REFERENCE_PREFIX[order.channel]}${order.paymentId.replace(/-/g, '')}`;
}
