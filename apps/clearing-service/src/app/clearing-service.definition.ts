import { deadLetterTopicOf, Topics } from '@pos/contracts';
import { CreateMessagingTables1764200000000 } from '@pos/messaging';
import { ServiceDefinition } from '@pos/service-runtime';
import { version } from '../../../../package.json';

/** Settlement batches: assignment, cutoffs (日切), terminal settlement (结算), totals, reconciliation. */
export const clearingServiceDefinition: ServiceDefinition = {
  identity: { name: 'clearing-service', version },
  topics: [
    Topics.paymentEvents,
    deadLetterTopicOf(Topics.paymentEvents),
    Topics.voidEvents,
    deadLetterTopicOf(Topics.voidEvents),
    Topics.clearingCommands,
    deadLetterTopicOf(Topics.clearingCommands),
    Topics.clearingEvents,
  ],
  migrations: [CreateMessagingTables1764200000000],
};
