import { ChannelName } from '@pos/contracts';
import { ChannelOutcome } from './channel-outcome';

/**
 * The deterministic channel simulator's rules for pay and query calls, keyed on the last two digits of the payment code or
 * card token, so any test or demo can ask for an outcome by choosing the code:
 *
 * | ends in | pay         | query            |
 * |---------|-------------|------------------|
 * | 91      | DECLINED    | DECLINED         |
 * | 92      | USERPAYING  | SUCCESS          |
 * | 93      | USERPAYING  | DECLINED (USER_CANCELLED) |
 * | 94      | TIMEOUT     | TIMEOUT (so the payment is reversed) |
 * | other   | SUCCESS     | SUCCESS          |
 *
 * The query uses the stored masked reference, which keeps the last digits: no raw code is needed.
 */
export type SimulatorCall = 'pay' | 'query';

export function simulatedOutcome(reference: string, call: SimulatorCall, channel: ChannelName, paymentId: string): ChannelOutcome {
  switch (reference.slice(-2)) {
    case '91':
      return { kind: 'DECLINED', reason: 'DECLINED' };
    case '92':
      return call === 'pay' ? { kind: 'USERPAYING' } : { kind: 'SUCCESS', channelTradeNo: simulatedTradeNo(channel, paymentId) };
    case '93':
      return call === 'pay' ? { kind: 'USERPAYING' } : { kind: 'DECLINED', reason: 'USER_CANCELLED' };
    case '94':
      return { kind: 'TIMEOUT' };
    default:
      return { kind: 'SUCCESS', channelTradeNo: simulatedTradeNo(channel, paymentId) };
  }
}

const TRADE_NO_PREFIX: Record<ChannelName, string> = { WECHAT: 'WX', ALIPAY: 'ALI', UNIONPAY_CARD: 'UP' };

/** The channel's own trade number, derived from the payment id so a repeated call returns the same one. */
export function simulatedTradeNo(channel: ChannelName, paymentId: string): string {
  return `SIM${TRADE_NO_PREFIX[channel]}${paymentId.replace(/-/g, '')}`;
}
