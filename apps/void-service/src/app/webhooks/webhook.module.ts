import { DynamicModule, Module } from '@nestjs/common';
import { CallerAuthGuard, MerchantAuthGuard } from '@pos/service-runtime';
import { WEBHOOK_SETTINGS, WebhookSettings } from './webhook.config';
import { WebhookDeliveriesController } from './webhook-deliveries.controller';
import { WebhookDispatcher } from './webhook-dispatcher';
import { WebhookEventsController } from './webhook-events.controller';
import { WebhookMetrics } from './webhook-metrics';
import { WebhooksController } from './webhooks.controller';

/**
 * Void outcomes delivered to merchants' webhooks: registration, the consumer group that records a
 * delivery per event, the delivery worker, the delivery log and its redrive, and their metrics.
 * Loaded only when WEBHOOK_SECRET_KEY is set.
 */
@Module({})
export class WebhookModule {
  static forRoot(settings: WebhookSettings): DynamicModule {
    return {
      module: WebhookModule,
      controllers: [WebhooksController, WebhookDeliveriesController, WebhookEventsController],
      providers: [{ provide: WEBHOOK_SETTINGS, useValue: settings }, WebhookDispatcher, WebhookMetrics, MerchantAuthGuard, CallerAuthGuard],
    };
  }
}
