import { DynamicModule, Module } from '@nestjs/common';
import { CommonConfig, MerchantAuthGuard } from '@pos/service-runtime';
import { SupervisorAuthority } from './decisions/supervisor-authority';
import { VoidDecisions } from './decisions/void-decisions';
import { GateAnnouncements } from './executions/gate-announcements';
import { SimulatedVoidChannelGateway, VOID_CHANNEL_GATEWAY } from './executions/void-channel-gateway';
import { VoidExecutions } from './executions/void-executions';
import { VoidExecutor } from './executions/void-executor';
import { VoidEligibilityCheck } from './decisions/void-eligibility';
import { BulkVoidsController } from './http/bulk-voids.controller';
import { SupervisorAuthorisationsController } from './http/supervisor-authorisations.controller';
import { VoidEligibilityController } from './http/void-eligibility.controller';
import { VoidsController } from './http/voids.controller';
import { VoidClearingController, VoidCommandsController, VoidPaymentFactsController } from './messaging/void-handlers.controller';
import { VoidMetrics } from './observability/void-metrics';
import { voidServiceSettingsFrom } from './void-service.config';
import { VOID_SETTINGS } from './void-settings.token';

/**
 * The void service proper: decisions over HTTP and Kafka, the batch gates, the execution of
 * accepted voids at their channels, the read API and metrics.
 */
@Module({})
export class VoidModule {
  static forRoot(config: CommonConfig & Record<string, unknown>): DynamicModule {
    const settings = voidServiceSettingsFrom(config);
    return {
      module: VoidModule,
      controllers: [
        VoidsController,
        BulkVoidsController,
        VoidEligibilityController,
        SupervisorAuthorisationsController,
        VoidPaymentFactsController,
        VoidClearingController,
        VoidCommandsController,
      ],
      providers: [
        { provide: VOID_SETTINGS, useValue: settings },
        { provide: VOID_CHANNEL_GATEWAY, useValue: new SimulatedVoidChannelGateway(settings.execution.channelLatencyMs) },
        SupervisorAuthority,
        VoidDecisions,
        GateAnnouncements,
        VoidExecutions,
        VoidExecutor,
        VoidEligibilityCheck,
        VoidMetrics,
        MerchantAuthGuard,
      ],
    };
  }
}
