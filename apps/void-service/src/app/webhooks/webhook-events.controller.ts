import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { Topics } from '@pos/contracts';
import { ConsumerGroup, EventContext, PermanentFailure, TRANSACTIONAL_BATCH_SIZE } from '@pos/messaging';
import { queryPrepared } from '@pos/persistence';
import { WebhookDispatcher } from './webhook-dispatcher';

/**
 * The void events merchants receive on their webhook (docs/contracts.md, webhooks). Add a type
 * here to deliver it: every type of voids.events.v1 carries `merchantId`; types of the topic not
 * listed are acknowledged and skipped.
 */
export const WEBHOOK_EVENT_TYPES = ['pos.void.accepted', 'pos.void.rejected', 'pos.void.executed', 'pos.void.confirmed', 'pos.void.channel-refused'] as const;

/**
 * The body of a delivery: the event in CloudEvents structured mode (JSON), written once when the
 * delivery is recorded, so every attempt sends the same bytes.
 */
export function deliveryBody(envelope: EventContext['envelope']): string {
  return JSON.stringify({
    specversion: '1.0',
    id: envelope.id,
    type: envelope.type,
    source: envelope.source,
    time: envelope.time,
    ...(envelope.subject !== undefined ? { subject: envelope.subject } : {}),
    datacontenttype: 'application/json',
    data: envelope.data,
  });
}

/**
 * The void service reading its own events (group `void-service.webhooks`), apart from the decision
 * path: each listed event of a merchant with a webhook becomes one delivery row, in the inbox's
 * transaction (once per event, however often it is read). A merchant without a webhook gets none.
 */
@Controller()
@ConsumerGroup({ groupId: 'void-service.webhooks', topics: [Topics.voidEvents], batchSize: TRANSACTIONAL_BATCH_SIZE })
export class WebhookEventsController {
  constructor(private readonly dispatcher: WebhookDispatcher) {}

  @EventPattern([...WEBHOOK_EVENT_TYPES])
  async recordDelivery(@Payload() data: { merchantId?: unknown }, @Ctx() context: EventContext): Promise<void> {
    const { envelope } = context;
    if (typeof data.merchantId !== 'string') throw new PermanentFailure(`${envelope.type} ${envelope.id} names no merchant`);
    const [recorded] = await queryPrepared<{ delivery_id: string }>(
      context.manager,
      `INSERT INTO webhook_deliveries (merchant_id, event_id, event_type, event_time, body, next_attempt_at)
       SELECT merchant_id, $2, $3, $4, $5, now() FROM webhooks WHERE merchant_id = $1
       ON CONFLICT (merchant_id, event_id) DO NOTHING
       RETURNING delivery_id`,
      [data.merchantId, envelope.id, envelope.type, new Date(envelope.time), deliveryBody(envelope)],
    );
    if (recorded) context.afterCommit(() => this.dispatcher.wakeUp());
  }
}
