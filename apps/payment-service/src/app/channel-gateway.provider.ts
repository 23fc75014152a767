import { ChannelOutcome, simulatedOutcome } from '@pos/channel-simulator';
import { ChannelGateway, ChannelOrderRef, ChannelPayOrder } from '@pos/payment-domain';

export const CHANNEL_GATEWAY = Symbol('CHANNEL_GATEWAY');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Stands in for WeChat Pay, Alipay and UnionPay: answers by the simulator's rules (see
 * libs/domain/channel-simulator pay-simulator.ts) after a configurable latency. No network, no state.
 */
export class SimulatedChannelGateway implements ChannelGateway {
  /** Reversals acknowledged, by payment id: lets tests and operators see that 冲正 really happened. */
  readonly reversals = new Set<string>();

  constructor(private readonly latencyMs: number) {}

  async pay(order: ChannelPayOrder): Promise<ChannelOutcome> {
    await this.delay();
    return simulatedOutcome(order.reference, 'pay', order.channel, order.paymentId);
  }

  async query(order: ChannelOrderRef): Promise<ChannelOutcome> {
    await this.delay();
    return simulatedOutcome(order.maskedReference, 'query', order.channel, order.paymentId);
  }

  async reverse(order: ChannelOrderRef): Promise<void> {
    await this.delay();
    this.reversals.add(order.paymentId);
  }

  private async delay(): Promise<void> {
    if (this.latencyMs > 0) await sleep(this.latencyMs);
  }
}
