import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { VoidServiceSettings } from '../void-service.config';
import { VOID_SETTINGS } from '../void-settings.token';
import { VoidExecutions } from './void-executions';

/**
 * Runs the executions of accepted voids on every instance (ADR 0008): takes a batch of due ones,
 * calls their channels, and looks again at once while it finds full batches, else after the poll
 * interval.
 */
@Injectable()
export class VoidExecutor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('VoidExecutor');
  private running = false;
  private loop?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private wake?: () => void;

  constructor(
    private readonly executions: VoidExecutions,
    @Inject(VOID_SETTINGS) private readonly settings: VoidServiceSettings,
  ) {}

  onApplicationBootstrap(): void {
    this.running = true;
    this.loop = this.run();
  }

  // Before the database closes (TypeORM closes it in onApplicationShutdown).
  async beforeApplicationShutdown(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { batchSize, pollIntervalMs } = this.settings.execution;
    while (this.running) {
      let taken = 0;
      try {
        taken = await this.executions.executeDue();
      } catch (error) {
        if (!this.running) break;
        this.logger.warn(`looking for void executions failed: ${String(error)}`);
      }
      if (taken < batchSize && this.running) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          this.timer = setTimeout(resolve, pollIntervalMs);
        });
      }
    }
  }
}
