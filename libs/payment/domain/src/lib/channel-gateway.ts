import { ChannelName } from '@pos/contracts';
import { ChannelOutcome } from '@pos/channel-simulator';

export type { ChannelOutcome } from '@pos/channel-simulator';

/** What the channel needs to identify a payment after the fact; no payment code, no card token. */
export interface ChannelOrderRef {
  readonly paymentId: string;
  readonly merchantId: string;
  readonly channel: ChannelName;
  readonly outTradeNo: string;
  readonly amountFen: number;
  /** The masked payment code or card token (last characters only), as stored. */
  readonly maskedReference: string;
}

/** A pay call carries the raw reference, in memory only. */
export interface ChannelPayOrder extends ChannelOrderRef {
  readonly reference: string;
}

/**
 * The port to WeChat Pay, Alipay and UnionPay. Every call is idempotent on the payment id / out
 * trade no, as the real channels are (a repeated micropay or reverse returns the first answer).
 */
export interface ChannelGateway {
  pay(order: ChannelPayOrder): Promise<ChannelOutcome>;
  /** The current state of an earlier pay call (USERPAYING resolution, or a pay whose answer was lost). */
  query(order: ChannelOrderRef): Promise<ChannelOutcome>;
  /** Reversal (冲正): undo a pay whose outcome is unknown; resolves once the channel acknowledged. */
  reverse(order: ChannelOrderRef): Promise<void>;
}
