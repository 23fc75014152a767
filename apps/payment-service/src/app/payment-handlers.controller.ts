import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { BatchSettled, PaymentCleared, PaymentRequested, Topics, VoidAccepted, VoidChannelRefused } from '@pos/contracts';
import { ConsumerGroup, EventContext, GATHERED_BATCHES, PermanentFailure } from '@pos/messaging';
import { fen } from '@pos/money';
import { validatePaymentRequest } from '@pos/payment-domain';
import { SERVICE_CONFIG } from '@pos/service-runtime';
import { PaymentConfig } from './payment-config';
import { Payments } from './payments';

const COMMANDS_GROUP = 'payment-service.commands';
const FACTS_GROUP = 'payment-service.facts';

/**
 * Kafka intake. Envelope and schema checks happen in the reliable consumer; what the schema cannot
 * say (a merchant the platform does not know, the amount limit, channel/field combinations, a
 * modified duplicate) is refused here as a PermanentFailure, which parks the command on
 * payments.commands.v1.dlq with the reason while the partition moves on.
 */
@Controller()
@ConsumerGroup({ groupId: COMMANDS_GROUP, topics: [Topics.paymentCommands] })
export class PaymentCommandsController {
  /** The merchants the platform knows: those it has API keys for, as over HTTP. */
  private readonly merchants: ReadonlySet<string>;

  constructor(
    private readonly payments: Payments,
    @Inject(SERVICE_CONFIG) private readonly config: PaymentConfig,
  ) {
    this.merchants = new Set(config.MERCHANT_API_KEYS.values());
  }

  /**
   * The consumer's transaction only holds the inbox row here: the payment is claimed and resolved
   * in the service's own transactions, so no transaction stays open across the channel call.
   * Idempotency comes from the unique (merchant, outTradeNo), shared with HTTP; a redelivered
   * command (crash before the inbox commit) replays to the same payment.
   */
  @EventPattern('pos.payment.requested')
  async paymentRequested(@Payload() command: PaymentRequested): Promise<void> {
    const { merchantId } = command;
    if (!this.merchants.has(merchantId)) throw new PermanentFailure(`merchant ${merchantId} is not known to the platform`, 'UNKNOWN_MERCHANT');
    const validation = validatePaymentRequest(command, { maxAmountFen: fen(this.config.PAYMENT_MAX_AMOUNT_FEN) });
    if (!validation.ok) throw new PermanentFailure(`${validation.code} (${validation.field}): ${validation.message}`);
    const result = await this.payments.accept(validation.request, 'KAFKA');
    if (result.kind === 'modified') {
      throw new PermanentFailure(`MODIFIED_REQUEST: payment ${result.paymentId} has this outTradeNo with another payload`);
    }
  }
}

/**
 * The facts other services announce. Every effect of these handlers is in the transaction, and
 * nothing waits on them in the moment: their events may wait and share transactions.
 */
@Controller()
@ConsumerGroup({ groupId: FACTS_GROUP, topics: [Topics.voidEvents, Topics.clearingEvents], ...GATHERED_BATCHES })
export class PaymentFactsController {
  constructor(private readonly payments: Payments) {}

  @EventPattern('pos.void.accepted')
  voidAccepted(@Payload() accepted: VoidAccepted, @Ctx() context: EventContext): Promise<void> {
    return this.payments.applyVoidAccepted(context.manager, accepted, context.afterCommit);
  }

  @EventPattern('pos.void.channel-refused')
  voidRefused(@Payload() refused: VoidChannelRefused, @Ctx() context: EventContext): Promise<void> {
    return this.payments.applyVoidRefused(context.manager, refused, context.afterCommit);
  }

  @EventPattern('pos.clearing.payment.cleared')
  paymentCleared(@Payload() cleared: PaymentCleared, @Ctx() context: EventContext): Promise<void> {
    return this.payments.applyCleared(context.manager, cleared, context.afterCommit);
  }

  @EventPattern('pos.clearing.batch.settled')
  batchSettled(@Payload() settled: BatchSettled, @Ctx() context: EventContext): Promise<void> {
    return this.payments.applyBatchSettled(context.manager, settled, context.afterCommit);
  }
}
