import { describeServiceBoot } from '@pos/service-testing';
import { clearingServiceDefinition } from './app/clearing-service.definition';

describeServiceBoot(clearingServiceDefinition);
