import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SERVICE_CONFIG } from '@pos/service-runtime';
import { PaymentConfig } from './payment-config';
import { Payments } from './payments';

/**
 * Resolves payments that wait on the channel: customers still paying (USERPAYING) and PROCESSING
 * payments whose channel answer was lost (crash, restart). Safe on every instance at once: rows
 * are leased with `FOR UPDATE SKIP LOCKED`.
 */
@Injectable()
export class PendingPaymentPoller implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('PendingPaymentPoller');
  private running = false;
  private loop?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private wake?: () => void;

  constructor(
    private readonly payments: Payments,
    @Inject(SERVICE_CONFIG) private readonly config: PaymentConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.running = true;
    this.loop = this.run();
  }

  // Before the database closes (TypeORM closes it in onApplicationShutdown).
  async beforeApplicationShutdown(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      let resolved = 0;
      try {
        resolved = await this.payments.resolveDue();
      } catch (error) {
        if (!this.running) break;
        this.logger.warn(`poll failed: ${String(error)}`);
      }
      if (resolved === 0 && this.running) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          this.timer = setTimeout(resolve, this.config.PAYMENT_POLL_INTERVAL_MS);
        });
      }
    }
  }
}
