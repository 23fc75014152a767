import { DynamicModule, Module } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { AuditTrail } from '@pos/audit';
import { Approvals } from './approvals';
import { ApprovalsController } from './approvals.controller';
import { BatchLedger, CLEARING_SOURCE } from './batch-ledger';
import { ClearingCommandsController, ClearingPaymentsController, ClearingVoidsController } from './clearing-handlers.controller';
import { ClearingMetrics } from './clearing-metrics';
import { ClearingController } from './clearing.controller';
import { ClearingScheduler } from './clearing-scheduler';
import { CLEARING_SETTINGS, ClearingSettings } from './clearing-settings';
import { ReconciliationFiles } from './reconciliation-files';
import { ScheduleVersions } from './schedule-versions';
import { SettlementAnswers } from './settlement-answers';

/** Settlement batches: Kafka consumers, the cutoff scheduler, reconciliation files, the HTTP API, metrics. */
@Module({})
export class ClearingModule {
  /** `source` is the CloudEvents source of this service, as MessagingModule's outbox stamps it. */
  static forRoot(settings: ClearingSettings, source: string): DynamicModule {
    return {
      module: ClearingModule,
      controllers: [ClearingController, ApprovalsController, ClearingPaymentsController, ClearingVoidsController, ClearingCommandsController],
      providers: [
        { provide: CLEARING_SETTINGS, useValue: settings },
        { provide: CLEARING_SOURCE, useValue: source },
        HealthIndicatorService,
        ScheduleVersions,
        BatchLedger,
        ReconciliationFiles,
        ClearingScheduler,
        ClearingMetrics,
        { provide: AuditTrail, useValue: new AuditTrail() },
        Approvals,
        SettlementAnswers,
      ],
    };
  }
}
