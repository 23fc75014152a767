import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { BatchSettled, PaymentCleared, PaymentRequested, Topics, VoidAccepted } from '@pos/contracts';
import { ConsumedEvent, ConsumerGroups, PermanentFailure, ReliableConsumerOptions, GATHERED_BATCHES } from '@pos/messaging';
import { fen } from '@pos/money';
import { validatePaymentRequest } from '@pos/payment-domain';
import { SERVICE_CONFIG } from '@pos/service-runtime';
import { PaymentConfig } from './payment-config';
import { Payments } from './payments';

export const COMMANDS_GROUP = 'payment-service.commands';
export const FACTS_GROUP = 'payment-service.facts';

/**
 * Kafka intake and the facts other services announce. Envelope and schema checks happen in the
 * reliable consumer; what the schema cannot say (a merchant the platform does not know, the
 * amount limit, channel/field combinations, a modified duplicate) is refused here as a
 * PermanentFailure, which parks the command on payments.commands.v1.dlq with the reason while the
 * partition moves on.
 */
@Injectable()
export class PaymentConsumers implements OnApplicationBootstrap {
  private readonly logger = new Logger('PaymentConsumers');
  /** The merchants the platform knows: those it has API keys for, as over HTTP. */
  private readonly merchants: ReadonlySet<string>;

  constructor(
    private readonly groups: ConsumerGroups,
    private readonly payments: Payments,
    @Inject(SERVICE_CONFIG) private readonly config: PaymentConfig,
  ) {
    this.merchants = new Set(config.MERCHANT_API_KEYS.values());
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.join({
      groupId: COMMANDS_GROUP,
      topics: [Topics.paymentCommands],
      handlers: {
        // The consumer's transaction only holds the inbox row here: the payment is claimed and
        // resolved in the service's own transactions, so no transaction stays open across the
        // channel call. Idempotency comes from the unique (merchant, outTradeNo), shared with HTTP;
        // a redelivered command (crash before the inbox commit) replays to the same payment.
        'pos.payment.requested': async (event: ConsumedEvent<PaymentRequested>) => {
          const { merchantId } = event.envelope.data;
          if (!this.merchants.has(merchantId)) throw new PermanentFailure(`merchant ${merchantId} is not known to the platform`, 'UNKNOWN_MERCHANT');
          const validation = validatePaymentRequest(event.envelope.data, { maxAmountFen: fen(this.config.PAYMENT_MAX_AMOUNT_FEN) });
          if (!validation.ok) throw new PermanentFailure(`${validation.code} (${validation.field}): ${validation.message}`);
          const result = await this.payments.accept(validation.request, 'KAFKA');
          if (result.kind === 'modified') {
            throw new PermanentFailure(`MODIFIED_REQUEST: payment ${result.paymentId} has this outTradeNo with another payload`);
          }
        },
      },
    });
    await this.join({
      groupId: FACTS_GROUP,
      topics: [Topics.voidEvents, Topics.clearingEvents],
      // Every effect of these handlers is in the transaction, and nothing waits on them in the
      // moment: their events may wait and share transactions.
      ...GATHERED_BATCHES,
      handlers: {
        'pos.void.accepted': (event: ConsumedEvent<VoidAccepted>, tx) => this.payments.applyVoidAccepted(tx, event.envelope.data),
        'pos.clearing.payment.cleared': (event: ConsumedEvent<PaymentCleared>, tx) => this.payments.applyCleared(tx, event.envelope.data),
        'pos.clearing.batch.settled': (event: ConsumedEvent<BatchSettled>, tx) => this.payments.applyBatchSettled(tx, event.envelope.data),
      },
    });
  }

  /**
   * A freshly started broker answers the first group joins with COORDINATOR_LOAD_IN_PROGRESS while
   * it creates __consumer_offsets; kafkajs surfaces that from run() instead of retrying, so the
   * join is retried here for a bounded time rather than failing the boot.
   */
  private async join(options: ReliableConsumerOptions): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.groups.start(options);
        return;
      } catch (error) {
        if (attempt >= 20) throw error;
        this.logger.warn(`joining ${options.groupId} failed (attempt ${attempt}), retrying: ${String(error)}`);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }
}
