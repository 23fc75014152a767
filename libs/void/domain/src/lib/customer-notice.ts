import type { ChannelName } from '@pos/contracts';

const CHANNEL_NAMES_ZH: Readonly<Record<ChannelName, string>> = {
  WECHAT: '微信支付',
  ALIPAY: '支付宝',
  UNIONPAY_CARD: '银联卡',
};
const CHANNEL_NAMES_EN: Readonly<Record<ChannelName, string>> = {
  WECHAT: 'WeChat Pay',
  ALIPAY: 'Alipay',
  UNIONPAY_CARD: 'UnionPay card',
};

/** Integer fen as yuan with two decimals, without ever going through a float. */
export function yuanText(amountFen: number): string {
  if (!Number.isSafeInteger(amountFen) || amountFen < 0) throw new Error(`not an amount in fen: ${amountFen}`);
  const text = String(amountFen).padStart(3, '0');
  return `${text.slice(0, -2)}.${text.slice(-2)}`;
}

/**
 * What a notification system tells the customer once the channel has undone the payment of a void
 * (pos.void.confirmed, ADR 0008): a wallet payment is back on the customer's balance or card; a
 * card payment is not settled, and whatever the issuer already took goes back to the card.
 */
export function customerVoidNotice(voided: { channel: ChannelName; amountFen: number; outTradeNo: string }): { zh: string; en: string } {
  const yuan = yuanText(voided.amountFen);
  const zhName = CHANNEL_NAMES_ZH[voided.channel];
  const enName = CHANNEL_NAMES_EN[voided.channel];
  if (voided.channel === 'UNIONPAY_CARD') {
    return {
      zh: `您的${zhName}消费 ¥${yuan}（订单 ${voided.outTradeNo}）已由商户撤销，银联已确认：该笔消费不会入账，如已扣款将原路退回您的银行卡（到账时间以发卡行为准），不收取任何费用。`,
      en: `Your ${enName} purchase of CNY ${yuan} (order ${voided.outTradeNo}) was voided by the merchant and UnionPay confirmed it: it will not be charged, and any amount already taken returns to your card (timing depends on your card issuer), at no charge.`,
    };
  }
  return {
    zh: `您的${zhName}付款 ¥${yuan}（订单 ${voided.outTradeNo}）已由商户撤销，${zhName}已确认：款项已原路全额退回，不收取任何费用。`,
    en: `Your ${enName} payment of CNY ${yuan} (order ${voided.outTradeNo}) was voided by the merchant and ${enName} confirmed it: the full amount has gone back to your original payment method, at no charge.`,
  };
}
