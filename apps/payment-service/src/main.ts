import 'reflect-metadata';
import { runService } from '@pos/service-runtime';
import { paymentServiceDefinition } from './app/payment-service.definition';

void runService(paymentServiceDefinition, process.env);
