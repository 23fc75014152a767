import { deadLetterTopicOf, Topics } from '@pos/contracts';
import {
  CreateMessagingTables1764200000000,
  DropOutboxNotify1764500000000,
  InboxKeyedBySource1764950000000,
  OutboxTraceparent1765450000000,
} from '@pos/messaging';
import { ServiceDefinition } from '@pos/service-runtime';
import { version } from '../../../../package.json';
import { PaymentConfig, paymentConfigShape } from './payment-config';
import { CreatePaymentTables1764300000000 } from './payment-tables.migration';
import { PaymentTraceparent1765460000000 } from './payment-traceparent.migration';
import { PaymentModule } from './payment.module';
import { VoidRefusals1765500000000 } from './void-refusals.migration';

/** Records POS payments and publishes their outcome. */
export const paymentServiceDefinition: ServiceDefinition = {
  identity: { name: 'payment-service', version },
  topics: [
    Topics.paymentCommands,
    deadLetterTopicOf(Topics.paymentCommands),
    Topics.paymentEvents,
    Topics.clearingEvents,
    deadLetterTopicOf(Topics.clearingEvents),
    Topics.voidEvents,
    deadLetterTopicOf(Topics.voidEvents),
  ],
  // In the order they run (by their timestamps).
  migrations: [
    CreateMessagingTables1764200000000,
    CreatePaymentTables1764300000000,
    DropOutboxNotify1764500000000,
    InboxKeyedBySource1764950000000,
    OutboxTraceparent1765450000000,
    PaymentTraceparent1765460000000,
    VoidRefusals1765500000000,
  ],
  configShape: paymentConfigShape,
  modules: (config) => [PaymentModule.forRoot(config as unknown as PaymentConfig)],
};
