import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { PaymentSucceeded, TerminalSettlementRequested, Topics, VoidAccepted, VoidGateClosed } from '@pos/contracts';
import { Clock } from '@pos/business-calendar';
import { AfterCommit, CLOCK, ConsumedEvent, ConsumerGroups, PermanentFailure, GATHERED_BATCHES } from '@pos/messaging';
import { BatchLedger } from './batch-ledger';

export const ClearingConsumerGroups = {
  payments: 'clearing-service.payments',
  /** One group and one handler set for accepted voids and gate-closed: partition order between them is ADR 0002's guarantee. */
  voids: 'clearing-service.voids',
  commands: 'clearing-service.commands',
} as const;

/** Kafka in: payments into batches, void decisions and gate closures, terminal settlement commands. */
@Injectable()
export class ClearingConsumers implements OnApplicationBootstrap {
  constructor(
    private readonly groups: ConsumerGroups,
    private readonly ledger: BatchLedger,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await Promise.all([
      this.groups.start({
        groupId: ClearingConsumerGroups.payments,
        topics: [Topics.paymentEvents],
        // Every effect of the payment and void handlers is in the transaction, and a batch closes
        // only once its gate-closed event is applied: their events may wait and share transactions.
        ...GATHERED_BATCHES,
        handlers: {
          'pos.payment.succeeded': (event: ConsumedEvent<PaymentSucceeded>, tx: EntityManager, afterCommit) => this.paymentSucceeded(event, tx, afterCommit),
        },
      }),
      this.groups.start({
        groupId: ClearingConsumerGroups.voids,
        topics: [Topics.voidEvents],
        ...GATHERED_BATCHES,
        handlers: {
          'pos.void.accepted': {
            applySet: (events: readonly ConsumedEvent<VoidAccepted>[], tx: EntityManager, afterCommit) =>
              this.ledger.recordVoids(tx, events.map((event) => event.envelope.data), afterCommit, this.clock.now()),
          },
          'pos.void.gate-closed': async (event: ConsumedEvent<VoidGateClosed>, tx: EntityManager) => {
            await this.ledger.gateClosed(tx, event.envelope.data, this.clock.now());
          },
        },
      }),
      this.groups.start({
        groupId: ClearingConsumerGroups.commands,
        topics: [Topics.clearingCommands],
        handlers: {
          'pos.clearing.terminal-settlement.requested': async (event: ConsumedEvent<TerminalSettlementRequested>, tx: EntityManager) => {
            await this.ledger.settleTerminal(tx, event.envelope.data, this.clock.now());
          },
        },
      }),
    ]);
  }

  private async paymentSucceeded(event: ConsumedEvent<PaymentSucceeded>, tx: EntityManager, afterCommit: AfterCommit): Promise<void> {
    const payment = event.envelope.data;
    // The schema allows it, batch assignment cannot: a card payment is batched by its POS batch number.
    if (payment.channel === 'UNIONPAY_CARD' && !payment.card) throw new PermanentFailure('a UNIONPAY_CARD payment without card.batchNo cannot be batched');
    await this.ledger.assignPayment(tx, payment, this.clock.now(), afterCommit);
  }
}
