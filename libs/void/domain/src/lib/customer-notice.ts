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

/** What a notification system tells the customer once a void is accepted (pos.void.confirmed). */
export function customerVoidNotice(voided: { channel: ChannelName; amountFen: number; outTradeNo: string }): { zh: string; en: string } {
  const yuan = yuanText(voided.amountFen);
  return {
    zh: `您的${CHANNEL_NAMES_ZH[voided.channel]}付款 ¥${yuan}（订单 ${voided.outTradeNo}）已由商户撤销，款项将原路全额退回，不收取任何费用。`,
    en: `Your ${CHANNEL_NAMES_EN[voided.channel]} payment of CNY ${yuan} (order ${voided.outTradeNo}) was voided by the merchant; the full amount returns to your original payment method at no charge.`,
  };
}
