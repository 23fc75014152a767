import { Inject, Injectable } from '@nestjs/common';
import { PollingWorker } from '@pos/service-runtime';
import { VoidServiceSettings } from '../void-service.config';
import { VOID_SETTINGS } from '../void-settings.token';
import { VoidExecutions } from './void-executions';

/**
 * Runs the executions of accepted voids on every instance (ADR 0008): takes a batch of due ones,
 * calls their channels, and looks again at once while it finds full batches, else after the poll
 * interval.
 */
@Injectable()
export class VoidExecutor extends PollingWorker {
  constructor(
    private readonly executions: VoidExecutions,
    @Inject(VOID_SETTINGS) private readonly settings: VoidServiceSettings,
  ) {
    super('VoidExecutor', 'looking for void executions failed');
  }

  protected async round(): Promise<boolean> {
    return (await this.executions.executeDue()) >= this.settings.execution.batchSize;
  }

  protected pollIntervalMs(): number {
    return this.settings.execution.pollIntervalMs;
  }
}
