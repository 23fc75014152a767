import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { PaymentSucceeded, TerminalSettlementRequested, Topics, VoidAccepted, VoidChannelRefused, VoidGateClosed } from '@pos/contracts';
import { Clock } from '@pos/business-calendar';
import { CLOCK, ConsumerGroup, EventBatchContext, EventBatchPattern, EventContext, GATHERED_BATCHES, PermanentFailure } from '@pos/messaging';
import { BatchLedger } from './batch-ledger';

/**
 * Payments into batches. Every effect of the payment and void handlers is in the transaction, and a
 * batch closes only once its gate-closed event is applied: their events may wait and share transactions.
 */
@Controller()
@ConsumerGroup({ groupId: 'clearing-service.payments', topics: [Topics.paymentEvents], ...GATHERED_BATCHES })
export class ClearingPaymentsController {
  constructor(
    private readonly ledger: BatchLedger,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @EventPattern('pos.payment.succeeded')
  async paymentSucceeded(@Payload() payment: PaymentSucceeded, @Ctx() context: EventContext): Promise<void> {
    // The schema allows it, batch assignment cannot: a card payment is batched by its POS batch number.
    if (payment.channel === 'UNIONPAY_CARD' && !payment.card) throw new PermanentFailure('a UNIONPAY_CARD payment without card.batchNo cannot be batched');
    await this.ledger.assignPayment(context.manager, payment, this.clock.now(), context.afterCommit);
  }
}

/**
 * Accepted voids, their channels' refusals and gate closures: one group, so partition order between
 * them holds (ADR 0002's guarantee; ADR 0008: accepted, then refused, then gate-closed).
 */
@Controller()
@ConsumerGroup({ groupId: 'clearing-service.voids', topics: [Topics.voidEvents], ...GATHERED_BATCHES })
export class ClearingVoidsController {
  constructor(
    private readonly ledger: BatchLedger,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @EventBatchPattern('pos.void.accepted')
  voidsAccepted(@Payload() accepted: VoidAccepted[], @Ctx() context: EventBatchContext): Promise<void> {
    return this.ledger.recordVoids(context.manager, accepted, context.afterCommit, this.clock.now());
  }

  @EventPattern('pos.void.channel-refused')
  async voidRefused(@Payload() refused: VoidChannelRefused, @Ctx() context: EventContext): Promise<void> {
    await this.ledger.recordRefusedVoid(context.manager, refused, this.clock.now());
  }

  @EventPattern('pos.void.gate-closed')
  async gateClosed(@Payload() closed: VoidGateClosed, @Ctx() context: EventContext): Promise<void> {
    await this.ledger.gateClosed(context.manager, closed, this.clock.now());
  }
}

/** Terminal settlement commands (结算), one to a transaction. */
@Controller()
@ConsumerGroup({ groupId: 'clearing-service.commands', topics: [Topics.clearingCommands] })
export class ClearingCommandsController {
  constructor(
    private readonly ledger: BatchLedger,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @EventPattern('pos.clearing.terminal-settlement.requested')
  async terminalSettlementRequested(@Payload() command: TerminalSettlementRequested, @Ctx() context: EventContext): Promise<void> {
    await this.ledger.settleTerminal(context.manager, command, this.clock.now());
  }
}
