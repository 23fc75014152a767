import 'reflect-metadata';
import { runService } from '@pos/service-runtime';
import { clearingServiceDefinition } from './app/clearing-service.definition';

void runService(clearingServiceDefinition, process.env);
