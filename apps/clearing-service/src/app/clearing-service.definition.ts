import { AuditTrailInsertOnly1765400000000, CreateAuditTrail1765100000000 } from '@pos/audit';
import { deadLetterTopicOf, Topics } from '@pos/contracts';
import {
  CreateMessagingTables1764200000000,
  DropOutboxNotify1764500000000,
  InboxKeyedBySource1764950000000,
  OutboxTraceparent1765450000000,
} from '@pos/messaging';
import { ServiceDefinition } from '@pos/service-runtime';
import { version } from '../../../../package.json';
import { RecordAcceptedVoidsOfGates1764600000000 } from './accepted-voids.migration';
import { WidenBatchFenTotals1764700000000 } from './batch-fen-totals.migration';
import { CreateApprovals1765200000000 } from './approvals.migration';
import { CreateClearingTables1764300000000 } from './clearing-tables.migration';
import { ClearingConfig, clearingConfigShape, clearingSettingsFrom } from './clearing-settings';
import { ClearingModule } from './clearing.module';
import { RecordRefusedVoids1765500000000 } from './refused-voids.migration';
import { CreateCutoffScheduleVersions1765000000000 } from './schedule-versions.migration';

const name = 'clearing-service';

/** Settlement batches: assignment, cutoffs (日切), terminal settlement (结算), totals, reconciliation. */
export const clearingServiceDefinition: ServiceDefinition = {
  identity: { name, version },
  topics: [
    Topics.paymentEvents,
    deadLetterTopicOf(Topics.paymentEvents),
    Topics.voidEvents,
    deadLetterTopicOf(Topics.voidEvents),
    Topics.clearingCommands,
    deadLetterTopicOf(Topics.clearingCommands),
    Topics.clearingEvents,
  ],
  // In the order they run (by their timestamps).
  migrations: [
    CreateMessagingTables1764200000000,
    CreateClearingTables1764300000000,
    DropOutboxNotify1764500000000,
    RecordAcceptedVoidsOfGates1764600000000,
    WidenBatchFenTotals1764700000000,
    InboxKeyedBySource1764950000000,
    CreateCutoffScheduleVersions1765000000000,
    CreateAuditTrail1765100000000,
    CreateApprovals1765200000000,
    AuditTrailInsertOnly1765400000000,
    OutboxTraceparent1765450000000,
    RecordRefusedVoids1765500000000,
  ],
  configShape: clearingConfigShape,
  // The runtime validated and transformed the settings with configShape already.
  modules: (config) => [ClearingModule.forRoot(clearingSettingsFrom(config as unknown as ClearingConfig), `/${name}`)],
};
