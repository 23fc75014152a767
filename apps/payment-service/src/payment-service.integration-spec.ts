import { describeServiceBoot } from '@pos/service-testing';
import { paymentServiceDefinition } from './app/payment-service.definition';

describeServiceBoot(paymentServiceDefinition);
