import { Inject, Injectable } from '@nestjs/common';
import { PollingWorker, SERVICE_CONFIG } from '@pos/service-runtime';
import { PaymentConfig } from './payment-config';
import { Payments } from './payments';

/**
 * Resolves payments that wait on the channel: customers still paying (USERPAYING) and PROCESSING
 * payments whose channel answer was lost (crash, restart). Safe on every instance at once: rows
 * are leased with `FOR UPDATE SKIP LOCKED`.
 */
@Injectable()
export class PendingPaymentPoller extends PollingWorker {
  constructor(
    private readonly payments: Payments,
    @Inject(SERVICE_CONFIG) private readonly config: PaymentConfig,
  ) {
    super('PendingPaymentPoller', 'poll failed');
  }

  protected async round(): Promise<boolean> {
    return (await this.payments.resolveDue()) > 0;
  }

  protected pollIntervalMs(): number {
    return this.config.PAYMENT_POLL_INTERVAL_MS;
  }
}
