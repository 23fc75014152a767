import 'reflect-metadata';
import { runService } from '@pos/service-runtime';
import { voidServiceDefinition } from './app/void-service.definition';

void runService(voidServiceDefinition, process.env);
