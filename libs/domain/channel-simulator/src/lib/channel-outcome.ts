import { PaymentFailureReason } from '@pos/contracts';

/** What a channel answered to a pay or query call. */
export type ChannelOutcome =
  | { readonly kind: 'SUCCESS'; readonly channelTradeNo: string }
  | { readonly kind: 'DECLINED'; readonly reason: PaymentFailureReason }
  /** WeChat USERPAYING / Alipay WAIT_BUYER_PAY: the customer is confirming on the phone; ask again later. */
  | { readonly kind: 'USERPAYING' }
  /** No answer in time: the outcome is unknown, so the request must be reversed (冲正). */
  | { readonly kind: 'TIMEOUT' };
