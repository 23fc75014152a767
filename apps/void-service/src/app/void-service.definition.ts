import { AuditTrailInsertOnly1765400000000, CreateAuditTrail1765100000000 } from '@pos/audit';
import { deadLetterTopicOf, Topics } from '@pos/contracts';
import {
  CreateMessagingTables1764200000000,
  DropOutboxNotify1764500000000,
  InboxKeyedBySource1764950000000,
  OutboxTraceparent1765450000000,
} from '@pos/messaging';
import { ServiceDefinition } from '@pos/service-runtime';
import { version } from '../../../../package.json';
import { AddPaymentBatch1764400000000 } from './persistence/payment-batch.migration';
import { GatesNamedByClearing1764900000000 } from './persistence/gates-named-by-clearing.migration';
import { SupervisorAuthorisations1765300000000 } from './persistence/supervisor-authorisations.migration';
import { SupervisorLockouts1765200000000 } from './persistence/supervisor-lockouts.migration';
import { CreateVoidTables1764300000000 } from './persistence/void-tables.migration';
import { VoidDecisionsInsertOnly1765410000000 } from './persistence/void-decisions-grants.migration';
import { VoidExecutions1765500000000 } from './persistence/void-executions.migration';
import { voidServiceConfigShape } from './void-service.config';
import { VoidModule } from './void.module';
import { webhookSettingsFrom } from './webhooks/webhook.config';
import { WebhookAttemptsInsertOnly1765510000000 } from './webhooks/webhook-attempts-grants.migration';
import { WebhookTables1765505000000 } from './webhooks/webhook-tables.migration';
import { WebhookModule } from './webhooks/webhook.module';

/** Decides every void (撤销): accepted, or rejected with the reason and the remedy. */
export const voidServiceDefinition: ServiceDefinition = {
  identity: { name: 'void-service', version },
  topics: [
    Topics.voidCommands,
    deadLetterTopicOf(Topics.voidCommands),
    Topics.paymentEvents,
    deadLetterTopicOf(Topics.paymentEvents),
    Topics.clearingEvents,
    deadLetterTopicOf(Topics.clearingEvents),
    Topics.voidEvents,
    // The webhook consumer group reads the service's own events (WebhookModule).
    deadLetterTopicOf(Topics.voidEvents),
  ],
  // In the order they run (by their timestamps).
  migrations: [
    CreateMessagingTables1764200000000,
    CreateVoidTables1764300000000,
    AddPaymentBatch1764400000000,
    DropOutboxNotify1764500000000,
    GatesNamedByClearing1764900000000,
    InboxKeyedBySource1764950000000,
    CreateAuditTrail1765100000000,
    SupervisorLockouts1765200000000,
    SupervisorAuthorisations1765300000000,
    AuditTrailInsertOnly1765400000000,
    VoidDecisionsInsertOnly1765410000000,
    OutboxTraceparent1765450000000,
    VoidExecutions1765500000000,
    WebhookTables1765505000000,
    WebhookAttemptsInsertOnly1765510000000,
  ],
  configShape: voidServiceConfigShape,
  modules: (config) => {
    const webhooks = webhookSettingsFrom(config);
    return [VoidModule.forRoot(config), ...(webhooks ? [WebhookModule.forRoot(webhooks)] : [])];
  },
};
