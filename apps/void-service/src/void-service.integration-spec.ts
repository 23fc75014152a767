import { describeServiceBoot } from '@pos/service-testing';
import { voidServiceDefinition } from './app/void-service.definition';

describeServiceBoot(voidServiceDefinition);
