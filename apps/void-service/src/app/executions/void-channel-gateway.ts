import { simulatedUndo, UndoOrder, UndoOutcome } from '@pos/channel-simulator';

export const VOID_CHANNEL_GATEWAY = Symbol('VOID_CHANNEL_GATEWAY');

/**
 * The port to the channels' undo calls: WeChat reverse, Alipay cancel, UnionPay 消费撤销. Every
 * call is idempotent at the channel (the same order undone twice answers the first answer), so a
 * call whose answer was lost is simply made again. `attempt` counts the calls for this void, 1 first.
 */
export interface VoidChannelGateway {
  undo(order: UndoOrder, attempt: number): Promise<UndoOutcome>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Stands in for the channels: answers by the undo simulator's rules (libs/domain/channel-simulator
 * undo-simulator.ts) after a configurable latency, like the payment service's simulated gateway.
 */
export class SimulatedVoidChannelGateway implements VoidChannelGateway {
  constructor(private readonly latencyMs: number) {}

  async undo(order: UndoOrder, attempt: number): Promise<UndoOutcome> {
    if (this.latencyMs > 0) await sleep(this.latencyMs);
    return simulatedUndo(order, attempt);
  }
}
